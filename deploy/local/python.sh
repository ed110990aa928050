#!/usr/bin/env bash
# Creates .venv/ at the repository root with blindar and its test tools installed.
set -euo pipefail
source "$(dirname "$0")/common.sh"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "blindar needs Python 3.11"'
[[ -x "$ROOT/.venv/bin/python" ]] || "$python" -m venv "$ROOT/.venv"
log "installing blindar and its dependencies into .venv"
"$ROOT/.venv/bin/pip" install -q --disable-pip-version-check -e "$ROOT[dev]"
