"""The baseline detectors on simulated traffic through the real Redis state: each fires on
its own scenario, and normal traffic raises no finding (the false-alert measure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from detectors.base import Detector, Finding
from detectors.off_hours import OffHours, OffHoursConfig
from detectors.scenarios import SCENARIOS
from detectors.tuning import Tuning
from monitor.service.config import load_detectors
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from simulator.files import write_roster
from simulator.periods import inject, merge
from simulator.population import Population
from simulator.traffic import Simulator
from tests.harness import drop_namespace, isolated_settings
from tests.integration.simulated import run_detect

pytestmark = pytest.mark.services

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
START = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday
MINE = ("access_burst", "unmask_rate", "auth_failures", "cumulative_access", "off_hours")


@pytest.fixture
def namespace(services: Settings) -> Iterator[Settings]:
    isolated = isolated_settings()
    yield isolated
    drop_namespace(isolated)


def shipped_detectors(prefix: str, roster: Path) -> list[Detector]:
    """This branch's detectors with the shipped defaults; off_hours reads the roster."""
    settings = load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml")
    tunings = dict(settings.configs)
    off: Tuning[OffHoursConfig] = tunings["off_hours"]
    tunings["off_hours"] = dataclasses.replace(
        off,
        default=dataclasses.replace(off.default, roster_file=str(roster)),
        tenants={
            t: dataclasses.replace(c, roster_file=str(roster)) for t, c in off.tenants.items()
        },
    )
    built = dataclasses.replace(settings, configs={n: tunings[n] for n in MINE})
    return built.build(prefix)


def agent_days(docs: list[dict[str, Any]]) -> int:
    return len({(doc["actor"]["id"], doc["ts"] // DAY_MS) for doc in docs})


def describe(findings: list[Finding]) -> list[str]:
    return [f"{f.detector} {f.actor} {f.title} {f.evidence}" for f in findings[:10]]


def test_normal_day_of_500_agents_raises_no_finding(namespace: Settings, tmp_path: Path) -> None:
    """Day 1 warms the baselines up, day 2 is measured; any finding is a false alert."""
    population = Population(seed=11, agents=500, tenants=4)
    detectors = shipped_detectors(
        namespace.redis_prefix, write_roster(population, tmp_path / "r.yaml")
    )
    docs = list(Simulator(population, seed=11).events(START, 2 * 86_400))
    measured = agent_days([d for d in docs if d["ts"] >= START + DAY_MS])
    findings = run_detect(namespace, detectors, docs)
    print(f"\n{len(docs)} events, {measured} agent-days measured, {len(findings)} findings")
    assert measured >= 300
    assert findings == [], describe(findings)


def test_each_scenario_fires_and_nothing_else_does(namespace: Settings, tmp_path: Path) -> None:
    """Nine days of 60 agents: a week of low-and-slow access from day 1, the other scenarios
    on day 8 once baselines and profiles exist; findings only on the leaking agents."""
    population = Population(seed=5, agents=60, tenants=3)
    roster = write_roster(population, tmp_path / "roster.yaml")
    detectors = shipped_detectors(namespace.redis_prefix, roster)
    learned = OffHours(
        Tuning(OffHoursConfig(timezone="UTC", profile_min_days=7)),
        namespace.redis_prefix + "learned:",
    )
    slow, slow_labels = inject(
        population, ["cumulative_access"], 5, START + DAY_MS, 3600, registry=SCENARIOS
    )
    late, late_labels = inject(
        population,
        ["access_burst", "unmask_rate", "auth_failures", "off_hours"],
        5,
        START + 8 * DAY_MS,
        20 * 3600,
        registry=SCENARIOS,
    )
    normal = list(Simulator(population, seed=5).events(START, 9 * 86_400))
    docs = list(merge(iter(normal), slow + late))
    findings = run_detect(namespace, [*detectors, learned], docs)
    labels = slow_labels + late_labels
    leakers = {label["actor"] for label in labels}
    for label in labels:
        hits = [
            f
            for f in findings
            if (f.detector, f.actor) == (label["detector"], label["actor"])
            and f.evidence.get("rule") != "learned_profile"
        ]
        assert hits, f"{label['scenario']} by {label['actor']} not detected"
        assert any(
            f.window_start_ms <= label["end_ms"] and f.window_end_ms >= label["start_ms"]
            for f in hits
        ), f"{label['scenario']}: no finding overlaps the scenario"

    false = [
        f
        for f in findings
        if f.actor not in leakers and not any(e.startswith("inj-") for e in f.sample_event_ids)
    ]  # (a per-IP auth finding about a scenario carries the scenario's events)
    rules = sorted({(f.detector, f.evidence["rule"]) for f in findings})
    print(
        f"\n{len(docs)} events, {agent_days(normal)} agent-days, {len(findings)} findings, "
        f"{len(false)} on normal agents; rules: {rules}"
    )
    assert false == [], describe(false)
