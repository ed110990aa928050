"""The test harness never turns a worker that does not answer into a reading."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from monitor.service.settings import Settings
from tests.harness import WorkerProcess, WorkerUnreachable, free_port


def test_metric_and_health_of_a_worker_that_is_not_there_fail(tmp_path: Path) -> None:
    (tmp_path / "worker.log").write_text("never started\n")
    absent = WorkerProcess(replace(Settings(), web_port=free_port()), tmp_path / "worker.log")
    with pytest.raises(WorkerUnreachable):
        absent.metric("blindar_events_total")
    with pytest.raises(WorkerUnreachable):
        absent.health()
    with pytest.raises(WorkerUnreachable):
        absent.get("/metrics")
