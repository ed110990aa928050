#!/usr/bin/env bash
# Starts local Kafka and Redis on loopback (those not already answering) and waits until ready.
set -euo pipefail
here="$(dirname "$0")"
"$here/packages.sh"
"$here/redis.sh"
"$here/kafka.sh"
if [[ "${BLINDAR_LOCAL_REDIS_CLUSTER:-}" == 1 ]]; then "$here/redis-cluster.sh"; fi
source "$here/common.sh"
wait_for 60 "redis" bash -c "redis-cli -p $REDIS_PORT ping 2>/dev/null | grep -q PONG"
"$ROOT/.venv/bin/python" -m monitor.cli wait --timeout 90
log "ready: kafka 127.0.0.1:$KAFKA_PORT, redis 127.0.0.1:$REDIS_PORT"
