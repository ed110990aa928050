"""bench/insider_rules.py: per-actor units and candidate rules on a small written period."""

from __future__ import annotations

import pytest

from bench.insider_rules import (
    ALL_TENANTS,
    DAY_MS,
    ActorDay,
    DeviceRule,
    ExcessRule,
    Period,
    device_pages,
    excess_pages,
    read_period,
    score_rule,
)
from monitor.tools.backtest import BacktestPlan, write_period

START = 1_772_409_600_000  # 2026-03-02T00:00:00Z, a Monday
PLAN = BacktestPlan(agents=90, days=9, leak_day=5, collectors=1, each=1)


@pytest.fixture(scope="module")
def period(tmp_path_factory: pytest.TempPathFactory) -> Period:
    directory = tmp_path_factory.mktemp("period")
    write_period(PLAN, directory, START)
    return read_period(directory)


def test_a_unit_counts_distinct_items_and_when_each_count_was_reached() -> None:
    unit = ActorDay(0, 4 * 3_600_000)
    for n, customer in enumerate(["a", "b", "a", "c"]):
        unit.customers.setdefault(customer, (n + 1) * 3_600_000)
    assert unit.count("customers") == 3
    assert unit.reached_at("customers", 2) == 2 * 3_600_000
    assert unit.reached_at("customers", 3.5) is None
    assert unit.count("customers_per_hour") == pytest.approx(3 / 4)
    assert unit.reached_at("customers_per_hour", 1.0) == 2 * 3_600_000  # judged from 2 hours
    assert unit.reached_at("customers_per_hour", 1.1) is None  # 1/h at 1 h is not judged


def test_units_are_kept_four_ways(period: Period) -> None:
    label = next(lab for lab in period.labels if lab["scenario"] == "covered_collector")
    by_day = period.units[("tenant", "day")][(label["tenant"], label["actor"])]
    all_tenants = period.units[("actor", "day")][(ALL_TENANTS, label["actor"])]
    shifts = period.units[("actor", "shift")][(ALL_TENANTS, label["actor"])]
    assert set(by_day) <= set(all_tenants) and all(s % DAY_MS == 0 for s in by_day)
    assert sum(u.count("interactions") for u in shifts.values()) == sum(
        u.count("interactions") for u in all_tenants.values()
    )
    assert all(u.end - u.start < 12 * 3_600_000 for u in shifts.values())  # a shift, not a day


def test_the_proposed_excess_rule_catches_both_collectors_early(period: Period) -> None:
    rule = ExcessRule("customers_per_hour", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1,
                      scope="actor", unit="shift", min_observed=2)  # fmt: skip
    scored_from = (period.first_day + PLAN.leak_day - 1) * DAY_MS
    scenarios = ("uncovered_collector", "covered_collector")
    result = score_rule(rule.name, excess_pages(rule, period), period, scored_from, scenarios)
    found, labels, worst = result.recall(scenarios)
    assert (found, labels) == (2, 2) and worst is not None and worst < 2
    assert result.false_pages == 0 and result.agent_days > 300


def test_device_rules_learn_before_judging_and_see_the_new_device(period: Period) -> None:
    scored_from = (period.first_day + PLAN.leak_day - 1) * DAY_MS
    today = DeviceRule("today", warmup_hours=48)
    corroborated = DeviceRule(
        "country", kinds=("device",), warmup_hours=48, corroborate=("country",)
    )
    scores = [
        score_rule(r.name, device_pages(r, period), period, scored_from, ("new_device",))
        for r in (today, corroborated)
    ]
    assert [s.recall(["new_device"])[:2] for s in scores] == [(1, 1), (1, 1)]
    assert scores[1].false_pages <= scores[0].false_pages
    first = {a.id: a.first_ts for a in period.actors.values()}
    assert all(p.ts - first[p.actor] >= 48 * 3_600_000 for p in device_pages(today, period))


def test_without_enough_peers_only_the_own_only_ratio_judges(period: Period) -> None:
    lonely = ExcessRule("customers", units=1, min_peers=1000)  # no team is that large
    assert list(excess_pages(lonely, period)) == []
    own = ExcessRule("customers", units=1, min_peers=1000, own_only_ratio=1.01, min_history=1)
    assert list(excess_pages(own, period))  # any day above its own median pages
