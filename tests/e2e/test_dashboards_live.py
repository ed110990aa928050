"""Every dashboard panel shows data: a real Prometheus scrapes a real worker while the
simulator sends traffic with injected leaks and a few invalid messages."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service.settings import REPO_ROOT, Settings
from tests.dashboards import committed, panel_queries
from tests.harness import WorkerProcess, free_port, produce, wait_until, worker_env
from tests.servers import Alertmanager, Prometheus, Receiver, running
from tests.sinks_helpers import SECRET

# The panels' queries over the metrics, not the store (the alert path on the Redis Cluster is
# tests/e2e/test_worker.py's): not run again on the cluster.
pytestmark = pytest.mark.services
RULES = REPO_ROOT / "deploy" / "prometheus" / "rules.yml"


def has_data(result: list[dict]) -> bool:
    """At least one series with a number Grafana can draw (NaN shows as no data)."""
    return any(r["value"][1] not in ("NaN", "+Inf", "-Inf") for r in result)


@pytest.fixture
def simulator(settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "simulator.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "monitor.cli", "simulate", "--rate", "150",
            "--scenario", "bulk_export", "--scenario", "enumeration",
            "--scenario-delay", "1", "--scenario-speed", "200",
        ],
        cwd=REPO_ROOT,
        env=worker_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield proc
    proc.terminate()
    proc.wait(30)


def test_every_panel_query_returns_data(
    settings: Settings, tmp_path: Path, simulator: subprocess.Popen[bytes]
) -> None:
    notified, hook = Receiver(), Receiver()
    am = Alertmanager(tmp_path / "am", notified.url("/am"))
    env = {
        "BLINDAR_ALERTMANAGER_URL": am.base,
        "BLINDAR_WEBHOOK_URL": hook.url("/hook"),
        "BLINDAR_WEBHOOK_SECRET": SECRET.decode(),
    }
    worker = WorkerProcess(settings, tmp_path / "worker.log", env).start()
    canary_port = free_port()  # `blindar canary --loop` (deploy/config/canary.yaml) beside it
    targets = [f"127.0.0.1:{settings.web_port}", f"127.0.0.1:{canary_port}"]
    canary: subprocess.Popen | None = None
    prometheus = Prometheus(tmp_path / "prom", targets, [RULES])
    queries = [q for board in committed().values() for q in panel_queries(board)]
    try:
        with running(am), running(prometheus):
            worker.wait_ready()
            # Canaries start once Prometheus holds the worker's canary series at 0: a panel
            # of increase() shows nothing for a counter whose first sample is already 1.
            wait_until(
                lambda: prometheus.query("blindar_canary_latency_seconds_count"),
                60,
                what="the worker's canary series scraped",
            )
            canary = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "canary", "--loop", "--metrics-port",
                 str(canary_port)],
                cwd=REPO_ROOT,
                env=worker_env(settings),
                stdout=(tmp_path / "canary.log").open("wb"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            produce(settings, "chat", [b"{broken", b"42"], key=b"agent-1")
            wait_until(
                lambda: worker.metric("blindar_alerts_total", kind="new") >= 2,
                180,
                what="injected leaks alerted",
            )
            wait_until(  # the canary panels show what the worker decided of the canaries
                lambda: worker.metric("blindar_canary_latency_seconds_count") >= 1,
                180,
                what="a canary decided by the worker",
            )

            def empty() -> list[str]:
                return [title for title, expr in queries if not has_data(prometheus.query(expr))]

            missing: list[str] = []

            def all_have_data() -> bool:
                missing[:] = empty()
                return not missing

            try:
                wait_until(all_have_data, 90, 1.0, "every panel to have data")
            except AssertionError:
                raise AssertionError(f"panels without data: {missing}") from None
            assert len(queries) >= 20
            # The health rules run against the same real series: every metric they name
            # exists, and every rule evaluates without error.
            names = set(re.findall(r"\bblindar_[a-z_]+", RULES.read_text()))
            absent = [n for n in names if not prometheus.query(f'count({{__name__="{n}"}})')]
            assert not absent, f"rules name metrics the worker does not export: {absent}"

            def evaluated() -> list[dict]:
                rules = prometheus.rules()
                done = all(r["lastEvaluation"] > "0001-01-01T00:00:00Z" for r in rules)
                return rules if rules and done else []

            rules = wait_until(evaluated, 30, what="every rule evaluated")
            assert len(rules) == RULES.read_text().count("- alert:")
            assert {r["health"] for r in rules} == {"ok"}, [r for r in rules if r["health"] != "ok"]
            assert prometheus.query('sum(blindar_alerts_total{kind="new"})')[0]["value"][1] != "0"
    finally:
        if canary is not None:
            canary.terminate()
            canary.wait(30)
        worker.stop()
        notified.close()
        hook.close()
