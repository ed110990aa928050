"""The realistic population: roles, hours, devices and pace, and the two collector scenarios."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from random import Random
from typing import Any

import pytest

from detectors.cumulative_access.scenario import (
    COLLECTOR_DAYS,
    COVERED_PER_SHIFT,
    UNCOVERED_PER_SHIFT,
)
from detectors.scenarios import SCENARIO_DETECTORS, SCENARIOS
from monitor.service.events import parse_event
from simulator.model import HOUR_MS
from simulator.population import UNIFORM, Population
from simulator.traffic import Simulator
from simulator.workforce import MIXES, REALISTIC, mix_named, traits
from tests.unit.test_simulate import by_actor, check_contract, orphans

START = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday, midnight UTC
DAY = 24 * HOUR_MS
AGENTS = 240  # 16 teams over 4 tenants: every kind of team, back office included
OVERTIME_MS = 2 * HOUR_MS
TOUCHES = {"record.view", "record.search", "record.update", "pii.unmask"}


@pytest.fixture(scope="module")
def population() -> Population:
    return Population(seed=3, agents=AGENTS, tenants=4, mix=REALISTIC)


@pytest.fixture(scope="module")
def days(population: Population) -> list[dict[str, Any]]:
    return list(Simulator(population, seed=3).events(START, 3 * 86_400))


def test_mixes_are_named_and_unknown_ones_refused() -> None:
    assert mix_named("realistic") is REALISTIC and mix_named("uniform") is UNIFORM
    assert set(MIXES) == {"uniform", "realistic"}
    with pytest.raises(ValueError, match="unknown population mix 'x'"):
        mix_named("x")


def test_the_uniform_population_is_unchanged() -> None:
    agents = Population(seed=7).agents
    assert {a.role for a in agents} == {"front"}
    assert {a.shift_hours for a in agents} == {8}
    assert all(not a.workstations and a.days_off == a.team.days_off for a in agents)


def test_realistic_population_has_every_trait(population: Population) -> None:
    counts = Counter(t for agent in population.agents for t in traits(agent))
    assert counts["supervisor"] == len(population.teams)  # one per team
    assert counts["back_office"] >= 15
    for trait, share in (("part_time", 0.15), ("laptop", 0.15), ("two_tenants", 0.1)):
        assert 0.4 * share * AGENTS <= counts[trait] <= 2 * share * AGENTS, trait
    assert counts["hot_desk"] >= 15 and counts["night"] >= 15
    assert {a.role for a in population.agents} == {"front", "supervisor", "back_office"}
    assert all(a.type == "supervisor" for a in population.agents if a.role == "supervisor")


def test_roster_carries_each_agents_own_hours(population: Population) -> None:
    roster = {row["id"]: row for row in population.roster()}
    for agent in population.agents:
        row = roster[agent.id]
        assert row["shift_hours"] == agent.shift_hours and row["role"] == agent.role
        assert row["days_off"] == list(agent.days_off) and row["devices"] == list(agent.devices)
        if "part_time" in row["traits"]:
            assert 4 <= agent.shift_hours <= 6 and len(agent.days_off) in (3, 4)
    assert any(a.shift_start == 22 for a in population.agents)


def test_realistic_events_are_valid_ordered_and_past(days: list[dict[str, Any]]) -> None:
    assert len(days) > 20_000
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for event in days:
        check_contract(event)
        parse_event(event, event["channel"], now_ms)  # the worker's own validation
    stamps = [e["ts"] for e in days]
    assert stamps == sorted(stamps) and stamps[-1] < START + 3 * DAY
    assert len({e["event_id"] for e in days}) == len(days)


def test_agents_work_their_own_shifts_plus_overtime(
    population: Population, days: list[dict[str, Any]]
) -> None:
    late = 0
    for actor, events in by_actor(days).items():
        agent = population.by_id[actor]
        off = [e for e in events if not population.on_shift(agent, e["ts"])]
        assert all(population.on_shift(agent, e["ts"] - OVERTIME_MS) for e in off)
        late += bool(off)
    assert late >= 1  # some overtime happened, and only right after a shift


def test_supervisors_review_and_back_office_works_cases(
    population: Population, days: list[dict[str, Any]]
) -> None:
    actors = by_actor(days)
    reviews = Counter()
    for agent in population.agents:
        events = actors.get(agent.id, [])
        if not events:
            continue
        starts = sum(1 for e in events if e["action"] == "interaction.start")
        if agent.role == "supervisor":
            views = [e for e in events if e["action"] == "record.view"]
            reviews.update(e["resource"]["type"] for e in views)
            assert starts < len(views) / 3  # reviews and look-ups, a few escalations
        elif agent.role == "back_office":
            assert starts == 0 and {e["channel"] for e in events} == {"backoffice"}
            touched = [e for e in events if e["action"] in TOUCHES]
            assert touched and all(e["customer_id"] for e in touched)
            assert orphans(events) > 5  # no interaction covers a case
    assert reviews["recording"] > 50 and reviews["transcript"] > 20


def test_front_line_pace_and_devices(population: Population, days: list[dict[str, Any]]) -> None:
    per_hour = []
    for actor, events in by_actor(days).items():
        agent = population.by_id[actor]
        assert {e["source"]["device_id"] for e in events} <= set(agent.devices)
        usual = set(agent.ips)
        assert all(
            e["source"]["ip"] in usual or e["source"]["ip"].startswith("100.") for e in events
        )
        if agent.role == "front" and "part_time" not in traits(agent):
            shifts = len(list(population.shifts(agent, START, START + 3 * DAY)))
            starts = sum(1 for e in events if e["action"] == "interaction.start")
            per_hour.append(starts / (8 * shifts))
    per_hour.sort()
    assert 3.5 <= per_hour[len(per_hour) // 2] <= 7  # ~40 customers a shift, not ~100


def collector(population: Population, name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    injected = SCENARIOS[name](population, Random(name), START + DAY)
    return injected.events, injected.label


@pytest.mark.parametrize("name", ["uncovered_collector", "covered_collector"])
def test_collectors_last_the_days_of_every_shift(population: Population, name: str) -> None:
    events, label = collector(population, name)
    agent = population.by_id[label["actor"]]
    assert label["detector"] == SCENARIO_DETECTORS[name] == "cumulative_access"
    assert agent.role == "front" and agent.type == "agent" and agent.shift_hours == 8
    assert label["start_ms"] >= START + DAY and label["end_ms"] < START + (1 + COLLECTOR_DAYS) * DAY
    shifts = list(population.shifts(agent, START + DAY, START + (1 + COLLECTOR_DAYS) * DAY))
    assert len(shifts) >= 4
    per_shift = Counter()
    for event in events:
        check_contract(event)
        begin = next(b for b, e in shifts if b <= event["ts"] < e)
        if event["action"] == "record.view":
            per_shift[(begin, event["customer_id"])] += 1
    customers = Counter(begin for begin, _customer in per_shift)
    expected = UNCOVERED_PER_SHIFT if name == "uncovered_collector" else COVERED_PER_SHIFT
    assert len(customers) >= len(shifts) - 2  # a shift cut by the start or end may be skipped
    assert all(0.75 * expected <= n <= 1.25 * expected for n in customers.values())


def test_the_uncovered_collector_views_outside_interactions(population: Population) -> None:
    events, _ = collector(population, "uncovered_collector")
    assert {e["action"] for e in events} == {"record.view"}  # no interaction at all
    assert orphans(events) >= 10  # in an hour: orphan_access's 5 a long way behind


def test_the_covered_collectors_views_sit_inside_short_interactions(
    population: Population,
) -> None:
    events, _ = collector(population, "covered_collector")
    assert orphans(events) == 0
    open_now: dict[str, tuple[str, int]] = {}
    lengths = []
    for event in events:
        if event["action"] == "interaction.start":
            open_now[event["interaction_id"]] = (event["customer_id"], event["ts"])
        elif event["action"] == "interaction.end":
            lengths.append(event["ts"] - open_now.pop(event["interaction_id"])[1])
        else:
            assert open_now[event["interaction_id"]][0] == event["customer_id"]
    assert not open_now and max(lengths) <= 150_000
