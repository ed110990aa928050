"""A SIGTERM while a batch waits on Redis never commits that batch: the next worker gets
it again and processes it, nothing lost (a private Redis paused with CLIENT PAUSE)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service.settings import Settings
from tests.faults.servers import RedisServer
from tests.faults.workload import committed_behind, wait_all_committed
from tests.harness import (
    TopicReader,
    WorkerProcess,
    drop_namespace,
    isolated_settings,
    produce,
    provision,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]
EXPORTS = 20  # 20 x 30 records: one bulk_export page once all of them count


@pytest.fixture
def on_private_redis(services: Settings, private_redis: RedisServer) -> Iterator[Settings]:
    settings = isolated_settings(redis_url=private_redis.url)
    provision(settings)
    yield settings
    private_redis.admin().execute_command("CLIENT", "UNPAUSE")
    drop_namespace(settings)


def export(n: int) -> dict:
    return {
        "event_id": f"term-{n}",
        "ts": int(time.time() * 1000) - 5_000,
        "tenant": "acme",
        "action": "record.export",
        "actor": {"id": "agent-term"},
        "records": 30,
    }


def test_sigterm_during_a_paused_batch_commits_nothing_and_the_batch_is_redone(
    on_private_redis: Settings, private_redis: RedisServer, tmp_path: Path
) -> None:
    settings = on_private_redis
    alerts = TopicReader(settings, settings.alerts_topic)
    first = WorkerProcess(settings, tmp_path / "first.log").start()
    try:
        first.wait_ready()
        private_redis.admin().execute_command("CLIENT", "PAUSE", "60000", "WRITE")
        produce(settings, "backoffice", [export(n) for n in range(EXPORTS)])
        # A batch closes 250 ms after its first message: on a loaded machine the 20
        # messages may arrive as two batches, the second waiting behind the first. The
        # batch may also wait behind the periodic silence check, itself paused on Redis.
        wait_until(
            lambda: first.metric("blindar_batch_in_flight_messages") >= 1,
            30,
            what="a batch taken and waiting on Redis",
        )
        time.sleep(4)  # longer than faust's commit interval, still mid-batch
        assert first.metric("blindar_events_total") == 0
        assert first.stop(timeout=20) != -signal.SIGKILL  # it stopped by itself, promptly
    finally:
        first.stop()
    assert "stopped mid-batch" in first.log_tail(200)
    assert committed_behind(settings) == EXPORTS
    private_redis.admin().execute_command("CLIENT", "UNPAUSE")

    second = WorkerProcess(settings, tmp_path / "second.log").start()
    try:
        second.wait_ready()
        wait_all_committed(settings)
        assert second.metric("blindar_events_total") == EXPORTS
        [alert] = alerts.wait_for(1, timeout=60, settle=1.0)
        assert alert["evidences"][0]["data"]["records_exported"] == EXPORTS * 30
    finally:
        second.stop()
