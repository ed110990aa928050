"""Backtest scoring and the replay's pure helpers (no services)."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from monitor.tools.replay import batches, scratch_url
from monitor.tools.scoring import (
    DAY_MS,
    Label,
    Page,
    agent_days,
    format_table,
    read_labels,
    score,
)

MIN = 60_000
T0 = 1_780_000_000_000


def label(detector: str = "bulk_export", actor: str = "a1", start: int = 0, end: int = 10) -> Label:
    return Label(f"{detector}-scenario", detector, "acme", actor, T0 + start * MIN, T0 + end * MIN)


def page(detector: str = "bulk_export", actor: str = "a1", end: int = 5, width: int = 15) -> Page:
    return Page(detector, "acme", actor, T0 + (end - width) * MIN, T0 + end * MIN)


def test_a_page_inside_the_label_is_a_true_positive() -> None:
    scores = score(["bulk_export"], [label()], [page(end=5)])
    s = scores["bulk_export"]
    assert (s.labels, s.pages, s.tp, s.fp, s.fn) == (1, 1, 1, 0, 0)
    assert s.precision == 1.0 and s.recall == 1.0


@pytest.mark.parametrize(
    ("end", "hit"),
    [
        (-5, True),  # ends right at start - slack (5 min)
        (-6, False),  # a page that ended before the scenario began (beyond the slack)
        (40, True),  # window starts at end + window (15 min): still overlaps
        (41, False),  # window starts after the label's end + window
    ],
)
def test_overlap_bounds(end: int, hit: bool) -> None:
    s = score(["bulk_export"], [label(start=0, end=10)], [page(end=end)])["bulk_export"]
    assert (s.tp, s.fp, s.fn) == ((1, 0, 0) if hit else (0, 1, 1))


def test_other_actor_tenant_or_detector_does_not_match() -> None:
    lab = label()
    assert not page(actor="a2").matches(lab, 5 * MIN)
    assert not Page("bulk_export", "other", "a1", T0, T0 + MIN).matches(lab, 5 * MIN)
    assert not page(detector="enumeration").matches(lab, 5 * MIN)


def test_false_positives_counted_apart_on_another_scenarios_actor() -> None:
    labels = [label("bulk_export", "a1"), label("enumeration", "a2")]
    pages = [
        page("bulk_export", "a1"),  # TP
        page("bulk_export", "a2"),  # FP on the enumeration scenario's actor
        page("bulk_export", "a3"),  # FP on normal traffic
        page("enumeration", "a9"),  # FP, and the enumeration label is missed
    ]
    scores = score(["bulk_export", "enumeration"], labels, pages)
    bulk, enum = scores["bulk_export"], scores["enumeration"]
    assert (bulk.pages, bulk.tp, bulk.fp, bulk.fp_on_scenarios, bulk.fn) == (3, 1, 2, 1, 0)
    assert bulk.precision == pytest.approx(1 / 3)
    assert (enum.pages, enum.tp, enum.fp, enum.fn, enum.recall) == (1, 0, 1, 1, 0.0)
    assert enum.missed == ["enumeration-scenario acme/a2"]


def test_two_pages_on_one_label_are_two_true_positives_one_detection() -> None:
    s = score(["bulk_export"], [label(end=60)], [page(end=5), page(end=50)])["bulk_export"]
    assert (s.pages, s.tp, s.detected, s.fn, s.recall) == (2, 2, 1, 0, 1.0)


def test_detectors_that_did_not_run_are_left_out() -> None:
    scores = score(["bulk_export"], [label("orphan_access")], [page("orphan_access")])
    assert list(scores) == ["bulk_export"]
    assert scores["bulk_export"].labels == 0
    assert scores["bulk_export"].precision is None and scores["bulk_export"].recall is None


def test_false_alert_rate_per_1000_agent_days() -> None:
    s = score(["bulk_export"], [], [page(actor="a3"), page(actor="a4")])["bulk_export"]
    assert s.false_per_1000_agent_days(500.0) == pytest.approx(4.0)
    assert s.false_per_1000_agent_days(0.0) is None
    assert agent_days(500, T0, T0 + DAY_MS) == pytest.approx(500.0)
    assert agent_days(500, T0, T0 + DAY_MS // 4) == pytest.approx(125.0)
    assert agent_days(500, None, None) == 0.0


def test_table_lists_every_detector() -> None:
    scores = score(["bulk_export", "enumeration"], [label()], [page()])
    text = format_table(scores, 500.0)
    assert "precision" in text and "recall" in text
    row = next(line for line in text.splitlines() if line.startswith("bulk_export"))
    assert row.split()[1:6] == ["1", "1", "1", "0", "0"]
    assert next(line for line in text.splitlines() if line.startswith("enumeration"))


def test_read_labels_json_lines_and_array(tmp_path: Path) -> None:
    docs = [
        {"scenario": "s1", "detector": "bulk_export", "tenant": "acme", "actor": "a1",
         "start_ms": 1, "end_ms": 2, "events": 4},
        {"scenario": "s2", "detector": "enumeration", "tenant": "acme", "actor": "a2",
         "start_ms": 3, "end_ms": 4},
    ]  # fmt: skip
    lines = tmp_path / "labels.jsonl"
    lines.write_bytes(b"\n".join(orjson.dumps(d) for d in docs) + b"\n\n")
    array = tmp_path / "labels.json"
    array.write_bytes(orjson.dumps(docs, option=orjson.OPT_INDENT_2))
    expected = [
        Label("s1", "bulk_export", "acme", "a1", 1, 2),
        Label("s2", "enumeration", "acme", "a2", 3, 4),
    ]
    assert read_labels(lines) == expected
    assert read_labels(array) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/15"),
        ("rediss://u:p@host:6380/2?db=3&ssl_cert_reqs=none", "rediss://u:p@host:6380/15?ssl_cert_reqs=none"),
    ],
)  # fmt: skip
def test_scratch_url_points_at_the_scratch_db(url: str, expected: str) -> None:
    assert scratch_url(url, 15) == expected


def test_batches_stream_lines_with_their_numbers() -> None:
    data = b'{"a":1}\n\n{"a":2}\n{"a":3}\n{"a":4}'
    out = list(batches(io.BytesIO(data), 2, "replay"))
    assert [[m.offset for m in msgs] for msgs, _ in out] == [[1, 3], [4, 5]]
    assert [m.value for m in out[0][0]] == [b'{"a":1}', b'{"a":2}']
    assert out[-1][1] == len(data)
