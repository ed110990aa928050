#!/usr/bin/env bash
# Starts a local 3-shard Redis Cluster from Debian's redis-server on loopback (ports
# BLINDAR_LOCAL_CLUSTER_PORT .. +2, default 7001-7003), unless one already answers.
# The worker finds it by itself: REDIS_URL=redis://127.0.0.1:7001/0 (any node will do).
set -euo pipefail
source "$(dirname "$0")/common.sh"
first="${BLINDAR_LOCAL_CLUSTER_PORT:-7001}"
ports=("$first" "$((first + 1))" "$((first + 2))")
if redis-cli -p "$first" cluster info 2>/dev/null | grep -q "cluster_state:ok"; then
  log "redis cluster already answering on 127.0.0.1:$first"
  exit 0
fi
for port in "${ports[@]}"; do
  dir="$RUN/redis-cluster/$port"
  mkdir -p "$dir"
  if ! port_open "$port"; then
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
      --pidfile "$RUN/redis-cluster-$port.pid" --logfile "$dir/redis.log" \
      --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
      --appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction
  fi
  wait_for 20 "redis $port" redis-cli -p "$port" ping >/dev/null
done
if ! redis-cli -p "$first" cluster info | grep -q "cluster_slots_assigned:16384"; then
  log "creating a 3-shard redis cluster on 127.0.0.1:${ports[0]}-${ports[2]}"
  redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes \
    >"$RUN/redis-cluster/create.log" 2>&1
fi
wait_for 30 "redis cluster" bash -c "redis-cli -p $first cluster info | grep -q cluster_state:ok"
log "redis cluster ready on 127.0.0.1:${ports[0]}-${ports[2]}"
