"""Issue 20, item 1, end to end on the real Kafka and Redis with a worker subprocess:
- a worker with no trusted source (the shipped config) says which controls are not in
  force: a WARNING at start and `/health`'s `controls_not_in_force`;
- the demo's pieces (`make demo`): the simulator writes its population's assignments
  file, the worker trusts it, and the injected cross_tenant scenario pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.service.settings import REPO_ROOT, Settings
from tests.harness import (
    TopicReader,
    blindar,
    running_worker,
    wait_until,
    worker_env,
    worker_in_namespace,
)

pytestmark = pytest.mark.services


def not_in_force(health: dict) -> set[tuple[str, str]]:
    return {(r["control"], r["needs"]) for r in health["controls_not_in_force"]}


def test_a_worker_without_a_trusted_source_says_what_is_not_in_force(
    services: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with worker_in_namespace(log) as (_settings, worker):
        health = worker.health()
        assert health["status"] == "ok"  # runs, with less: not degraded
        missing = not_in_force(health)
        assert ("cross_tenant", "trusted tenants") in missing
        assert ("access_burst.compare_team", "trusted team") in missing
        assert ("orphan_access.exempt_actor_types", "trusted type") in missing
    [warning] = [line for line in log.read_text().splitlines() if "controls NOT in force" in line]
    assert "WARNING" in warning and "cross_tenant (needs trusted tenants" in warning


def cross_tenant_alerts(alerts: TopicReader) -> list[dict]:
    return [
        a
        for a in alerts.poll(0.3) and alerts.values()
        if a["finding_info"]["analytic"]["name"] == "cross_tenant"
    ]


def test_the_demo_s_cross_tenant_scenario_pages_with_the_simulator_s_assignments(
    settings: Settings, tmp_path: Path
) -> None:
    """As deploy/local/demo.sh runs it: `simulate --assignments-only` before the worker,
    the worker on BLINDAR_ASSIGNMENTS_FILE, then the live simulator with the scenario."""
    assignments = tmp_path / "assignments.yaml"
    rate = ["--rate", "40"]
    written = blindar(settings, "simulate", *rate, "--assignments", str(assignments),
                      "--assignments-only")  # fmt: skip
    assert written.returncode == 0, written.stderr
    actors = yaml.safe_load(assignments.read_text())["actors"]
    env = {"BLINDAR_ASSIGNMENTS_FILE": str(assignments)}
    with running_worker(settings, tmp_path / "worker.log", env) as worker:
        assert "cross_tenant" not in {c for c, _ in not_in_force(worker.health())}
        alerts = TopicReader(settings, settings.alerts_topic)
        with (tmp_path / "simulator.log").open("wb") as out:
            simulator = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "simulate", *rate,
                 "--scenario", "cross_tenant", "--scenario-delay", "3", "--duration", "180"],
                cwd=REPO_ROOT, env=worker_env(settings), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            try:
                paged = wait_until(lambda: cross_tenant_alerts(alerts), 150, what="a page")
            finally:
                simulator.terminate()
                simulator.wait(30)
        alerts.close()
    # One actor paged, judged against the file's tenants (not its events' claims).
    assert len({a["actor"]["user"]["uid"] for a in paged}) == 1
    data = paged[0]["evidences"][0]["data"]
    actor = paged[0]["actor"]["user"]["uid"]
    assert data["assignment_from"] == "assignments_file"
    assert data["assigned_tenants"] == sorted(actors[actor]["tenants"])
    assert not set(data["record_tenants"]) & set(actors[actor]["tenants"])
