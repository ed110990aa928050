"""Metrics observed per batch (monitor/service/metrics.py `observe_many`) expose exactly what one
`observe` per value would: the same buckets, count and sum."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from monitor.service import metrics


def histograms() -> tuple[CollectorRegistry, Histogram, CollectorRegistry, Histogram]:
    one, many = CollectorRegistry(), CollectorRegistry()
    kwargs = {"labelnames": ["channel"], "buckets": metrics.LATENCY_BUCKETS}
    return (
        one,
        Histogram("lag_seconds", "lag", registry=one, **kwargs),
        many,
        Histogram("lag_seconds", "lag", registry=many, **kwargs),
    )


def test_observe_many_equals_one_observe_per_value() -> None:
    rng = random.Random(7)
    one, each, many, batched = histograms()
    bounds = [float(b) for b in metrics.LATENCY_BUCKETS]
    for channel in ("chat", "voice"):
        values = [rng.choice(bounds) for _ in range(200)]  # exactly on a bound: le is <=
        values += [rng.uniform(0, 5000) for _ in range(300)] + [0.0, 1e9]
        rng.shuffle(values)
        for value in values:
            each.labels(channel=channel).observe(value)
        metrics.observe_many(batched.labels(channel=channel), values)
        metrics.observe_many(batched.labels(channel=channel), [])
    assert _buckets(one) == _buckets(many)
    assert abs(_sum(one) - _sum(many)) < 1e-6 * _sum(one)


def _buckets(registry: CollectorRegistry) -> list[str]:
    return [
        line
        for line in generate_latest(registry).decode().splitlines()
        if "_sum" not in line and "_created" not in line
    ]


def _sum(registry: CollectorRegistry) -> float:
    lines = generate_latest(registry).decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith("lag_seconds_sum"))
