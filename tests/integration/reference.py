"""The detection stage run side by side on a real Redis (the Lua scripts) and on the
store's in-process twin (monitor/service/state/memory_store.py), over batches shaped like
at-least-once delivery; and what each store holds afterwards, for comparison."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from detectors.base import Detector
from detectors.event import Event
from detectors.state.shared import ledger
from detectors.state.shared.plan import Plan
from monitor.service.detection import Detection, Outcome
from monitor.service.settings import Settings
from monitor.service.state import MemoryStore
from monitor.service.state.requests import WriteRequest
from tests.detectors.helpers import MIN, T0
from tests.harness import open_store, redis_client
from tests.integration.simulated import detection_on

MakeEvent = Callable[[random.Random, int, int], Event]  # (rng, index, ts_ms) -> a new event
Between = Callable[[int, Detection], Awaitable[Outcome | None]]  # after batch n, e.g. a tick


def redelivered_batches(
    seed: int, batches: int, size: int, step_ms: int, make: MakeEvent
) -> list[list[Event]]:
    """Batch b holds `size` events around T0 + b·step (up to 6 min late, 2 min early),
    about 20 % of them re-deliveries of earlier events."""
    rng = random.Random(seed)
    seen: list[Event] = []
    out = []
    for b in range(batches):
        batch = []
        for _ in range(size):
            if seen and rng.random() < 0.2:
                batch.append(rng.choice(seen))
                continue
            ts = T0 + b * step_ms + rng.randint(-6 * MIN, 2 * MIN)
            event = make(rng, len(seen), ts)
            seen.append(event)
            batch.append(event)
        out.append(batch)
    return out


def outcome_view(outcome: Outcome) -> dict[str, Any]:
    """What a batch produced, comparable across stores."""
    return {
        "findings": outcome.findings,
        "pending": [
            (
                p.field,
                p.kind,
                p.uid,
                p.count,
                p.first_seen_ms,
                bytes(p.payload) if isinstance(p.payload, bytes) else p.payload.encode(),
                p.decided_ms,
            )
            for p in outcome.pending
        ],
        "duplicates": outcome.duplicates,
        "late": outcome.late,
        # one list per Redis Cluster node, concatenated: compared in a fixed order
        "repeats": sorted(outcome.repeats, key=lambda r: (r.key, r.field, r.uid, r.count)),
    }


@dataclass
class Runs:
    """Per batch, what each store's run produced."""

    redis: list[dict[str, Any]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)


async def run_both(
    settings: Settings,
    make: Callable[[str], Sequence[Detector]],
    batches: list[list[Event]],
    between: Callable[[int, Detection], Awaitable[Outcome | None]] | None = None,
) -> tuple[Runs, MemoryStore]:
    """Every batch through a Redis-backed and a memory-backed detection stage (each its
    own detectors), alerts confirmed after each batch as the worker does."""
    store = await open_store(settings)
    on_redis = detection_on(store, settings.redis_prefix, make(settings.redis_prefix))
    memory = MemoryStore()
    in_memory = detection_on(memory, settings.redis_prefix, make(settings.redis_prefix))
    runs = Runs()
    try:
        for n, batch in enumerate(batches):
            for detection, out in ((on_redis, runs.redis), (in_memory, runs.memory)):
                now = max((e.ts_ms for e in batch), default=T0 + n * MIN)
                outcome = await detection.run(batch, now)
                if between is not None:
                    extra = await between(n, detection)
                    if extra is not None:
                        outcome.findings += extra.findings
                        outcome.pending += extra.pending
                alerts = [detection.alerts.alert(p) for p in outcome.pending]
                await detection.record_alerts(alerts, outcome.repeats, now)
                await detection.store.confirm(outcome.pending)
                out.append(outcome_view(outcome))
    finally:
        await store.aclose()
    return runs, memory


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _normal(value: Any) -> Any:
    """JSON-ish values with every number a float (cjson and Python format them differently)."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return _number(value)


def owner_fields(raw: dict[Any, Any]) -> dict[str, Any]:
    """An owner hash as comparable values (the batch write token left out)."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        name = name.decode() if isinstance(name, bytes) else name
        if name == "w":
            continue
        if isinstance(value, dict):  # the memory store keeps alert records as dicts
            value = orjson.loads(orjson.dumps(value, default=_text))
        elif name in ("v", "n"):
            value = int(value)
        elif isinstance(value, bytes | str) and name not in ("P",):
            text = value.decode() if isinstance(value, bytes) else value
            value = orjson.loads(text) if text[:1] in "[{" else _int_or_text(text)
        if name == "P" and not isinstance(value, list):
            value = orjson.loads(value)
        out[name] = _normal(value)
    return out


def _int_or_text(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(type(value))


def redis_owners(settings: Settings, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    client = redis_client(settings)
    try:
        return {key: owner_fields(client.hgetall(key)) for key in keys}
    finally:
        client.close()


def memory_owners(store: MemoryStore, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {key: owner_fields(store.data.get(key, {})) for key in keys}


def owner_keys(store: MemoryStore) -> list[str]:
    """Keys of owner hashes (actors, and channels/addresses that hold alerts)."""
    return sorted(
        key
        for key, value in store.data.items()
        if isinstance(value, dict)
        and ("v" in value or "P" in value or any(str(f).startswith("!") for f in value))
    )


def ledger_keys(store: MemoryStore) -> list[str]:
    """The assurance ledger's keys the run wrote (the guard of dead letters aside)."""
    guards = (":ledger:dead", ":ledger:calls")
    return sorted(k for k in store.data if "ledger:" in k and not k.endswith(guards))


async def ledger_answers(store: Any, keys: Sequence[str]) -> list[Any]:
    """What the ledger's read queries answer for these keys, on either store."""
    plan = Plan()
    for key in keys:
        if key.endswith((":n", ":a")):
            ledger.read_day(plan, key[:-1] + "n", key[:-1] + "a")
        elif key.endswith(":m"):
            ledger.read_minutes(plan, key)
        else:
            ledger.read_snapshot(plan, key)
    reply = await store.write(WriteRequest([], plan, T0, 0, 0))
    return reply.answers
