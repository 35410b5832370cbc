#!/bin/sh
# The Temporal setup jobs of docker-compose.yml, in the temporalio/admin-tools image (the
# replacement of the deprecated temporalio/auto-setup image):
#   compose-temporal.sh schema     creates the temporal and temporal_visibility databases in
#                                  Postgres and brings their schemas to the server's version
#                                  (temporal-sql-tool; running it again changes nothing)
#   compose-temporal.sh namespace  creates the namespace and erpsync's search attributes
# Needs POSTGRES_SEEDS, POSTGRES_USER, SQL_PASSWORD (schema); TEMPORAL_ADDRESS, NAMESPACE
# (namespace).
set -eu

case "${1:-}" in
schema)
  db() {
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "${DB_PORT:-5432}" --db "$1" create || true
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "${DB_PORT:-5432}" --db "$1" setup-schema -v 0.0 || true
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "${DB_PORT:-5432}" --db "$1" \
      update-schema -d "/etc/temporal/schema/postgresql/v12/$2/versioned"
  }
  db temporal temporal
  db temporal_visibility visibility
  echo "compose-temporal: schemas up to date"
  ;;
namespace)
  ns=${NAMESPACE:-default}
  until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done
  temporal operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
    || temporal operator namespace create -n "$ns" --retention 7d --address "$TEMPORAL_ADDRESS"
  # erpsync's search attributes (visibility/visibility.go): what the UI filters runs by.
  for sa in ErpsyncEntity=KeywordList ErpsyncMode=Keyword ErpsyncOutcome=Keyword ErpsyncRecordsWritten=Int ErpsyncDeadLettered=Int; do
    temporal operator search-attribute list -n "$ns" --address "$TEMPORAL_ADDRESS" | grep -qw "${sa%%=*}" \
      || temporal operator search-attribute create -n "$ns" --address "$TEMPORAL_ADDRESS" --name "${sa%%=*}" --type "${sa#*=}"
  done
  echo "compose-temporal: namespace $ns with erpsync's search attributes"
  ;;
*)
  sed -n '2,10p' "$0"; exit 2 ;;
esac
