#!/usr/bin/env bash
# Provisions and runs the services erpsync needs on one machine, without Docker:
#   - Elasticsearch (the official test distribution from Maven Central) as an unprivileged user;
#   - the Temporal dev server (the Temporal CLI built with `go install`), with its web UI.
#
# Usage: scripts/services.sh up|down|status [es|temporal|all]
#        scripts/services.sh env       print the export lines the tests and the binaries use
#
# Existing services win: when ELASTICSEARCH_URL or TEMPORAL_ADDRESS is set, that service is
# neither provisioned nor started nor stopped here.
#
# Downloads, binaries and data live in ERPSYNC_CACHE (default /var/cache/erpsync), outside the
# repository, so a fresh clone reuses them. An unprivileged user must be able to read it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../versions.env
. "$here/../versions.env"

cache=${ERPSYNC_CACHE:-/var/cache/erpsync}
es_user=${ERPSYNC_ES_USER:-erpsync}
es_port=${ERPSYNC_ES_PORT:-9200}
es_heap=${ERPSYNC_ES_HEAP:-1g}
# The processors Elasticsearch sizes its thread pools for (default: the machine's). `make bench`
# gives Elasticsearch one CPU of its own and starts it with 1 (see the README, Benchmarks).
es_processors=${ERPSYNC_ES_PROCESSORS:-}
temporal_port=${ERPSYNC_TEMPORAL_PORT:-7233}
temporal_ui_port=${ERPSYNC_TEMPORAL_UI_PORT:-8233}

es_home="$cache/elasticsearch-$ELASTICSEARCH_VERSION"
es_node="$cache/es-node-$ELASTICSEARCH_VERSION"
temporal_bin="$cache/temporal-cli-$TEMPORAL_CLI_VERSION/bin/temporal"
temporal_dir="$cache/temporal"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- Elasticsearch

es_url_local="http://127.0.0.1:$es_port"

# The test distribution has no handler for GET /, so health and version come from other APIs.
es_answers() { curl -fsS -m 2 "$1/_cluster/health" >/dev/null 2>&1; }

es_install() {
  [ -x "$es_home/bin/elasticsearch" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to fetch Elasticsearch"
  command -v unzip >/dev/null || die "unzip not found: apt-get install unzip"
  local artifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ELASTICSEARCH_VERSION:zip"
  log "fetching Elasticsearch $ELASTICSEARCH_VERSION from Maven Central ($artifact)"
  mkdir -p "$cache/downloads"
  mvn -q -B dependency:copy -Dartifact="$artifact" -DoutputDirectory="$cache/downloads" >&2 \
    || die "could not fetch $artifact with Maven"
  local zip="$cache/downloads/elasticsearch-$ELASTICSEARCH_VERSION.zip"
  [ -f "$zip" ] || die "Maven reported success but $zip is missing"
  local tmp; tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
  unzip -q "$zip" -d "$tmp"
  mv "$tmp/elasticsearch-$ELASTICSEARCH_VERSION" "$es_home"
  rmdir "$tmp"
  chmod -R a+rX "$es_home"
}

es_java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local java; java=$(command -v java) || die "java not found: install a JDK 17 or later (apt-get install openjdk-17-jdk-headless)"
  dirname "$(dirname "$(readlink -f "$java")")"
}

# as_es_user runs a command as the unprivileged user when we are root (Elasticsearch refuses root).
as_es_user() {
  if [ "$(id -u)" = 0 ]; then
    id "$es_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$es_user"
    runuser -u "$es_user" -- "$@"
  else
    "$@"
  fi
}

