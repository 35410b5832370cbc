#!/usr/bin/env bash
# make dev: the whole of erpsync on one machine. Starts Elasticsearch and the Temporal dev server
# (provisioned on first use), the ERP simulator with a demo catalog and its change driver, the
# worker, the schedules and (when present) the storefront; prints where everything is; Ctrl-C
# stops what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${ERPSIM_ADDR:=127.0.0.1:8088}"
: "${ERPSIM_CLIENT_ID:=erpsync}"
: "${ERPSIM_CLIENT_SECRET:=erpsync-dev-secret}"
: "${ERPSIM_CHANGE_RATE:=1}"
: "${ERPSIM_DB:=var/erpsim.db}"
: "${ERPSYNC_UPDATE_EVERY:=1m}"
: "${STOREFRONT_ADDR:=127.0.0.1:8080}"
# Which ERP the simulator plays: "addon" (D365 with an ERP add-on such as Sana's: a child change
# stamps its product or customer, deletes are logged; the worker reads roots by their stamps) or
# "stock-d365" (plain D365: every row keeps its own stamp, no deletion log; the worker reads every
# collection by its own stamps and runs reconcile and audit on a schedule too).
: "${ERPSYNC_ERP:=addon}"
case "$ERPSYNC_ERP" in
  addon) : "${ERPSYNC_CHANGE_DETECTION:=parent-stamps}" "${ERPSIM_BUMPS:=on}" "${ERPSIM_DELETION_LOG:=on}" ;;
  stock-d365) : "${ERPSYNC_CHANGE_DETECTION:=child-stamps}" "${ERPSIM_BUMPS:=off}" "${ERPSIM_DELETION_LOG:=off}" ;;
  *) echo "[dev] ERPSYNC_ERP=$ERPSYNC_ERP: want addon or stock-d365" >&2; exit 2 ;;
esac
export ERPSIM_ADDR ERPSIM_CLIENT_ID ERPSIM_CLIENT_SECRET ERPSIM_CHANGE_RATE ERPSIM_DB STOREFRONT_ADDR
export ERPSYNC_CHANGE_DETECTION ERPSIM_BUMPS ERPSIM_DELETION_LOG

# Services this script finds running are left running when it stops.
had_es=0; had_temporal=0
[ -n "${ELASTICSEARCH_URL:-}" ] || ! curl -fsS -m 2 http://127.0.0.1:9200/_cluster/health >/dev/null 2>&1 || had_es=1
[ -n "${ELASTICSEARCH_URL:-}" ] && had_es=1
[ -n "${TEMPORAL_ADDRESS:-}" ] && had_temporal=1
(exec 3<>/dev/tcp/127.0.0.1/7233) 2>/dev/null && had_temporal=1

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo; echo "[dev] stopping..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$had_es" = 1 ] || scripts/services.sh down es || true
  [ "$had_temporal" = 1 ] || scripts/services.sh down temporal || true
}
trap stop_all INT TERM EXIT

scripts/services.sh up
eval "$(scripts/services.sh env)"

mkdir -p bin var/log
cmds=(./worker ./starter ./cmd/erpsim)
[ -d cmd/storefront ] && cmds+=(./cmd/storefront)
echo "[dev] building ${cmds[*]}"
go build -o bin/ "${cmds[@]}"

echo "[dev] ERP simulator on http://$ERPSIM_ADDR (database $ERPSIM_DB, change rate $ERPSIM_CHANGE_RATE/s, ERP $ERPSYNC_ERP: bumps $ERPSIM_BUMPS, deletion log $ERPSIM_DELETION_LOG)"
bin/erpsim serve >var/log/erpsim.log 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  curl -fsS -m 2 -d grant_type=client_credentials -d client_id="$ERPSIM_CLIENT_ID" -d client_secret="$ERPSIM_CLIENT_SECRET" \
    "http://$ERPSIM_ADDR/oauth2/token" >/dev/null 2>&1 && break
  kill -0 "${pids[-1]}" 2>/dev/null || { tail -20 var/log/erpsim.log; exit 1; }
  sleep 1
done

# The stack's settings in one file that every binary reads (ERPSYNC_CONFIG), also for running
# them by hand: ERPSYNC_CONFIG=var/dev.yaml bin/worker config check (or config print).
cat >var/dev.yaml <<YAML
# Written by scripts/dev.sh (make dev): the settings of this stack. Flags and environment
# variables win over it; bin/worker --help lists every setting.
temporal:
  address: ${TEMPORAL_ADDRESS}
elasticsearch:
  url: ${ELASTICSEARCH_URL}
erp:
  url: http://${ERPSIM_ADDR}
  client-id: ${ERPSIM_CLIENT_ID}
  client-secret: ${ERPSIM_CLIENT_SECRET}
import:
  change-detection: ${ERPSYNC_CHANGE_DETECTION}
schedules:
  update-every: ${ERPSYNC_UPDATE_EVERY}
log:
  format: console
storefront:
  addr: ${STOREFRONT_ADDR}
YAML
export ERPSYNC_CONFIG=var/dev.yaml
bin/worker config check || echo "[dev] worker config check found the problems above"
bin/worker >var/log/worker.log 2>&1 &
pids+=($!)
echo "[dev] worker started with $ERPSYNC_CHANGE_DETECTION change detection (log var/log/worker.log)"

bin/starter schedules apply
bin/starter schedules trigger product-import-update >/dev/null
bin/starter schedules trigger customer-import-update >/dev/null

if [ -x bin/storefront ]; then
  # The demo page on plain http with its customer picker: both are off unless asked for.
  STOREFRONT_PLAIN_HTTP=true STOREFRONT_CUSTOMER_LIST=true bin/storefront >var/log/storefront.log 2>&1 &
  pids+=($!)
fi

cat <<BANNER

  erpsync is running. Ctrl-C stops it.

  Temporal UI       http://127.0.0.1:8233/namespaces/default/workflows  (imports, schedules: pause, trigger)
                    runs that did not succeed: ErpsyncOutcome != 'success' in the UI's query box
  Elasticsearch     $ELASTICSEARCH_URL  (indexes erpsync-products, -categories, -linediscounts, -activations, -customers, -contacts, -salesreps)
  ERP simulator     http://$ERPSIM_ADDR/data/  (OAuth2 client $ERPSIM_CLIENT_ID)
  Storefront        $( [ -x bin/storefront ] && echo "http://$STOREFRONT_ADDR" || echo "not built yet")
  Worker metrics    http://127.0.0.1:9464/metrics  (probes: /healthz, /readyz)
  Logs              var/log/
  Settings          var/dev.yaml  (ERPSYNC_CONFIG=var/dev.yaml bin/worker config check | config print)

  bin/starter status                       schedules, watermarks, lag, counts
  bin/starter explain products usmf 1000   why a product is (not) in the shop
  bin/starter run products --mode rebuild --wait
BANNER
wait -n "${pids[@]}" || true
echo "[dev] a process ended; see var/log/"
