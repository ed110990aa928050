"""Building events and running detectors over an in-process state for unit tests."""

from __future__ import annotations

from collections.abc import Sequence
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


def run(detector: Detector, state: MemoryState, events: Sequence[Event]) -> list[Finding]:
    """One batch through the detector, on an in-process state."""
    return state.run(Runner([detector]), events)
