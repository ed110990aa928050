"""The worker's event-time watermark: how far every input partition has been read.

Per assigned partition, the newest event time read from it (its frontier) and when it
last delivered. The watermark is the lowest frontier over the active partitions: a
partition that delivered nothing for `idle_s` before the latest delivery of any
partition is left out (Flink's idleness; measured against the latest delivery, so when
every channel goes quiet the watermark stays where the last deliveries left it), and
one assigned but not yet heard from holds the watermark for `idle_s` after assignment
(a backlog not yet fetched must not be overtaken).
The watermark never moves back: a partition that returns behind it (a connector back
after hours) has its events judged in the late lane.

Alignment: a partition whose frontier runs more than `align_ms` ahead of the watermark
is paused until the others catch up (FLIP-182), so a catch-up reads every channel in near
event-time order. Only a partition ahead is ever paused: a backlog read in step is never
slowed. Pure bookkeeping: the worker applies the pauses (monitor/service/app.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from detectors.state.actor import NO_HORIZON

Partition = tuple[str, int]  # (topic, partition)


@dataclass(slots=True)
class Frontier:
    """One partition: its newest event time read (None before the first) and when it
    was assigned or last delivered, in wall-clock seconds."""

    event_ms: int | None
    heard_s: float


class Watermarks:
    """Frontiers of the assigned partitions, the monotonic watermark, and alignment."""

    def __init__(self, idle_s: float, align_ms: int) -> None:
        self.idle_s = idle_s
        self.align_ms = align_ms
        self.frontiers: dict[Partition, Frontier] = {}
        self.watermark = NO_HORIZON
        self.paused: set[Partition] = set()

    def assigned(self, partitions: Iterable[Partition], now_s: float) -> None:
        """Partitions handed to this worker: each holds the watermark until it delivers
        or idles (a backlog not yet fetched must not be overtaken)."""
        for tp in partitions:
            self.frontiers.setdefault(tp, Frontier(None, now_s))

    def revoked(self, partitions: Iterable[Partition]) -> None:
        for tp in partitions:
            self.frontiers.pop(tp, None)
            self.paused.discard(tp)

    def read(self, newest: dict[Partition, int], now_s: float) -> None:
        """A batch was read: each partition's newest event time in it."""
        for tp, event_ms in newest.items():
            frontier = self.frontiers.get(tp)
            if frontier is None:
                self.frontiers[tp] = Frontier(event_ms, now_s)
                continue
            frontier.heard_s = now_s
            if frontier.event_ms is None or event_ms > frontier.event_ms:
                frontier.event_ms = event_ms

    def active(self, now_s: float) -> list[Frontier]:
        """Partitions that delivered within `idle_s` of the latest delivery (of now, while
        some are paused: they have data waiting), those assigned within `idle_s` that
        never delivered, and the paused ones (silent because paused: once the others
        idle, they carry the watermark up to themselves)."""
        heard = [f.heard_s for f in self.frontiers.values() if f.event_ms is not None]
        latest = now_s if self.paused else max(heard, default=now_s)
        paused, idle = self.paused, self.idle_s
        return [
            f
            for tp, f in self.frontiers.items()
            if tp in paused
            or (f.event_ms is None and now_s - f.heard_s < idle)
            or (f.event_ms is not None and latest - f.heard_s < idle)
        ]

    def advance(self, now_s: float) -> int:
        """The watermark now: the lowest frontier of the active partitions, never lower
        than before; unchanged while an active partition has not delivered yet."""
        active = self.active(now_s)
        if any(f.event_ms is None for f in active):
            return self.watermark
        known = [f.event_ms for f in active if f.event_ms is not None]
        if known:
            self.watermark = max(self.watermark, min(known))
        return self.watermark

    def alignment(self, now_s: float) -> tuple[list[Partition], list[Partition]]:
        """(to pause, to resume): partitions more than `align_ms` ahead of the watermark
        are paused; paused ones back within it, or no longer assigned, resume."""
        watermark = self.advance(now_s)
        ahead: set[Partition] = set()
        if watermark != NO_HORIZON:
            bound = watermark + self.align_ms
            ahead = {
                tp
                for tp, f in self.frontiers.items()
                if f.event_ms is not None and f.event_ms > bound
            }
        pause = sorted(ahead - self.paused)
        resume = sorted(self.paused - ahead)
        self.paused = ahead
        return pause, resume

    def lag_ms(self) -> dict[str, int]:
        """Per topic, how far its slowest partition's frontier is behind the newest
        frontier of any topic (event time; 0 for the leading topic)."""
        known = {tp: f.event_ms for tp, f in self.frontiers.items() if f.event_ms is not None}
        if not known:
            return {}
        lead = max(known.values())
        slowest: dict[str, int] = {}
        for (topic, _), event_ms in known.items():
            slowest[topic] = min(slowest.get(topic, event_ms), event_ms)
        return {topic: lead - event_ms for topic, event_ms in slowest.items()}


class SingleClock:
    """One clock for a single stream read in event-time order (replay, backtest, tests):
    the watermark is the newest event time of the batches read before."""

    def __init__(self) -> None:
        self.watermark = NO_HORIZON

    def read(self, newest: dict[Partition, int], now_s: float) -> None:
        if newest:
            self.watermark = max(self.watermark, *newest.values())

    def advance(self, now_s: float) -> int:
        return self.watermark
