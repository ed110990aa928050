"""Faults on real servers: kill -9, Redis outage, Redis data loss, broker restart, and a
worker lost from a group of two. Each test plays a known workload (simulated traffic,
injected leaks, malformed messages), applies the fault mid-stream, lets the system
recover, then checks against ground truth (tests/faults/workload.py): one page uid per
leak and no other page, exact Redis counters, every malformed message dead-lettered,
every input offset committed."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from monitor.service.kafka_io import client_config
from monitor.service.settings import Settings
from tests.faults.servers import KafkaServer, RedisServer
from tests.faults.workload import (
    Outcome,
    build,
    check_all,
    committed_behind,
    produce_stream,
    wait_all_committed,
)
from tests.harness import TopicReader, WorkerProcess, free_port, wait_until

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

# Small batches and a short session timeout: a kill lands mid-batch, a lost worker's
# partitions move within seconds.
WORKER_ENV = {"BLINDAR_BATCH_SIZE": "200", "BLINDAR_KAFKA_SESSION_TIMEOUT_MS": "10000"}
RATE = 1000.0  # messages per second while a fault is applied mid-stream


STARTED: list[WorkerProcess] = []


@pytest.fixture(autouse=True)
def stop_workers() -> Iterator[None]:
    """Workers a test started are stopped even when it fails half way."""
    yield
    while STARTED:
        STARTED.pop().stop()


def start_worker(settings: Settings, log: Path) -> WorkerProcess:
    worker = WorkerProcess(settings, log, WORKER_ENV).start()
    STARTED.append(worker)
    worker.wait_ready()
    return worker


def in_background(settings: Settings, stream: list) -> threading.Thread:
    thread = threading.Thread(target=produce_stream, args=(settings, stream, RATE), daemon=True)
    thread.start()
    return thread


def report(name: str, outcome: Outcome, **extra: float) -> None:
    extras = " ".join(f"{k}={v:g}" for k, v in extra.items())
    print(
        f"\n[{name}] events={outcome.events} pages={outcome.pages} "
        f"page_messages={outcome.page_messages} sums_compared={outcome.sums_compared} "
        f"export_ids_compared={outcome.ids_compared} windows_compared={outcome.windows_compared} "
        f"records_compared={outcome.records_compared} "
        f"invalid={outcome.invalid} dead_letters={outcome.dead_letters} "
        f"dead_letter_offsets={outcome.letter_positions} {extras}"
    )


def test_kill_9_mid_batch_then_restart(private: Settings, tmp_path: Path) -> None:
    work = build(seed=1)
    alerts = TopicReader(private, private.alerts_topic)
    first = start_worker(private, tmp_path / "first.log")
    producer = in_background(private, work.stream)
    third = len(work.events) // 3
    wait_until(lambda: first.metric("blindar_events_total") >= third, 60, what="a third done")
    first.stop(signal.SIGKILL)
    producer.join(60)
    second = start_worker(private, tmp_path / "second.log")
    outcome = check_all(private, work, alerts)
    after = second.metric("blindar_events_total")
    # The restarted worker redid what the dead one had not committed: more than the rest.
    assert after > len(work.events) - third
    report("kill -9", outcome, processed_after_restart=after)
    second.stop()


def test_redis_down_15s_worker_waits_and_acks_nothing(
    private: Settings, private_redis: RedisServer, tmp_path: Path
) -> None:
    work = build(seed=2)
    half = len(work.stream) // 2
    alerts = TopicReader(private, private.alerts_topic)
    worker = start_worker(private, tmp_path / "worker.log")
    produce_stream(private, work.stream[:half])
    wait_all_committed(private)
    done_before = worker.metric("blindar_events_total")

    private_redis.stop()
    down_at = time.monotonic()
    produce_stream(private, work.stream[half:])
    wait_until(lambda: worker.health().get("status") == "degraded", 30, what="/health degraded")
    problems = {p["name"] for p in worker.health()["problems"]}
    assert "redis" in problems
    time.sleep(max(0.0, 15 - (time.monotonic() - down_at)))  # the outage lasts 15 s
    # Nothing of the second half took effect or was committed while Redis was away.
    assert committed_behind(private) == len(work.stream) - half
    assert worker.metric("blindar_events_total") == done_before
    assert worker.metric("blindar_redis_errors_total") > 0

    private_redis.start()
    outage_s = time.monotonic() - down_at
    outcome = check_all(private, work, alerts)
    wait_until(lambda: worker.health().get("status") == "ok", 30, what="/health ok again")
    assert outcome.dead_letters == outcome.invalid, "an outage re-processes nothing"
    report("redis down 15s", outcome, outage_s=outage_s)
    worker.stop()


def test_redis_back_empty_is_reported_and_state_rebuilds(
    private: Settings, private_redis: RedisServer, tmp_path: Path
) -> None:
    before = build(seed=3)
    alerts = TopicReader(private, private.alerts_topic)
    worker = start_worker(private, tmp_path / "worker.log")
    produce_stream(private, before.stream)
    wait_all_committed(private)

    private_redis.wipe()
    private_redis.start()
    lost_at = int(time.time() * 1000)
    after = build(seed=4)
    produce_stream(private, after.stream)
    outcome = check_all(
        private,
        after,
        alerts,
        since_ms=lost_at,
        earlier_invalid=frozenset(raw for _, _, raw in before.invalid),
    )
    assert worker.proc is not None and worker.proc.poll() is None, "worker keeps running"
    assert worker.metric("blindar_redis_state_lost_total") == 1
    assert outcome.dead_letters == outcome.invalid
    assert "redis state lost" in worker.log_path.read_text()
    report("redis back empty", outcome)
    worker.stop()


def test_broker_restart_mid_stream(
    private: Settings, private_kafka: KafkaServer, tmp_path: Path
) -> None:
    work = build(seed=5)
    alerts = TopicReader(private, private.alerts_topic)
    worker = start_worker(private, tmp_path / "worker.log")
    producer = in_background(private, work.stream)
    third = len(work.events) // 3
    wait_until(lambda: worker.metric("blindar_events_total") >= third, 60, what="a third done")
    started = time.monotonic()
    private_kafka.restart()
    restart_s = time.monotonic() - started
    producer.join(120)
    outcome = check_all(private, work, alerts)
    assert worker.proc is not None and worker.proc.poll() is None, "worker kept running"
    report("broker restart", outcome, broker_restart_s=restart_s)
    worker.stop()


def group_members(settings: Settings) -> dict[str, int]:
    """The broker's view of the worker group: member id -> number of partitions assigned."""
    admin = AdminClient(client_config(settings))
    future = admin.describe_consumer_groups([settings.group_id])[settings.group_id]
    group = future.result(timeout=10)
    return {m.member_id: len(m.assignment.topic_partitions) for m in group.members}


