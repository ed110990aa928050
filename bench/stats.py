"""The benchmark's arithmetic, kept pure so it is unit-tested: rates over the middle of a
run from sampled counters, percentiles from raw samples, medians, and the ratios line."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Share of the input cut at each end: the rate is taken from 10 % to 90 % of the events.
EDGE_SHARE = 0.1
# Fewer samples than this inside the middle 80 %: the run was too short, time it whole.
MIN_MIDDLE_SAMPLES = 8

RATIO_NAMES = (
    "events_per_s",
    "bare_faust",
    "blindar/bare",
    "worker_us",
    "redis_us",
    "quix_events_per_s",
    "blindar2/quix",
    "envelope_events_per_s",
    "workers2/workers1",
    "p99_s",
    "rejected",
)


@dataclass(frozen=True)
class Sample:
    """Counters read at one instant of a run (seconds on a monotonic clock)."""

    t: float
    events: float
    cpu_s: float = 0.0
    redis_cpu_s: float = 0.0
    redis_commands: float = 0.0
    ready: bool | None = None  # partitions assigned (None: the consumer does not say)


@dataclass(frozen=True)
class Span:
    """What a run did between two instants: events, seconds and resources spent."""

    events: float
    seconds: float
    cpu_s: float
    redis_cpu_s: float
    redis_commands: float
    whole_run: bool  # True: timed from the first to the last event (too short for 80 %)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.nan

    def per_event_us(self, seconds: float) -> float:
        return seconds / self.events * 1e6 if self.events else math.nan


def _at_count(samples: Sequence[Sample], count: float) -> Sample:
    """The run's counters when its event count reached `count`, linearly interpolated
    between the last sample below it and the first at or above it."""
    for before, after in itertools.pairwise(samples):
        if after.events >= count > before.events:
            share = (count - before.events) / (after.events - before.events)
            rows = zip(_row(before), _row(after), strict=True)
            return Sample(*(b + (a - b) * share for b, a in rows), ready=after.ready)
    if samples and samples[0].events >= count:
        return samples[0]
    raise ValueError(f"the samples never reach {count} events")


def _row(sample: Sample) -> tuple[float, ...]:
    return (sample.t, sample.events, sample.cpu_s, sample.redis_cpu_s, sample.redis_commands)


def _between(first: Sample, last: Sample, whole_run: bool) -> Span:
    return Span(
        events=last.events - first.events,
        seconds=last.t - first.t,
        cpu_s=last.cpu_s - first.cpu_s,
        redis_cpu_s=last.redis_cpu_s - first.redis_cpu_s,
        redis_commands=last.redis_commands - first.redis_commands,
        whole_run=whole_run,
    )


def middle_span(samples: Sequence[Sample], total: int) -> Span:
    """Rate and costs over the middle 80 % of `total` events (from the sample series of a run
    that reached `total`). A run with fewer than MIN_MIDDLE_SAMPLES samples inside that
    middle (too short, or counting in a few large steps) is timed whole instead, flagged
    `whole_run`: to the first sample at `total`, from the last sample taken before the
    consumer had partitions (when it says) or else before its first event."""
    ordered = sorted(samples, key=lambda s: s.t)
    if not ordered or ordered[-1].events < total:
        raise ValueError(f"the run did not reach {total} events")
    low, high = EDGE_SHARE * total, (1 - EDGE_SHARE) * total
    inside = [s for s in ordered if low <= s.events <= high]
    if len(inside) >= MIN_MIDDLE_SAMPLES:
        return _between(_at_count(ordered, low), _at_count(ordered, high), whole_run=False)
    if any(s.ready is not None for s in ordered):
        waiting = [s for s in ordered if s.ready is False]
    else:
        waiting = [s for s in ordered if s.events == 0]
    start = waiting[-1] if waiting else ordered[0]
    end = next(s for s in ordered if s.events >= total)
    return _between(start, end, whole_run=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of raw samples by the nearest-rank method: always one of the
    samples, never an interpolation."""
    if not values:
        return math.nan
    if not 0 <= q <= 1:
        raise ValueError("q must be within 0..1")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """Median of the finite values (NaN when there are none)."""
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def median_of_runs(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Figure by figure, the median over repeated runs of the same kind."""
    keys = [k for k in runs[0] if all(_is_number(r.get(k)) for r in runs)]
    return {key: median([float(r[key]) for r in runs]) for key in keys}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def ratios_line(ratios: Mapping[str, float]) -> str:
    """The last line `make bench` prints: names and order fixed (RATIO_NAMES)."""
    missing = [name for name in RATIO_NAMES if name not in ratios]
    if missing:
        raise ValueError(f"ratios line: missing {', '.join(missing)}")
    parts = [f"{name}={_format(name, ratios[name])}" for name in RATIO_NAMES]
    return "ratios: " + " ".join(parts)


def _format(name: str, value: float) -> str:
    if math.isnan(value):
        return "nan"
    if name in ("events_per_s", "bare_faust", "quix_events_per_s", "envelope_events_per_s"):
        return str(round(value))
    if name == "rejected":
        return str(int(value))
    if name in ("worker_us", "redis_us"):
        return f"{value:.1f}"
    if name == "p99_s":
        return f"{value:.3f}"
    return f"{value:.2f}"
