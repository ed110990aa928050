#!/usr/bin/env bash
# The demo: local Kafka + Redis, topics, the worker, the simulator with injected leaks,
# and alerts shown live. Ctrl-C stops everything this script started, cleanly.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
RATE="${DEMO_RATE:-200}"
SCENARIOS="${DEMO_SCENARIOS:-bulk_export enumeration cross_tenant}"
PORT="${BLINDAR_WEB_PORT:-6066}"

had_kafka=0; had_redis=0
alive "$RUN/kafka.pid" && had_kafka=1
alive "$RUN/redis.pid" && had_redis=1
port_open "$KAFKA_PORT" && had_kafka=1
port_open "$REDIS_PORT" && had_redis=1
worker_pid=""; sim_pid=""; tail_pid=""; canary_pid=""

cleanup() {
  trap - INT TERM EXIT
  echo
  log "stopping the demo"
  [[ -n "$canary_pid" ]] && kill -TERM -- "-$canary_pid" 2>/dev/null || true
  for pid in $tail_pid $sim_pid $worker_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $sim_pid $worker_pid; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if ((had_kafka == 0 || had_redis == 0)); then
    "$ROOT/deploy/local/down.sh"
  fi
  log "stopped"
  report_hint
}

# How to get the assurance report of the tenant the demo's leaks hit (docs/report.md).
report_hint() {
  local tenant day
  tenant="$(sed -n 's#.*injected [a-z_]* by \([^/]*\)/.*#\1#p' "$RUN/demo-simulator.log" 2>/dev/null | head -1)"
  day="$(date -u +%F)"
  cat <<REPORT

  The assurance report of the demo tenant ${tenant:-acme-bank} (HTML + JSON twin; the ledger is in
  Redis, which keeps its data across make down / make up):
    make up && .venv/bin/blindar report --tenant ${tenant:-acme-bank} --from $day --to $day --out .run/report.html
  Other demo tenants: acme-bank, telco-one, shopmart, healthplus. What it shows: docs/report.md

REPORT
}
trap cleanup INT TERM EXIT

"$ROOT/deploy/local/up.sh"
"$PY" -m monitor.cli topics >/dev/null
# The simulated population's workforce-management export: the worker trusts it (not what
# events say) for the agents' tenants, teams and types, so cross_tenant is in force.
ASSIGNMENTS="$RUN/demo-assignments.yaml"
"$PY" -m monitor.cli simulate --rate "$RATE" --assignments "$ASSIGNMENTS" --assignments-only
log "starting the worker with the assignments file $ASSIGNMENTS (log: .run/demo-worker.log)"
BLINDAR_ASSIGNMENTS_FILE="$ASSIGNMENTS" BLINDAR_WEB_PORT="$PORT" setsid "$PY" -m monitor.cli worker \
  >"$RUN/demo-worker.log" 2>&1 &
worker_pid=$!
wait_for 120 "worker" bash -c "curl -sf 'http://127.0.0.1:$PORT/health?probe=live' | grep -q '\"assigned_partitions\":[1-9]'" \
  || { tail -20 "$RUN/demo-worker.log" >&2; exit 1; }
"$PY" -m monitor.cli alerts tail &
tail_pid=$!
scenario_args=()
for name in $SCENARIOS; do scenario_args+=(--scenario "$name"); done
log "starting the simulator at $RATE events/s; leaks injected after 15 s: $SCENARIOS (log: .run/demo-simulator.log)"
setsid "$PY" -m monitor.cli simulate --rate "$RATE" --scenario-delay 15 "${scenario_args[@]}" \
  >"$RUN/demo-simulator.log" 2>&1 &
sim_pid=$!
# Canaries (docs/operations.md "Canaries"): one round through every channel of the demo
# tenant (deploy/config/canary.yaml); each line says detected (and how fast) or MISSED.
log "sending canary leaks through every channel (log: .run/demo-canary.log)"
setsid bash -c '"$0" -m monitor.cli canary >"$1" 2>&1; grep -E "^canar" "$1"' \
  "$PY" "$RUN/demo-canary.log" &
canary_pid=$!
cat <<INFO

  blindar is running.
    metrics:  http://127.0.0.1:$PORT/metrics      health: http://127.0.0.1:$PORT/health
    alerts:   Kafka topic dlp.alerts (OCSF JSON); dead letters: dlp.deadletter
  Alerts appear below as they are raised (one line each). Ctrl-C stops everything.

INFO
wait "$tail_pid"
