#!/usr/bin/env bash
# Runs the whole test suite: lint, unit tests, then integration and end-to-end tests
# against real local Kafka and Redis (started here if they are not running).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
deploy/local/up.sh
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
