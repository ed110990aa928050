"""The benchmark's arithmetic: middle-80 % rates from sampled counters, percentiles from raw
samples, medians over repeated runs and the fixed ratios line."""

from __future__ import annotations

import math

import pytest

from bench.stats import (
    RATIO_NAMES,
    Sample,
    median_of_runs,
    middle_span,
    percentile,
    ratios_line,
)


def steady(rate: float, total: int, every: float = 0.1, start: float = 0.0) -> list[Sample]:
    """Samples of a run handling `rate` events/s in batches of 2,000 from t=start, with one
    CPU-second and 0.5 Redis CPU-second per 10,000 events."""
    out, t = [], 0.0
    while True:
        events = min(total, 2000 * int(max(0.0, t - start) * rate / 2000))
        out.append(Sample(t, events, events / 10_000, events / 20_000, events * 3))
        if events >= total:
            return out
        t += every


def test_middle_rate_of_a_steady_run_is_its_rate() -> None:
    span = middle_span(steady(5000, 100_000), 100_000)
    assert not span.whole_run
    assert span.events == pytest.approx(80_000)
    assert span.events_per_s == pytest.approx(5000, rel=0.03)
    assert span.per_event_us(span.cpu_s) == pytest.approx(100, rel=0.03)
    assert span.per_event_us(span.redis_cpu_s) == pytest.approx(50, rel=0.03)
    assert span.redis_commands / span.events == pytest.approx(3, rel=0.03)


def test_startup_and_a_slow_tail_do_not_count() -> None:
    # 5 s of startup with nothing handled, then 10,000 events/s for 90 % of the input,
    # then the last 10 % at 1,000 events/s.
    fast = steady(10_000, 90_000, start=5.0)
    end = fast[-1].t
    tail = [Sample(end + k * 0.1, 90_000 + 100 * k, 9 + k / 100, 0, 0) for k in range(1, 101)]
    span = middle_span([*fast, *tail], 100_000)
    assert not span.whole_run
    assert span.events_per_s == pytest.approx(10_000, rel=0.05)


def test_a_run_too_short_for_the_middle_is_timed_whole() -> None:
    samples = [
        Sample(0.0, 0),
        Sample(0.25, 0),
        Sample(0.5, 30_000),
        Sample(0.75, 60_000),
        Sample(1.0, 60_000),
    ]
    span = middle_span(samples, 60_000)
    assert span.whole_run
    assert span.events == 60_000
    assert span.seconds == pytest.approx(0.5)  # last idle sample to the first complete one
    assert span.events_per_s == pytest.approx(120_000)


def test_a_run_that_never_finished_has_no_rate() -> None:
    with pytest.raises(ValueError, match="did not reach"):
        middle_span(steady(5000, 50_000), 100_000)


def test_percentiles_are_raw_samples_by_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 100 .. 1, unordered on purpose
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1
    skewed = [0.1] * 98 + [7.0, 29.0]
    assert percentile(skewed, 0.99) == 7.0  # a sample, never a value between buckets
    assert percentile([3.5], 0.99) == 3.5
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError):
        percentile(values, 1.5)


def test_median_of_runs_takes_each_figure_separately() -> None:
    runs = [
        {"kind": "blindar", "events_per_s": 6000.0, "worker_us": 110.0, "whole_run": False},
        {"kind": "blindar", "events_per_s": 6500.0, "worker_us": 100.0, "whole_run": True},
        {"kind": "blindar", "events_per_s": 5000.0, "worker_us": 120.0, "whole_run": False},
    ]
    assert median_of_runs(runs) == {"events_per_s": 6000.0, "worker_us": 110.0}


def test_ratios_line_has_fixed_names_and_order() -> None:
    ratios = {
        "rejected": 0,
        "p99_s": 0.8123,
        "events_per_s": 6553.4,
        "bare_faust": 17279.0,
        "blindar/bare": 0.3793,
        "worker_us": 48.04,
        "redis_us": 59.0,
        "quix_events_per_s": 2100.2,
        "blindar2/quix": 4.256,
        "envelope_events_per_s": 5627.0,
        "workers2/workers1": 1.451,
    }
    assert ratios_line(ratios) == (
        "ratios: events_per_s=6553 bare_faust=17279 blindar/bare=0.38 worker_us=48.0 "
        "redis_us=59.0 quix_events_per_s=2100 blindar2/quix=4.26 envelope_events_per_s=5627 "
        "workers2/workers1=1.45 p99_s=0.812 rejected=0"
    )
    names = [part.split("=")[0] for part in ratios_line(ratios).split()[1:]]
    assert names == list(RATIO_NAMES)


def test_ratios_line_refuses_a_missing_figure() -> None:
    with pytest.raises(ValueError, match="p99_s"):
        ratios_line(dict.fromkeys(set(RATIO_NAMES) - {"p99_s"}, 1.0))


def test_a_run_counting_in_large_steps_is_timed_from_its_assignment() -> None:
    # A worker that says when it has partitions, fed batch messages: its count jumps twice.
    samples = [
        Sample(0.0, 0, ready=False),
        Sample(5.0, 0, ready=False),  # still starting up: not part of the run
        Sample(5.25, 0, ready=True),
        Sample(10.0, 0, ready=True),  # the first large batch is being processed
        Sample(15.0, 100_000, ready=True),
        Sample(20.0, 200_000, ready=True),
    ]
    span = middle_span(samples, 200_000)
    assert span.whole_run
    assert span.seconds == pytest.approx(15.0)
    assert span.events_per_s == pytest.approx(200_000 / 15.0)
