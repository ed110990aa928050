"""The soak benchmark's summary: RSS growth is the slope after warm-up, per hour."""

from __future__ import annotations

from bench.soak import slope_per_hour, summary


def test_flat_memory_has_no_growth_and_a_leak_shows_its_rate() -> None:
    assert slope_per_hour([(0, 100.0), (1800, 100.0), (3600, 100.0)]) == 0.0
    assert slope_per_hour([(0, 100.0), (1800, 110.0), (3600, 120.0)]) == 20.0
    assert slope_per_hour([(5, 1.0)]) == 0.0


def test_warm_up_samples_do_not_count_toward_growth() -> None:
    points = [(30, 80.0), (270, 140.0), (300, 150.0), (900, 150.0), (1800, 150.0)]
    samples = [{"s": s, "rss_mb": mb, "events": s * 10} for s, mb in points]
    result = summary(samples, 30)
    assert result["growth_mb_per_hour"] == 0.0
    assert (result["rss_first_mb"], result["rss_last_mb"]) == (80.0, 150.0)
    assert result["rss_max_mb"] == 150.0 and result["events"] == 18000
