#!/usr/bin/env bash
# es-keys, the one-shot setup service of docker-compose.yml. With the elastic superuser it
# creates two Elasticsearch API keys (POST /_security/api_key) and writes each, readable only by
# the user of erpsync's image (distroless nonroot, uid 65532), into the volume of the one
# service that uses it:
#   /keys/worker/key      erpsync-worker: create, manage, read and write the <prefix>-* indexes
#                         (generations, aliases, sync state, dead letters), cluster monitor
#   /keys/storefront/key  erpsync-storefront: read on the <prefix>-products, -categories,
#                         -linediscounts, -activations and -customers aliases only.
#                         Elasticsearch grants privileges on an alias to requests made through
#                         that alias, so every generation behind it is covered and nothing else
#                         (physical indexes, contacts, sales representatives, sync state, dead
#                         letters) is readable.
# A key already in its volume that still authenticates is kept: running this again changes
# nothing. Needs ELASTIC_PASSWORD; ELASTICSEARCH_URL and ERPSYNC_INDEX_PREFIX have defaults.
set -euo pipefail

es=${ELASTICSEARCH_URL:-http://elasticsearch:9200}
prefix=${ERPSYNC_INDEX_PREFIX:-erpsync}
owner=${ES_KEYS_OWNER:-65532}
dir=${ES_KEYS_DIR:-/keys}
: "${ELASTIC_PASSWORD:?ELASTIC_PASSWORD is required}"

# key NAME FILE ROLE_DESCRIPTORS_JSON
key() {
  local name=$1 file=$2 roles=$3 answer encoded
  if [ -s "$file" ] && curl -fsS -o /dev/null -H "Authorization: ApiKey $(cat "$file")" "$es/_security/_authenticate"; then
    echo "es-keys: $name: the key in $file still works"
    return
  fi
  answer=$(curl -fsS -u "elastic:$ELASTIC_PASSWORD" -H 'Content-Type: application/json' -X POST "$es/_security/api_key" \
    -d "{\"name\":\"$name\",\"role_descriptors\":$roles,\"metadata\":{\"created_by\":\"erpsync docker-compose es-keys\"}}")
  encoded=$(printf '%s' "$answer" | sed -n 's/.*"encoded":"\([^"]*\)".*/\1/p')
  if [ -z "$encoded" ]; then
    echo "es-keys: $name: no key in the answer of _security/api_key" >&2
    exit 1
  fi
  umask 077
  printf '%s' "$encoded" >"$file.tmp"
  chown "$owner" "$file.tmp"
  chmod 400 "$file.tmp"
  mv -f "$file.tmp" "$file"
  echo "es-keys: $name: created"
}

key erpsync-worker "$dir/worker/key" "{\"erpsync-worker\":{\"cluster\":[\"monitor\"],\"indices\":[{\"names\":[\"$prefix-*\"],
  \"privileges\":[\"create_index\",\"delete_index\",\"manage\",\"read\",\"write\",\"view_index_metadata\"]}]}}"
key erpsync-storefront "$dir/storefront/key" "{\"erpsync-storefront\":{\"cluster\":[],\"indices\":[{\"names\":[\"$prefix-products\",\"$prefix-categories\",\"$prefix-linediscounts\",\"$prefix-activations\",\"$prefix-customers\"],
  \"privileges\":[\"read\"]}]}}"
