"""Opt-in raw latency samples for the benchmark (off unless BLINDAR_LATENCY_LOG names a file).

After a batch's effects are durable, the pipeline appends each of its events' decision
time minus event time, in milliseconds, as little-endian signed 64-bit integers. A
benchmark that stamps events with their produce time reads exact percentiles from it.
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Sequence
from pathlib import Path

from detectors.event import Event

ENV = "BLINDAR_LATENCY_LOG"


class LatencyLog:
    """Appends one int64 per decided event to a file."""

    def __init__(self, path: str | Path) -> None:
        self.file = open(path, "ab")  # noqa: SIM115 (open for the worker's lifetime)

    def record(self, events: Sequence[Event], decided_ms: int) -> None:
        samples = array("q", [decided_ms - event.ts_ms for event in events])
        if sys.byteorder != "little":
            samples.byteswap()
        self.file.write(samples.tobytes())
        self.file.flush()

    @classmethod
    def from_env(cls) -> LatencyLog | None:
        path = os.environ.get(ENV)
        return cls(path) if path else None


def read_latency_ms(path: str | Path) -> array:
    """Every sample written to a latency log, in milliseconds."""
    samples = array("q", Path(path).read_bytes())
    if sys.byteorder != "little":
        samples.byteswap()
    return samples