es_configure() {
  mkdir -p "$es_node/config" "$es_node/data" "$es_node/logs" "$es_node/tmp"
  cp -n "$es_home"/config/* "$es_node/config/" 2>/dev/null || true
  cat >"$es_node/config/elasticsearch.yml" <<EOF
# Written by scripts/services.sh: a single local node for development and tests.
cluster.name: erpsync-local
node.name: erpsync-local-1
network.host: 127.0.0.1
http.port: $es_port
transport.port: $((es_port + 100))
discovery.type: single-node
path.data: $es_node/data
path.logs: $es_node/logs
# Local node only: production runs with security on (see docker-compose.yml).
xpack.security.enabled: false
action.destructive_requires_name: false
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  if [ -n "$es_processors" ]; then echo "node.processors: $es_processors" >>"$es_node/config/elasticsearch.yml"; fi
  if [ "$(id -u)" = 0 ]; then
    id "$es_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$es_user"
    chown -R "$es_user" "$es_node"
  fi
}

es_up() {
  if [ -n "${ELASTICSEARCH_URL:-}" ]; then log "Elasticsearch: using ELASTICSEARCH_URL=$ELASTICSEARCH_URL (nothing provisioned)"; return; fi
  if es_answers "$es_url_local"; then log "Elasticsearch: reusing the node on $es_url_local"; es_report; return; fi
  mkdir -p "$cache"; chmod a+rx "$cache"
  es_install
  es_configure
  local java_home; java_home=$(es_java_home)
  log "Elasticsearch $ELASTICSEARCH_VERSION: starting on $es_url_local (heap $es_heap, ${es_processors:-all} processors, data in $es_node)"
  as_es_user env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$es_node/config" ES_TMPDIR="$es_node/tmp" \
    ES_JAVA_OPTS="-Xms$es_heap -Xmx$es_heap" \
    "$es_home/bin/elasticsearch" -d -p "$es_node/es.pid" >"$es_node/logs/startup.log" 2>&1 \
    || die "Elasticsearch did not start; see $es_node/logs/erpsync-local.log"
  local i
  for i in $(seq 1 120); do
    if curl -fsS -m 2 "$es_url_local/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
      es_report; return
    fi
    sleep 1
  done
  tail -n 40 "$es_node/logs/erpsync-local.log" >&2 || true
  die "Elasticsearch did not become healthy within 120 s; log above"
}

es_report() {
  local v; v=$(curl -fsS -m 2 "$es_url_local/_nodes/_local?filter_path=nodes.*.version" | sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p' | head -1)
  log "Elasticsearch $v ready at $es_url_local"
}

es_down() {
  [ -n "${ELASTICSEARCH_URL:-}" ] && { log "Elasticsearch: external, not stopped"; return; }
  local pidf="$es_node/es.pid" pid
  pid=$(cat "$pidf" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "Elasticsearch: stopping pid $pid"
    kill "$pid"
    local i; for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  else
    log "Elasticsearch: not running from $es_node"
  fi
}

# ---------------------------------------------------------------- Temporal

temporal_install() {
  [ -x "$temporal_bin" ] && return 0
  command -v go >/dev/null || die "go not found: install Go $GO_VERSION"
  log "building the Temporal CLI $TEMPORAL_CLI_VERSION with go install (about 5 minutes on 2 cores, once)"
  mkdir -p "$(dirname "$temporal_bin")"
  (cd / && GOBIN="$(dirname "$temporal_bin")" GOFLAGS=-buildvcs=false go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION") >&2
}

temporal_answers() {
  [ -x "$temporal_bin" ] && "$temporal_bin" operator cluster health --address "127.0.0.1:$temporal_port" >/dev/null 2>&1
}

temporal_up() {
  if [ -n "${TEMPORAL_ADDRESS:-}" ]; then log "Temporal: using TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS (nothing provisioned)"; return; fi
  mkdir -p "$cache"; chmod a+rx "$cache"
  temporal_install
  if temporal_answers; then log "Temporal: reusing the dev server on 127.0.0.1:$temporal_port"; temporal_search_attributes; temporal_report; return; fi
  mkdir -p "$temporal_dir"
  log "Temporal dev server: starting on 127.0.0.1:$temporal_port, UI on http://127.0.0.1:$temporal_ui_port (database $temporal_dir/dev.db)"
  nohup "$temporal_bin" server start-dev --ip 127.0.0.1 --port "$temporal_port" --ui-port "$temporal_ui_port" \
    --db-filename "$temporal_dir/dev.db" --log-level warn \
    >"$temporal_dir/server.log" 2>&1 </dev/null &
  echo $! >"$temporal_dir/server.pid"
  local i
  for i in $(seq 1 60); do
    if temporal_answers; then temporal_search_attributes; temporal_report; return; fi
    kill -0 "$(cat "$temporal_dir/server.pid")" 2>/dev/null || break
    sleep 1
  done
  tail -n 40 "$temporal_dir/server.log" >&2 || true
  die "the Temporal dev server did not answer within 60 s; log above"
}

# erpsync's search attributes (visibility/visibility.go), by which the Temporal UI filters import
# runs: registered once on the dev server's default namespace (the worker also adds missing ones).
temporal_search_attributes() {
  local have sa
  have=$("$temporal_bin" operator search-attribute list --address "127.0.0.1:$temporal_port" 2>/dev/null) || return 0
  for sa in ErpsyncEntity=KeywordList ErpsyncMode=Keyword ErpsyncOutcome=Keyword ErpsyncRecordsWritten=Int ErpsyncDeadLettered=Int; do
    printf '%s\n' "$have" | grep -qw "${sa%%=*}" && continue
    "$temporal_bin" operator search-attribute create --address "127.0.0.1:$temporal_port" --name "${sa%%=*}" --type "${sa#*=}" >/dev/null \
      || die "could not register the search attribute ${sa%%=*}"
    log "Temporal: search attribute ${sa%%=*} (${sa#*=}) registered"
  done
}

temporal_report() {
  local v; v=$("$temporal_bin" --version 2>/dev/null | head -1)
  log "Temporal ready at 127.0.0.1:$temporal_port, UI http://127.0.0.1:$temporal_ui_port ($v)"
}

temporal_down() {
  [ -n "${TEMPORAL_ADDRESS:-}" ] && { log "Temporal: external, not stopped"; return; }
  local pidf="$temporal_dir/server.pid" pid
  pid=$(cat "$pidf" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "Temporal: stopping pid $pid"
    kill "$pid"
    local i; for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  else
    log "Temporal: not running from $temporal_dir"
  fi
}

# ---------------------------------------------------------------- main

print_env() {
  echo "export ELASTICSEARCH_URL=${ELASTICSEARCH_URL:-$es_url_local}"
  echo "export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$temporal_port}"
}

cmd=${1:-}; what=${2:-all}
case "$what" in es|temporal|all) ;; *) die "unknown service '$what' (es, temporal or all)";; esac
case "$cmd" in
  up)
    # Build Temporal's CLI while Elasticsearch starts: both take a while on a new machine.
    if [ "$what" = all ]; then es_up & es_pid=$!; temporal_up; wait "$es_pid" || die "Elasticsearch failed"; 
    elif [ "$what" = es ]; then es_up; else temporal_up; fi ;;
  down)
    { [ "$what" = temporal ] || es_down; }; { [ "$what" = es ] || temporal_down; } ;;
  status)
    if es_answers "${ELASTICSEARCH_URL:-$es_url_local}"; then log "Elasticsearch: up at ${ELASTICSEARCH_URL:-$es_url_local}"; else log "Elasticsearch: down"; fi
    if [ -n "${TEMPORAL_ADDRESS:-}" ] || temporal_answers; then log "Temporal: up at ${TEMPORAL_ADDRESS:-127.0.0.1:$temporal_port}"; else log "Temporal: down"; fi ;;
  env) print_env ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
