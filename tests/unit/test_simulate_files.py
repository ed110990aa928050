"""`blindar simulate --out`: a labelled period written to files (no Kafka needed)."""

from __future__ import annotations

from pathlib import Path

import orjson

from detectors.off_hours.roster import load_roster
from detectors.scenarios import SCENARIO_DETECTORS, SCENARIOS
from monitor.cli import main
from monitor.tools.scoring import read_labels

START = "2026-03-02"
START_MS = 1_772_409_600_000  # 2026-03-02T00:00:00Z


def run(tmp_path: Path, *extra: str) -> tuple[list[dict], list[dict]]:
    out, labels = tmp_path / "events.jsonl", tmp_path / "labels.jsonl"
    argv = ["simulate", "--out", str(out), "--labels", str(labels), "--agents", "40"]
    assert main([*argv, "--hours", "24", "--start", START, "--seed", "5", *extra]) == 0
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    docs = [orjson.loads(line) for line in labels.read_bytes().splitlines()]
    return events, docs


def test_period_with_one_labelled_leak_of_every_scenario(tmp_path: Path) -> None:
    events, labels = run(tmp_path)
    assert sorted(label["scenario"] for label in labels) == sorted(SCENARIOS)
    for label in labels:
        assert label["detector"] == SCENARIO_DETECTORS[label["scenario"]]
        assert START_MS <= label["start_ms"] <= label["end_ms"]
    ts = [e["ts"] for e in events]
    assert ts == sorted(ts) and ts[0] >= START_MS
    assert len({e["event_id"] for e in events}) == len(events)
    assert len({e["actor"]["id"] for e in events}) > 10
    injected = sum(1 for e in events if e["event_id"].startswith("inj-"))
    assert injected == sum(label["events"] for label in labels)
    assert len(read_labels(tmp_path / "labels.jsonl")) == len(SCENARIOS)


def test_chosen_scenarios_repeated_after_a_warmup(tmp_path: Path) -> None:
    events, labels = run(tmp_path, "--scenario", "enumeration", "--each", "3", "--warmup-days", "1")
    assert [label["scenario"] for label in labels] == ["enumeration"] * 3
    assert all(label["start_ms"] >= START_MS + 86_400_000 for label in labels)
    assert events[0]["ts"] < START_MS + 86_400_000


def test_normal_only(tmp_path: Path) -> None:
    events, labels = run(tmp_path, "--normal-only")
    assert labels == []
    assert events and not any(e["event_id"].startswith("inj-") for e in events)


def test_unknown_scenario_is_refused(tmp_path: Path) -> None:
    argv = ["simulate", "--out", str(tmp_path / "e.jsonl"), "--scenario", "nope"]
    assert main(argv) == 2
    assert not (tmp_path / "e.jsonl").exists()


def test_roster_of_the_simulated_agents_feeds_off_hours(tmp_path: Path) -> None:
    events, _ = run(tmp_path, "--normal-only", "--roster", str(tmp_path / "roster.yaml"))
    roster = load_roster(str(tmp_path / "roster.yaml"))
    assert len(roster) == 40
    assert {e["actor"]["id"] for e in events} <= set(roster)
    assert all(0 <= shift.start_hour <= 23 and shift.hours == 8 for shift in roster.values())


def test_an_output_in_a_missing_directory_is_refused_before_generating(tmp_path: Path) -> None:
    roster = tmp_path / "nowhere" / "roster.yaml"
    argv = ["simulate", "--out", str(tmp_path / "e.jsonl"), "--roster", str(roster)]
    assert main(argv) == 2
    assert not (tmp_path / "e.jsonl").exists()
