#!/usr/bin/env bash
# Stops what up.sh started, by pid file, and nothing else.
set -uo pipefail
source "$(dirname "$0")/common.sh"
clusters=()
for pidfile in "$RUN"/redis-cluster-*.pid; do
  [[ -e $pidfile ]] && clusters+=("$(basename "$pidfile" .pid)")
done
for name in kafka redis "${clusters[@]}" prometheus alertmanager; do
  pidfile="$RUN/$name.pid"
  if alive "$pidfile"; then
    pid="$(cat "$pidfile")"
    log "stopping $name (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 30s; killing"; kill -9 "$pid"; }
  fi
  rm -f "$pidfile"
done
