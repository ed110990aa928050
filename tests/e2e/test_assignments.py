"""cross_tenant takes actor assignments from trusted sources only: the assignments file
(reloaded live) and channels configured as trusted; an event's own actor.tenants on any
other channel is ignored, and the finding says which source decided."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service.settings import REPO_ROOT, Settings
from tests.harness import (
    TopicReader,
    WorkerProcess,
    produce,
    wait_until,
    worker_in_namespace,
)

pytestmark = pytest.mark.services


@pytest.fixture
def configured(services: Settings, tmp_path: Path) -> Iterator[tuple[Settings, WorkerProcess]]:
    config = tmp_path / "config"
    config.mkdir()
    for name in ("channels.yaml", "detectors.yaml"):
        shutil.copy(REPO_ROOT / "deploy" / "config" / name, config / name)
    with (config / "channels.yaml").open("a") as channels:
        channels.write("  iam:\n    trusted: [tenants, team]\n")
    (config / "assignments.yaml").write_text("actors:\n  agent-a: {tenants: [acme], team: t-1}\n")
    with worker_in_namespace(tmp_path / "worker.log", config_dir=config) as running:
        yield running


def view(n: int, actor: str, record_tenant: str, claimed: list[str] | None = None) -> dict:
    actor_doc: dict = {"id": actor}
    if claimed is not None:
        actor_doc["tenants"] = claimed
    return {
        "event_id": f"v-{actor}-{n}",
        "ts": int(time.time() * 1000) - 2000,
        "tenant": "acme",
        "action": "record.view",
        "actor": actor_doc,
        "resource": {"id": f"r-{n}", "tenant": record_tenant},
    }


def cross_tenant(alerts: TopicReader, actor: str) -> list[dict]:
    return [
        a
        for a in alerts.poll(0.3) and alerts.values()
        if a["finding_info"]["analytic"]["name"] == "cross_tenant"
        and a["actor"]["user"]["uid"] == actor
    ]


def test_self_declared_tenants_count_only_on_trusted_channels(
    configured: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = configured
    alerts = TopicReader(settings, settings.alerts_topic)
    # agent-a claims globex on chat; the file says acme only.
    produce(settings, "chat", [view(1, "agent-a", "globex", ["acme", "globex"])])
    [alert] = wait_until(lambda: cross_tenant(alerts, "agent-a"), 60, what="agent-a paged")
    data = alert["evidences"][0]["data"]
    assert data["assignment_from"] == "assignments_file"
    assert data["assigned_tenants"] == ["acme"]

    # agent-b is not in the file: the trusted iam feed assigns acme; a chat event's own
    # claim to globex is ignored and the stored trusted assignment decides.
    produce(settings, "iam", [{**view(2, "agent-b", "acme", ["acme"]), "action": "auth.login"}])
    wait_until(lambda: worker.metric("blindar_events_total") >= 2, 30, what="iam event")
    produce(settings, "chat", [view(3, "agent-b", "globex", ["acme", "globex"])])
    [alert] = wait_until(lambda: cross_tenant(alerts, "agent-b"), 60, what="agent-b paged")
    assert alert["evidences"][0]["data"]["assignment_from"] == "last_seen"

    # The file changes: agent-a now serves globex too; the worker picks it up live.
    path = settings.config_dir / "assignments.yaml"
    path.write_text("actors:\n  agent-a: {tenants: [acme, globex], team: t-1}\n")
    wait_until(
        lambda: worker.metric("blindar_assignment_reloads_total", result="ok") >= 1,
        30,
        what="assignments reloaded",
    )
    before = worker.metric("blindar_events_total")
    produce(settings, "chat", [view(4, "agent-a", "globex")])
    wait_until(lambda: worker.metric("blindar_events_total") > before, 30, what="view counted")
    time.sleep(1.0)
    assert len(cross_tenant(alerts, "agent-a")) == 1, "no new finding for agent-a"
