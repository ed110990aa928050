#!/usr/bin/env bash
# Runs the whole test suite: lint, unit tests, then integration and end-to-end tests
# against real local Kafka and Redis (started here if they are not running), then the
# tests whose subject is the Redis state store (marker `store`: its ops and their Lua,
# twin parity, the ledger, keys of hostile ids, the worker end to end) again against a
# local 3-shard Redis Cluster.
# Both runs spread over BLINDAR_TEST_WORKERS pytest-xdist workers (default 3: the tests
# wait much on worker subprocesses and servers, so more than the two cores pay, but the
# replays of 500-750 agents are CPU-bound and must stay inside their timeouts). Each test
# has a namespace of its own that names its xdist worker (tests/harness.py); each module
# runs on one worker (`--dist loadscope`), so its module-scoped data (a replay of 750
# agents, a fault module's private Kafka) is made once. (`--dist loadgroup` with
# xdist_group markers would split modules finer, but pytest-xdist 3.8 renames the node
# ids of grouped tests in a way pytest 9 no longer reads: no group is ever formed.)
# The hang guard of a test without a timeout of its own is 600 s instead of pyproject's
# 300: a CPU-bound test shares the two cores with the other workers.
# Arguments go to the first pytest run only (e.g. `make test ARGS=tests/unit`); with
# arguments, the Redis Cluster pass is skipped.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
deploy/local/up.sh
parallel=(-n "${BLINDAR_TEST_WORKERS:-3}" --dist loadscope --timeout=600 --durations=20)
.venv/bin/python -m pytest -q -p no:cacheprovider "${parallel[@]}" "$@"
if (($# == 0)); then
  deploy/local/redis-cluster.sh
  log "the tests that reach the Redis store again, on the Redis Cluster"
  REDIS_URL="redis://127.0.0.1:${BLINDAR_LOCAL_CLUSTER_PORT:-7001}/0" \
    .venv/bin/python -m pytest -q -p no:cacheprovider "${parallel[@]}" -m store tests
fi
