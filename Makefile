# blindar: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: install up up-cluster down demo test test-unit lint topics worker simulate clean bench bench-catchup soak backtest schema dashboards observability generate k8s-config lock

install: .venv/.installed

.venv/.installed: pyproject.toml requirements-dev.lock
	@deploy/local/python.sh
	@touch $@

up: install
	@deploy/local/up.sh

up-cluster: install
	@BLINDAR_LOCAL_REDIS_CLUSTER=1 deploy/local/up.sh

down:
	@deploy/local/down.sh

topics: up
	@$(PY) -m monitor.cli topics

worker: topics
	@$(PY) -m monitor.cli worker

simulate: up
	@$(PY) -m monitor.cli simulate --rate 200

demo: install
	@deploy/local/demo.sh

test: install
	@deploy/local/test.sh

test-unit: install
	@$(PY) -m pytest tests/unit detectors -q

schema: install
	@$(PY) -m monitor.cli schema > docs/event-schema.json

observability:
	@deploy/local/observability.sh

dashboards: install
	@$(PY) -W ignore::DeprecationWarning deploy/grafana/dashboards.py deploy/grafana/dashboards

lint: install
	@.venv/bin/ruff check .

clean: down
	rm -rf .run

bench: up
	@$(PY) -m bench.run

# Catch-up after an outage (issue 18): BENCH_CATCHUP_MINUTES (default 30) of realistic
# traffic piled up with no worker, drained by one; pages compared with an event-time replay.
BENCH_CATCHUP_MINUTES ?= 30
bench-catchup: up
	@BENCH_CATCHUP_MINUTES=$(BENCH_CATCHUP_MINUTES) $(PY) -m bench.catchup

soak: up
	@$(PY) -m bench.soak

# 14 days x 500 realistic agents with labelled leaks from day 8, replayed and scored;
# e.g. `make backtest BACKTEST_ARGS="--agents 200 --days 10 --leak-day 4"` while iterating.
backtest: up
	@$(PY) -m monitor.cli backtest $(BACKTEST_ARGS)

# detectors.yaml defaults, the k8s ConfigMaps and docs/detectors.md, from the detector folders.
generate: install
	@$(PY) deploy/generate.py

k8s-config: generate

# Re-pin every dependency (with sha256 hashes) after changing pyproject.toml; see
# docs/operations.md "Updating dependencies". Needs uv (pip install uv).
LOCK := uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --no-header
lock:
	@$(LOCK) -o requirements.lock
	@$(LOCK) --extra dev -o requirements-dev.lock
