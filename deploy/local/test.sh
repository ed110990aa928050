#!/usr/bin/env bash
# Runs the whole test suite: lint, unit tests, then integration and end-to-end tests
# against real local Kafka and Redis (started here if they are not running), then the
# integration and end-to-end tests again against a local 3-shard Redis Cluster.
# Arguments go to the first pytest run only (e.g. `make test ARGS=tests/unit`); with
# arguments, the Redis Cluster pass is skipped.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
deploy/local/up.sh
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
if (($# == 0)); then
  deploy/local/redis-cluster.sh
  log "integration and end-to-end tests again, on the Redis Cluster"
  REDIS_URL="redis://127.0.0.1:${BLINDAR_LOCAL_CLUSTER_PORT:-7001}/0" \
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/integration tests/e2e
fi
