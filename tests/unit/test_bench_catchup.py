"""The catch-up benchmark's pure parts: sizing the data from a probe, pages from dlp.alerts
documents, the page comparison, metric sums and the drain-time extrapolation."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bench.catchup import (
    OUTAGE_HOURS,
    RATE_FACTORS,
    alert_pages,
    compare_pages,
    drain_seconds,
    drain_seconds_live,
    duration_text,
    events_for,
    extrapolate,
    metric_sums,
    outage_line,
)


def alert(detector: str, tenant: str, actor: str, type_uid: int = 200401) -> dict:
    return {
        "type_uid": type_uid,
        "finding_info": {"analytic": {"name": detector}},
        "metadata": {"tenant_uid": tenant},
        "actor": {"user": {"uid": actor}},
    }


def test_events_for_scales_the_probe_rate_to_the_minutes() -> None:
    # 20,000 events over 300 s is 66.7 events/s: 30 minutes is 120,000 events
    assert events_for(30, 20_000, 300.0) == 120_000
    assert events_for(0.5, 10, 60.0) == 5
    with pytest.raises(ValueError):
        events_for(30, 20_000, 0.0)


def test_alert_pages_counts_creates_not_updates() -> None:
    docs = [
        alert("bulk_export", "t1", "a1"),
        alert("bulk_export", "t1", "a1", type_uid=200402),  # an update
        alert("bulk_export", "t1", "a1"),
        alert("enumeration", "t2", "a2"),
    ]
    assert alert_pages(docs) == Counter(
        {("bulk_export", "t1", "a1"): 2, ("enumeration", "t2", "a2"): 1}
    )


def test_equal_pages() -> None:
    pages = Counter({("bulk_export", "t1", "a1"): 2, ("enumeration", "t2", "a2"): 1})
    result = compare_pages(pages, Counter(pages))
    assert result["equal"] is True
    assert result["differences"] == []
    assert (result["catchup_pages"], result["live_pages"]) == (3, 3)
    assert (result["catchup_actors"], result["live_actors"]) == (2, 2)


def test_a_missing_page_and_a_different_count_are_both_shown() -> None:
    catchup = Counter({("bulk_export", "t1", "a1"): 2, ("new_device", "t1", "a3"): 1})
    live = Counter({("bulk_export", "t1", "a1"): 1, ("enumeration", "t2", "a2"): 1})
    result = compare_pages(catchup, live)
    assert result["equal"] is False
    assert result["differences"] == [
        {"detector": "bulk_export", "tenant": "t1", "actor": "a1", "catchup": 2, "live": 1},
        {"detector": "enumeration", "tenant": "t2", "actor": "a2", "catchup": 0, "live": 1},
        {"detector": "new_device", "tenant": "t1", "actor": "a3", "catchup": 1, "live": 0},
    ]


def test_drain_time_is_the_backlog_over_the_drain_rate() -> None:
    # 3 h at 100 events/s is 1,080,000 events; at 3,000 events/s: 360 s
    assert drain_seconds(3, 100, 3000) == pytest.approx(360)
    assert drain_seconds(1, 100, 0) == math.inf
    # with traffic still arriving at 100/s the backlog shrinks at 2,900/s
    assert drain_seconds_live(3, 100, 3000) == pytest.approx(1_080_000 / 2900)
    assert drain_seconds_live(3, 3000, 3000) == math.inf


def test_extrapolate_covers_every_outage_at_each_rate() -> None:
    rows = extrapolate(50.0, 2500.0)
    assert len(rows) == len(OUTAGE_HOURS) * len(RATE_FACTORS)
    eight_at_ten = next(r for r in rows if r["hours"] == 8 and r["factor"] == 10)
    assert eight_at_ten["rate"] == 500.0
    assert eight_at_ten["drain_s"] == pytest.approx(8 * 3600 * 500 / 2500)
    assert outage_line(eight_at_ten) == (
        "an 8-hour outage at 500 events/s drains in 1 h 36 min (2 h 00 min with traffic)"
    )


def test_duration_text() -> None:
    assert duration_text(45.2) == "45 s"
    assert duration_text(750) == "12.5 min"
    assert duration_text(3 * 3600 + 5 * 60) == "3 h 05 min"
    assert duration_text(math.inf) == "never"


def test_metric_sums_add_every_label_set() -> None:
    body = "\n".join(
        [
            "# HELP blindar_late_events_total Events later than ...",
            "# TYPE blindar_late_events_total counter",
            'blindar_late_events_total{channel="voice"} 3.0',
            'blindar_late_events_total{channel="email"} 2.0',
            'blindar_late_events_created{channel="email"} 1.7e9',
            "blindar_dropped_late_events_total 0.0",
            'blindar_events_total{channel="voice",action="view"} 10.0',
        ]
    )
    names = ("blindar_late_events_total", "blindar_dropped_late_events_total", "blindar_x")
    assert metric_sums(body, names) == {
        "blindar_late_events_total": 5.0,
        "blindar_dropped_late_events_total": 0.0,
        "blindar_x": 0.0,
    }
