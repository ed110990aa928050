"""Building events and running detectors over an in-process state for unit tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from detectors.base import Detector, Finding
from detectors.event import Event
from detectors.runner import Runner
from detectors.state import MemoryState

T0 = 1_780_000_000_000
MIN = 60_000


def ev(n: int, action: str, ts: int, actor: str = "agent-1", **fields: Any) -> Event:
    return Event(
        event_id=f"e-{n}",
        ts_ms=ts,
        tenant="acme",
        channel="backoffice",
        actor_id=actor,
        action=action,
        actor_team="t-1",
        **fields,
    )


# Detector unit tests judge with 5 minutes of allowed lateness (the worker's default is
# 60): baseline windows close into the history 5 minutes after the watermark passes them.
LATENESS_MS = 5 * 60_000


def run(
    detector: Detector,
    state: MemoryState,
    events: Sequence[Event],
    lateness_ms: int = LATENESS_MS,
) -> list[Finding]:
    """One batch through the detector, on an in-process state."""
    return state.run(Runner([detector], lateness_ms), events)


HOUR = 60 * MIN
Make = Callable[[str], Any]  # key prefix -> the detector
# A detector's exactness case (tests/integration/test_exactness.py): how to build it, and
# batches whose last ones make it page. Each detector folder's test module has one,
# `exactness_case(tmp)`, and a `parity_detector(prefix, roster, clock)` tuned to fire on
# the random traffic of tests/integration/test_state_parity.py.
Case = tuple[Make, list[list[Event]]]


def views(n: int, ts: int, count: int, **fields: Any) -> list[Event]:
    """`count` record.view events of distinct records, a second apart."""
    return [ev(n + i, "record.view", ts + i * 1000, resource_id=f"r{n + i}", **fields)
            for i in range(count)]  # fmt: skip
