#!/usr/bin/env bash
# Creates .venv/ at the repository root with blindar and its test tools installed: exactly
# the versions and files (sha256) of requirements-dev.lock (runtime + test tools), then
# blindar itself without deps.
# The lock is made from pyproject.toml (docs/operations.md, "Updating dependencies").
set -euo pipefail
source "$(dirname "$0")/common.sh"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "blindar needs Python 3.11"'
[[ -x "$ROOT/.venv/bin/python" ]] || "$python" -m venv "$ROOT/.venv"
log "installing blindar's locked dependencies (requirements-dev.lock) into .venv"
pip=("$ROOT/.venv/bin/pip" install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes --no-deps -r "$ROOT/requirements-dev.lock"
"${pip[@]}" --no-deps -e "$ROOT"
"$ROOT/.venv/bin/pip" check >/dev/null || { "$ROOT/.venv/bin/pip" check; exit 1; }
