#!/usr/bin/env bash
# Starts Debian's redis-server on loopback unless one already answers.
set -euo pipefail
source "$(dirname "$0")/common.sh"
pidfile="$RUN/redis.pid"
if port_open "$REDIS_PORT"; then log "redis already answering on 127.0.0.1:$REDIS_PORT"; exit 0; fi
dir="$RUN/redis"
mkdir -p "$dir"
log "starting redis on 127.0.0.1:$REDIS_PORT (log: .run/redis/redis.log)"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --daemonize yes \
  --pidfile "$pidfile" --logfile "$dir/redis.log" --appendonly yes --appendfsync everysec \
  --save "" --maxmemory-policy noeviction
wait_for 20 "redis" redis-cli -p "$REDIS_PORT" ping >/dev/null
