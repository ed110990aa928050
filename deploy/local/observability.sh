#!/usr/bin/env bash
# Starts Debian's Prometheus and Alertmanager on loopback for a local worker: Prometheus
# scrapes 127.0.0.1:${BLINDAR_WEB_PORT:-6066} with deploy/prometheus/rules.yml and sends
# to this Alertmanager. Point the worker at it:
#   BLINDAR_ALERTMANAGER_URL=http://127.0.0.1:9095 make demo
# `make down` stops both.
set -euo pipefail
source "$(dirname "$0")/common.sh"
PROM_PORT="${BLINDAR_LOCAL_PROMETHEUS_PORT:-9090}"
AM_PORT="${BLINDAR_LOCAL_ALERTMANAGER_PORT:-9095}"
WORKER_PORT="${BLINDAR_WEB_PORT:-6066}"

start_alertmanager() {
  local dir="$RUN/alertmanager"
  if port_open "$AM_PORT"; then log "alertmanager already answering on 127.0.0.1:$AM_PORT"; return; fi
  mkdir -p "$dir"
  # Locally nobody is paged: alerts are only shown in Alertmanager's UI and API.
  cat >"$dir/alertmanager.yml" <<YAML
route:
  receiver: local
  group_by: [alertname, tenant, actor]
  group_wait: 5s
receivers:
  - name: local
YAML
  log "starting alertmanager on http://127.0.0.1:$AM_PORT (log: $dir/alertmanager.log)"
  setsid nohup prometheus-alertmanager --config.file="$dir/alertmanager.yml" \
    --storage.path="$dir/data" --web.listen-address="127.0.0.1:$AM_PORT" \
    --cluster.listen-address= >"$dir/alertmanager.log" 2>&1 </dev/null &
  echo $! >"$RUN/alertmanager.pid"
  wait_for 30 "alertmanager" port_open "$AM_PORT"
}

start_prometheus() {
  local dir="$RUN/prometheus"
  if port_open "$PROM_PORT"; then log "prometheus already answering on 127.0.0.1:$PROM_PORT"; return; fi
  mkdir -p "$dir"
  cp "$ROOT/deploy/prometheus/rules.yml" "$dir/rules.yml"
  cat >"$dir/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: [rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$AM_PORT"]}]}]
scrape_configs:
  - job_name: blindar
    static_configs: [{targets: ["127.0.0.1:$WORKER_PORT"]}]
YAML
  log "starting prometheus on http://127.0.0.1:$PROM_PORT (log: $dir/prometheus.log)"
  setsid nohup prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$dir/prometheus.log" 2>&1 </dev/null &
  echo $! >"$RUN/prometheus.pid"
  wait_for 30 "prometheus" port_open "$PROM_PORT"
}

"$ROOT/deploy/local/packages.sh"
start_alertmanager
start_prometheus
log "ready: prometheus http://127.0.0.1:$PROM_PORT, alertmanager http://127.0.0.1:$AM_PORT"
log "run the worker with BLINDAR_ALERTMANAGER_URL=http://127.0.0.1:$AM_PORT to page there"