def test_two_workers_one_killed_partitions_move(private: Settings, tmp_path: Path) -> None:
    work = build(seed=6)
    alerts = TopicReader(private, private.alerts_topic)
    first = start_worker(private, tmp_path / "first.log")
    total = first.health()["assigned_partitions"]
    second = start_worker(replace(private, web_port=free_port()), tmp_path / "second.log")
    wait_until(
        lambda: sorted(group_members(private).values()) == sorted([total // 2, total - total // 2]),
        90,
        1.0,
        "both workers in the group, partitions split",
    )
    producer = in_background(private, work.stream)
    third = len(work.events) // 3

    def both_deciding() -> bool:
        # The stream opens on one actor's burst, keyed to one worker's partitions: the
        # other worker's first decision may come a moment after a third of the work is done.
        counts = [w.metric("blindar_events_total") for w in (first, second)]
        return min(counts) > 0 and sum(counts) >= third

    wait_until(both_deciding, 60, what="a third done, both workers deciding")
    first.stop(signal.SIGKILL)
    producer.join(60)
    wait_until(
        lambda: list(group_members(private).values()) == [total],
        60,
        1.0,
        "the survivor to own every partition",
    )
    outcome = check_all(private, work, alerts)
    report("one of two workers killed", outcome, partitions=total)
    second.stop()
