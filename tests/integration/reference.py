"""Detector plans run side by side on a real Redis and on the in-process reference
(detectors.state.MemoryState), over batches shaped like at-least-once delivery."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.base import Detector
from detectors.event import Event
from detectors.state import MemoryState, Plan
from monitor.health import Health
from monitor.settings import Settings
from monitor.state import RedisState, connect
from tests.detectors.helpers import MIN, T0

MakeEvent = Callable[[random.Random, int, int], Event]  # (rng, index, ts_ms) -> a new event
BeforeApply = Callable[[int, Plan], None]  # (batch number, its plan): add to the plan


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


@dataclass
class Answers:
    """Per batch: the query answers from Redis, from the reference, and the query kinds."""

    redis: list[list[Any]] = field(default_factory=list)
    memory: list[list[Any]] = field(default_factory=list)
    kinds: list[list[str]] = field(default_factory=list)


async def run_both(
    settings: Settings,
    detectors: Sequence[Detector],
    batches: list[list[Event]],
    before_apply: BeforeApply | None = None,
) -> Answers:
    """Plan every batch with every detector; apply each plan to Redis and to the reference."""
    client = connect(settings.redis_url)
    store = RedisState(client, Health())
    memory = MemoryState()
    answers = Answers()
    for n, batch in enumerate(batches):
        plan = Plan()
        for detector in detectors:
            detector.plan(batch, plan)
        if before_apply is not None:
            before_apply(n, plan)
        answers.redis.append(await store.apply(plan))
        answers.memory.append(memory.apply_now(plan))
        answers.kinds.append([query[0] for query in plan.queries])
    await client.aclose()
    return answers
