"""Exact under re-delivery, for every detector that can page, on a real Redis.

Each detector's leak (its `exactness_case`, in its folder's test module) is applied batch by
batch three ways:
- once, alerts confirmed after each batch (what a healthy worker does);
- then all over again by a restarted worker (at-least-once delivery after a commit was
  lost): no alert is published again and the stored state does not change;
- in a second namespace, with the worker killed after every batch's state call and
  before Kafka acknowledged its alerts, then restarted on the same batch: the alerts
  published are the very same documents, and the state ends the same.
The state compared is every key, the assurance ledger's too (events counted once, alerts
recorded once).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from detectors.catalog import CATALOG
from detectors.event import Event
from detectors.state.actor import NO_HORIZON
from monitor.service.alerts import Alert
from monitor.service.detection import Detection
from monitor.service.settings import Settings
from tests.detectors.helpers import Case
from tests.harness import drop_namespace, isolated_settings, open_store, redis_client
from tests.integration.simulated import detection_on

pytestmark = [pytest.mark.services, pytest.mark.store]


def case(name: str, tmp: Path) -> Case:
    """The detector's own exactness case, from its folder (detectors/<name>/test_<name>.py)."""
    tests = importlib.import_module(f"detectors.{name}.test_{name}")
    return tests.exactness_case(tmp)  # type: ignore[no-any-return]


def published(alerts: Sequence[Alert]) -> list[bytes]:
    return [orjson.dumps(a.document) for a in alerts]


def horizons(batches: list[list[Event]], lateness_ms: int) -> list[int]:
    """Each batch's horizon as one stream read in order gives it (the newest event time
    before it, less the lateness): a batch read again is read at its own watermark."""
    out, newest = [], NO_HORIZON
    for batch in batches:
        out.append(newest - lateness_ms)
        newest = max(newest, *(e.ts_ms for e in batch))
    return out


async def apply(
    detection: Detection, batch: list[Event], confirm: bool, horizon_ms: int
) -> list[Alert]:
    """One batch as the worker runs it: detection, then (unless it dies first) the alerts
    go to Kafka, into the assurance ledger, and are confirmed."""
    now = max(e.ts_ms for e in batch)
    outcome = await detection.run(batch, now, horizon_ms=horizon_ms)
    alerts = [detection.alerts.alert(p) for p in outcome.pending]
    if confirm:
        await detection.record_alerts(alerts, outcome.repeats, now)
        await detection.store.confirm(outcome.pending)
    return alerts


def stored(settings: Settings) -> dict[str, Any]:
    """Every key of the namespace with its value (the batch write tokens left out)."""
    client = redis_client(settings)
    prefix = settings.redis_prefix
    out: dict[str, Any] = {}
    for key in client.scan_iter(match=f"{prefix}*"):
        name = key.decode()[len(prefix) :]
        kind = client.type(key).decode()
        if kind == "hash":
            value: Any = {f: v for f, v in client.hgetall(key).items() if f != b"w"}
        elif kind == "zset" and name.endswith(":ledger:calls"):
            value = client.zcard(key)  # members name the store calls (write tokens)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        else:
            value = client.get(key)
        out[name] = value
    client.close()
    return out


@pytest.fixture
def second(services: Settings) -> Iterator[Settings]:
    isolated = isolated_settings()
    yield isolated
    drop_namespace(isolated)


NAMES = list(CATALOG)  # every detector can page


@pytest.mark.parametrize("name", NAMES)
def test_redelivery_and_crash_give_the_same_alerts_and_state(
    settings: Settings, second: Settings, tmp_path: Path, name: str
) -> None:
    make, batches = case(name, tmp_path)

    async def scenario() -> tuple[list[list[bytes]], list[list[bytes]], list[list[bytes]]]:
        store = await open_store(settings)

        def restarted(prefix: str) -> Detection:  # a worker with an empty memory
            return detection_on(store, prefix, [make(prefix)])

        once, again, crashed = [], [], []
        worker = restarted(settings.redis_prefix)
        at = horizons(batches, worker.runner.lateness_ms)
        for batch, horizon in zip(batches, at, strict=True):
            once.append(published(await apply(worker, batch, True, horizon)))
        worker = restarted(settings.redis_prefix)
        for batch, horizon in zip(batches, at, strict=True):
            again.append(published(await apply(worker, batch, True, horizon)))
        for batch, horizon in zip(batches, at, strict=True):
            dying = restarted(second.redis_prefix)
            await apply(dying, batch, False, horizon)  # killed before Kafka acknowledged
            after = restarted(second.redis_prefix)
            crashed.append(published(await apply(after, batch, True, horizon)))
        await store.aclose()
        return once, again, crashed

    once, again, crashed = asyncio.run(scenario())
    paged = [doc for docs in once for doc in docs]
    assert paged, f"{name} did not page on its leak"
    assert all(orjson.loads(doc)["finding_info"]["analytic"]["name"] == name for doc in paged)
    rules = {orjson.loads(doc)["evidences"][0]["data"]["rule"] for doc in paged}
    assert rules <= set(CATALOG[name].rules), f"{name}: rules not in its RULES: {rules}"
    assert again == [[] for _ in batches], "re-delivery published alerts again"
    assert crashed == once, "the alerts after a crash differ from a healthy run's"
    state_before = stored(settings)
    assert stored(second) == state_before
    # the ledger counted every event once, though the first namespace saw each twice
    assert ledger_events(settings) == len({e.event_id for batch in batches for e in batch})


def ledger_events(settings: Settings) -> int:
    """Events the assurance ledger counted, over every tenant and day."""
    client = redis_client(settings)
    try:
        counters = client.scan_iter(match=f"{settings.redis_prefix}{{n:*}}:ledger:*:n")
        return sum(
            int(n) for key in counters for f, n in client.hgetall(key).items() if f[:3] == b"ev|"
        )
    finally:
        client.close()
