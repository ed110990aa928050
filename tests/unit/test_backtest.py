"""`blindar backtest`'s pure parts: the plan, the leaks it injects, the files it writes, the
detector config it replays with, and what its report adds to replay (no services)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import orjson
import pytest
import yaml

from detectors.cumulative_access.scenario import CURVE_MULTIPLES, team_pace
from detectors.scenarios import SCENARIOS
from monitor.service.config import load_detectors
from monitor.service.settings import DEFAULT_CONFIG_DIR
from monitor.tools.backtest import (
    CURVE_PATTERNS,
    CURVE_PREFIX,
    LONG_SCENARIOS,
    PLAIN,
    BacktestPlan,
    LeakResult,
    PeriodFiles,
    batch_for,
    curve_points,
    curve_text,
    inject_leaks,
    leak_results,
    noise_text,
    site_detectors,
    trait_counts,
    trait_noise,
    write_period,
)
from monitor.tools.backtest_cli import PLAN_ARGUMENTS, add_arguments
from monitor.tools.scoring import DAY_MS, Label, Page, score
from simulator.population import Population
from simulator.workforce import REALISTIC, traits

START = 1_772_409_600_000  # 2026-03-02T00:00:00Z, a Monday
SMALL = BacktestPlan(agents=60, days=3, leak_day=2, collectors=1, each=1)


def test_help_states_the_plans_defaults() -> None:
    plan = BacktestPlan()
    for _flag, name, help_text in PLAN_ARGUMENTS:
        assert f"(default {getattr(plan, name)})" in help_text, name
    flags = {"mix", "curve"}  # a choice and a switch, not numbers
    assert {name for _f, name, _h in PLAN_ARGUMENTS} | flags == {f.name for f in fields(plan)}
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).agents is None  # unset: the plan's default applies


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (BacktestPlan(agents=10), "at least 20 agents"),
        (BacktestPlan(tenants=1), "2 tenants"),
        (BacktestPlan(leak_day=1), "leak_day"),
        (BacktestPlan(days=5, leak_day=6), "leak_day"),
        (BacktestPlan(collectors=-1), ">= 0"),
        (BacktestPlan(mix="odd"), "unknown population mix"),
    ],
)
def test_a_plan_that_cannot_run_is_refused(plan: BacktestPlan, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan.check()


def test_leaks_start_on_the_leak_day_each_by_its_own_actor() -> None:
    plan = BacktestPlan(agents=200, collectors=2, each=1)
    population = Population(plan.seed, plan.agents, plan.tenants, REALISTIC)
    end = START + plan.days * DAY_MS
    events, labels = inject_leaks(plan, population, START, end)
    leak_ms = START + 7 * DAY_MS
    names = [label["scenario"] for label in labels]
    assert names.count("uncovered_collector") == names.count("covered_collector") == 2
    assert sorted(set(names)) == sorted(SCENARIOS)
    assert len({label["actor"] for label in labels}) == len(labels)
    for label in labels:
        assert label["start_ms"] >= leak_ms, label
        if label["scenario"] in LONG_SCENARIOS:
            assert label["start_ms"] < leak_ms + 2 * DAY_MS  # the agent's first shift
            assert label["end_ms"] > end - 2 * DAY_MS  # to the end of the period
        else:
            assert label["end_ms"] < end
    assert len(events) == sum(label["events"] for label in labels)
    assert len({e["event_id"] for e in events}) == len(events)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> PeriodFiles:
    return write_period(SMALL, tmp_path_factory.mktemp("period"), START)


def test_the_period_is_written_with_labels_and_roster(small: PeriodFiles) -> None:
    events = [orjson.loads(line) for line in small.events.read_bytes().splitlines()]
    assert len(events) == small.count > 1000
    stamps = [e["ts"] for e in events]
    assert stamps == sorted(stamps) and stamps[0] >= START and stamps[-1] < small.end_ms
    labels = [orjson.loads(line) for line in small.labels.read_bytes().splitlines()]
    assert len(labels) == 2 + 1 + len(SCENARIOS) - len(LONG_SCENARIOS)
    roster = yaml.safe_load(small.roster.read_text())
    assert len(roster) == SMALL.agents and {"role", "traits"} <= set(roster[0])
    assert small.end_ms > START + SMALL.days * DAY_MS  # the collectors run on past the end


def test_batches_span_minutes_of_event_time(small: PeriodFiles) -> None:
    per_minute = small.count / ((small.end_ms - small.start_ms) / 60_000)
    assert batch_for(small) == max(100, round(5 * per_minute))
    busy = PeriodFiles(small.events, small.labels, small.roster, small.population, 0, 60_000)
    busy.count = 10**6
    assert batch_for(busy) == 2000


def test_the_replayed_config_adds_what_the_roster_tells(small: PeriodFiles, tmp_path: Path) -> None:
    base = tmp_path / "base" / "detectors.yaml"
    base.parent.mkdir()
    sections = {
        "bulk_export": {"threshold_records": 42},
        "orphan_access": {"allowlist": {"actors": ["svc-crm"]}},
        "off_hours": {"tenants": {"acme-bank": {"roster_file": "acme.yaml"}}},
    }
    base.write_text(yaml.safe_dump({"detectors": sections}))
    (base.parent / "acme.yaml").write_text(small.roster.read_text())
    population = Population(5, 200, 4, REALISTIC)  # 14 teams: back office among them
    files = PeriodFiles(small.events, small.labels, small.roster, population, 0, 1)
    path = site_detectors(base, files, tmp_path)
    doc = yaml.safe_load(path.read_text())["detectors"]
    assert doc["off_hours"]["roster_file"] == str(small.roster.resolve())
    assert doc["off_hours"]["tenants"]["acme-bank"]["roster_file"] == str(
        base.parent.resolve() / "acme.yaml"
    )
    assert doc["bulk_export"]["threshold_records"] == 42
    agents = population.agents
    allowlist = doc["orphan_access"]["allowlist"]
    supervisors = {a.id for a in agents if a.role == "supervisor"}
    assert set(allowlist["actors"]) == supervisors | {"svc-crm"}
    assert set(allowlist["teams"]) == {a.team.id for a in agents if a.role == "back_office"}
    assert allowlist["teams"] and "off_hours" in load_detectors(path).configs
    shipped = site_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml", files, tmp_path)
    assert set(load_detectors(shipped).configs) >= {"off_hours", "orphan_access"}


def labelled(actor: str, detector: str = "cumulative_access", days: int = 7) -> Label:
    return Label("covered_collector", detector, "acme-bank", actor, START, START + days * DAY_MS)


def page(detector: str, actor: str, at_days: float) -> Page:
    end = START + int(at_days * DAY_MS)
    return Page(detector, "acme-bank", actor, end - 3_600_000, end)


def test_leaks_name_every_detector_that_paged_their_actor_and_when() -> None:
    population = Population(5, 60, 4, REALISTIC)
    leaker, other = population.agents[20].id, population.agents[21].id
    pages = [
        page("orphan_access", leaker, 0.5),
        page("cumulative_access", leaker, 3.0),
        page("orphan_access", leaker, 0.1),
        page("orphan_access", other, 0.2),
    ]
    (result,) = leak_results([labelled(leaker)], pages, population)
    assert result.first_page_days == {"orphan_access": 0.1, "cumulative_access": 3.0}
    assert result.caught and result.traits == (traits(population.agents[20]) or [PLAIN])
    scores = score(["cumulative_access", "orphan_access"], [labelled(leaker)], pages)
    assert scores["cumulative_access"].first_page_days == [3.0]
    assert scores["orphan_access"].fp_normal == 1  # the page on `other`; leaker's are on scenario


def test_false_pages_are_counted_by_trait_of_actors_with_no_leak() -> None:
    population = Population(5, 60, 4, REALISTIC)
    supervisor = next(a for a in population.agents if a.role == "supervisor")
    plain = next(a for a in population.agents if not traits(a))
    leaker = population.agents[30].id
    pages = [
        page("orphan_access", supervisor.id, 1),
        page("orphan_access", supervisor.id, 2),
        page("orphan_access", plain.id, 1),
        page("orphan_access", leaker, 1),  # the leaking actor: not noise
        Page("channel_silence", "*", "channel:sms", START, START + 1),
    ]
    noise = trait_noise([labelled(leaker)], pages, population)
    kind = "+".join(traits(supervisor))
    assert noise["orphan_access"].pages == 3 and len(noise["orphan_access"].actors) == 2
    assert noise["orphan_access"].by_trait == {kind: 2, PLAIN: 1}
    assert "channel_silence" not in noise  # a channel's page pages no agent: per channel-day
    counts = trait_counts(population)
    assert counts["(agents)"] == 60 and sum(counts.values()) == 120
    text = noise_text(noise, counts, agent_days=600.0)
    row = next(line for line in text.splitlines() if line.split()[:1] == [kind])
    pages_, actors, of, rate = row.split()[1:]
    assert (pages_, actors, of) == ("2", "1", str(counts[kind]))
    assert float(rate) == pytest.approx(1000 * 2 / (600 * counts[kind] / 60), abs=0.01)


def test_the_curve_adds_careful_collectors_at_every_multiple_and_shift_pattern() -> None:
    """--curve: one careful collector per (shift pattern, multiple), each its own actor in
    a team of its own, collecting (multiple x the team's pace - its own) extra customers an
    hour inside short interactions; the curve reads them back from the leaks."""
    plan = BacktestPlan(agents=200, curve=True, team_size=8)
    population = Population(plan.seed, plan.agents, plan.tenants, REALISTIC, team_size=8)
    assert len(population.teams) == 25
    end = START + plan.days * DAY_MS
    events, labels = inject_leaks(plan, population, START, end)
    careful = [label for label in labels if label["scenario"].startswith(CURVE_PREFIX)]
    assert len(careful) == len(CURVE_PATTERNS) * len(CURVE_MULTIPLES)
    assert len({label["actor"] for label in labels}) == len(labels)
    agents = [population.by_id[label["actor"]] for label in careful]
    assert len({agent.team.id for agent in agents}) == len(careful)
    for label, agent in zip(careful, agents, strict=True):
        multiple = float(label["scenario"][len(CURVE_PREFIX) : -1])
        mine = [e for e in events if e["actor"]["id"] == agent.id]
        customers = {e["customer_id"] for e in mine if e["action"] == "record.view"}
        hours = sum(
            (min(b, label["end_ms"] + 1) - max(a, label["start_ms"] - 300_000)) / 3_600_000
            for a, b in population.shifts(agent, label["start_ms"] - 300_000, label["end_ms"] + 1)
        )
        extra = multiple * team_pace(population, agent) - agent.per_hour
        assert 0.75 * extra < len(customers) / hours < 1.1 * extra, label
        covered = {e["customer_id"] for e in mine if e["action"] == "interaction.start"}
        assert covered == customers  # every extra customer inside an interaction
    leaks = [LeakResult(Label.from_dict(lab), []) for lab in careful]
    leaks[0].first_page_days = {"cumulative_access": 1.5, "orphan_access": 0.5}
    points = curve_points(leaks, population)
    assert sorted((p.pattern, p.multiple) for p in points) == sorted(
        (pattern, m) for pattern in CURVE_PATTERNS for m in CURVE_MULTIPLES
    )
    paged = next(p for p in points if p.actor == careful[0]["actor"])
    assert paged.days_to_page == 1.5 and paged.first_page_any == 0.5
    assert all(p.days_to_page is None for p in points if p is not paged)
    assert "missed" in curve_text(points, {}, 1000.0)
