"""Offline rule finding for issue 15: candidate insider rules scored on a simulated period.

    .venv/bin/python -m monitor.cli backtest --dir /tmp/bt        # writes the period
    .venv/bin/python -m bench.insider_rules /tmp/bt --leak-day 8

Reads the period a backtest wrote (events.jsonl, labels.jsonl, roster.yaml), computes per
actor per UTC day its distinct records, distinct customers, interactions, views outside
its own interactions, devices and addresses, and evaluates candidate rules against the
labels with no Redis and no detector code: recall, days from a leak's start to its first
page, and pages on actors with no leak per 1,000 agent-days of the scored days (from the
leak day on; the days before are warm-up, as in the backtest). Not shipped in the worker:
it is how the rules in docs/backtest-notes.md were chosen.
"""

from __future__ import annotations

import argparse
import math
import statistics
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
TOUCHES = frozenset(
    {"record.view", "record.search", "record.update", "record.export", "pii.unmask"}
)
VIEWS = frozenset({"record.view", "pii.unmask"})
COVER_MS = 12 * HOUR_MS  # an interaction started this long before a view still covers it
COVER_SKEW_MS = 60_000  # a view this shortly before its interaction.start is covered
EXCESS_SCENARIOS = ("uncovered_collector", "covered_collector", "cumulative_access")
DEVICE_SCENARIOS = ("new_device",)
PER_HOUR = "_per_hour"
MIN_HOURS = 2.0  # a rate is judged over at least this many hours
SUPPRESSION_MS = 30 * 60_000  # one page per actor and rule in this long (the alert engine's)


# ---------------------------------------------------------------- reading the period


@dataclass
class ActorDay:
    """One actor's work in one unit of time: a UTC day, or a shift (a run of activity with
    no gap of SHIFT_GAP_MS); `start` and `end` are its first and last event."""

    start: int
    end: int = 0
    records: dict[str, int] = field(default_factory=dict)  # record id -> first touch ts
    customers: dict[str, int] = field(default_factory=dict)  # customer id -> first touch ts
    interactions: list[int] = field(default_factory=list)  # interaction.start times
    uncovered: int = 0  # views/unmasks of customers with no interaction of the actor

    def count(self, metric: str) -> float:
        """The unit's value of `metric`; a `*_per_hour` metric divides by the hours from its
        first to its last event (at least MIN_HOURS)."""
        if metric.endswith(PER_HOUR):
            hours = max(MIN_HOURS, (self.end - self.start) / HOUR_MS)
            return len(self._times(metric.removesuffix(PER_HOUR))) / hours
        return len(self._times(metric))

    def _times(self, metric: str) -> list[int]:
        if metric == "interactions":
            return self.interactions
        return sorted(getattr(self, metric).values())

    def reached_at(self, metric: str, value: float) -> int | None:
        """When the unit's running value of `metric` first reached `value` (None: never); a
        rate counts only once MIN_HOURS have passed."""
        if metric.endswith(PER_HOUR):
            for n, ts in enumerate(self._times(metric.removesuffix(PER_HOUR)), start=1):
                elapsed = (ts - self.start) / HOUR_MS
                if elapsed >= MIN_HOURS and n / elapsed >= value:
                    return ts
            return None
        times = self._times(metric)
        n = max(1, math.ceil(value))
        return times[n - 1] if n <= len(times) else None


@dataclass(frozen=True, slots=True)
class Sighting:
    """An actor seen on a device (or an address) for the first time in the period."""

    ts: int
    kind: str  # device or ip
    value: str
    country: str | None
    event_id: str


@dataclass
class Actor:
    """What the analysis keeps per actor."""

    id: str
    type: str = "agent"
    team: str = ""
    traits: tuple[str, ...] = ()
    first_ts: int = 0
    active_days: set[int] = field(default_factory=set)
    sightings: list[Sighting] = field(default_factory=list)  # first sightings, in ts order
    countries: set[str] = field(default_factory=set)
    exports: list[int] = field(default_factory=list)  # export/download/print times
    exported: list[int] = field(default_factory=list)  # and the records of each


@dataclass
class Period:
    """Everything the rules read, computed in one pass over the events."""

    # (tenant, actor) -> start of the unit -> ActorDay, for each way of counting: the key
    # is (scope, unit) with scope "tenant" (per tenant and actor, as cumulative_access
    # keeps state) or "actor" (all of an actor's tenants together) and unit "day" or "shift"
    units: dict[tuple[str, str], dict[tuple[str, str], dict[int, ActorDay]]]
    actors: dict[str, Actor]
    team_devices: dict[str, dict[str, int]]  # team -> device -> first seen ts
    first_day: int
    last_day: int
    labels: list[dict[str, Any]]
    main_tenant: dict[str, str] = field(default_factory=dict)  # actor -> most active tenant

    def __post_init__(self) -> None:
        best: dict[str, tuple[int, str]] = {}
        for (tenant, actor), by_day in self.units[("tenant", "day")].items():
            if len(by_day) > best.get(actor, (0, ""))[0]:
                best[actor] = (len(by_day), tenant)
        self.main_tenant = {actor: tenant for actor, (_n, tenant) in best.items()}


WAYS = (("tenant", "day"), ("actor", "day"), ("tenant", "shift"), ("actor", "shift"))
SHIFT_GAP_MS = 4 * HOUR_MS
ALL_TENANTS = "*"


def read_period(directory: Path) -> Period:
    """One pass over events.jsonl, plus the labels and the roster's traits."""
    roster = {row["id"]: row for row in yaml.safe_load((directory / "roster.yaml").read_text())}
    labels = [orjson.loads(line) for line in (directory / "labels.jsonl").read_bytes().splitlines()]
    units: dict[tuple[str, str], dict[tuple[str, str], dict[int, ActorDay]]] = {
        way: defaultdict(dict) for way in WAYS
    }
    shift_of: dict[tuple[str, str], int] = {}  # (scope key) -> start of the current shift
    last_seen: dict[tuple[str, str], int] = {}
    actors: dict[str, Actor] = {}
    team_devices: dict[str, dict[str, int]] = defaultdict(dict)
    started: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)  # customer -> last start
    first_day = last_day = None
    with (directory / "events.jsonl").open("rb") as stream:
        for event in map(orjson.loads, stream):
            ts, tenant, who = event["ts"], event["tenant"], event["actor"]
            day = ts // DAY_MS
            first_day = day if first_day is None else first_day
            last_day = day
            actor = actors.get(who["id"])
            if actor is None:
                row = roster.get(who["id"], {})
                actor = actors[who["id"]] = Actor(
                    who["id"], who.get("type", "agent"), who.get("team", ""),
                    tuple(row.get("traits") or ["plain"]), ts,
                )  # fmt: skip
            actor.active_days.add(day)
            _see(actor, event, team_devices[actor.team])
            for scope, unit in WAYS:
                key = (tenant if scope == "tenant" else ALL_TENANTS, actor.id)
                if unit == "day":
                    start = day * DAY_MS
                else:
                    if ts - last_seen.get(key, -SHIFT_GAP_MS - 1) > SHIFT_GAP_MS:
                        shift_of[key] = ts
                    last_seen[key] = ts
                    start = shift_of[key]
                now = units[(scope, unit)][key].get(start)
                if now is None:
                    now = units[(scope, unit)][key][start] = ActorDay(start)
                now.end = ts
                _count(now, event, started[key])
    assert first_day is not None and last_day is not None, "empty events file"
    return Period(
        {way: dict(by_key) for way, by_key in units.items()},
        actors, dict(team_devices), first_day, last_day, labels,
    )  # fmt: skip


def _see(actor: Actor, event: dict[str, Any], team: dict[str, int]) -> None:
    """First sightings of devices and addresses, countries, exports."""
    source = event.get("source") or {}
    seen = {s.value for s in actor.sightings}
    for kind, value in (("device", source.get("device_id")), ("ip", source.get("ip"))):
        if value and value not in seen:
            actor.sightings.append(
                Sighting(event["ts"], kind, value, source.get("country"), event["event_id"])
            )
    device = source.get("device_id")
    if device:
        team.setdefault(device, event["ts"])
    if source.get("country"):
        actor.countries.add(source["country"])
    if event["action"] in ("record.export", "report.export", "file.download", "print"):
        actor.exports.append(event["ts"])
        actor.exported.append(int(event.get("records", 1)))


def _count(today: ActorDay, event: dict[str, Any], started: dict[str, int]) -> None:
    """One event into the actor's day."""
    action, ts = event["action"], event["ts"]
    customer = event.get("customer_id")
    if action == "interaction.start":
        today.interactions.append(ts)
        if customer:
            started[customer] = ts
        return
    if action not in TOUCHES:
        return
    record = (event.get("resource") or {}).get("id")
    if record:
        today.records.setdefault(record, ts)
    if customer:
        today.customers.setdefault(customer, ts)
    if action in VIEWS and customer:
        start = started.get(customer)
        if start is None or not (start - COVER_SKEW_MS <= ts <= start + COVER_MS):
            today.uncovered += 1


# ---------------------------------------------------------------- scoring a rule


@dataclass(frozen=True, slots=True)
class RulePage:
    actor: str
    tenant: str
    ts: int


@dataclass
class RuleScore:
    """How one candidate rule did."""

    name: str
    caught: dict[str, list[float | None]] = field(default_factory=dict)  # scenario -> days
    false_pages: int = 0
    false_actors: Counter[str] = field(default_factory=Counter)  # actor -> pages
    false_traits: Counter[str] = field(default_factory=Counter)
    agent_days: float = 0.0

    @property
    def false_per_1k(self) -> float:
        return 1000 * self.false_pages / self.agent_days if self.agent_days else 0.0

    def recall(self, scenarios: Iterable[str]) -> tuple[int, int, float | None]:
        """(caught, labels, worst days to first page) over the scenarios."""
        waits = [w for s in scenarios for w in self.caught.get(s, [])]
        found = [w for w in waits if w is not None]
        return len(found), len(waits), max(found) if found else None


def score_rule(
    name: str, pages: Iterable[RulePage], period: Period, scored_from: int, scenarios: Iterable[str]
) -> RuleScore:
    """Pages against the labels of `scenarios`; pages on actors with no label are false."""
    result = RuleScore(name)
    wanted = [label for label in period.labels if label["scenario"] in set(scenarios)]
    leaking = {label["actor"] for label in period.labels}
    first: dict[int, int] = {}
    last_page: dict[str, int] = {}
    for page in sorted(pages, key=lambda p: p.ts):
        if page.ts < scored_from:
            continue
        if page.ts - last_page.get(page.actor, -SUPPRESSION_MS) < SUPPRESSION_MS:
            continue  # the alert engine's suppression: an update, not a page
        last_page[page.actor] = page.ts
        for n, label in enumerate(wanted):
            if (page.actor, page.tenant) == (label["actor"], label["tenant"]) and (
                label["start_ms"] - SUPPRESSION_MS <= page.ts <= label["end_ms"] + DAY_MS
            ):
                first[n] = min(first.get(n, page.ts), page.ts)
        if page.actor not in leaking:
            result.false_pages += 1
            result.false_actors[page.actor] += 1
            for trait in period.actors[page.actor].traits:
                result.false_traits[trait] += 1
    for n, label in enumerate(wanted):
        wait = (first[n] - label["start_ms"]) / DAY_MS if n in first else None
        result.caught.setdefault(label["scenario"], []).append(wait)
    normal = [a for a in period.actors.values() if a.id not in leaking]
    first_scored = scored_from // DAY_MS
    result.agent_days = len(normal) * (period.last_day - first_scored + 1)
    return result


# ---------------------------------------------------------------- sustained excess


@dataclass(frozen=True)
class ExcessRule:
    """Sustained excess: an actor's count per unit (UTC day or shift) stays above both its
    peers' and its own history's robust threshold for `units` consecutive units."""

    metric: str = "customers"  # customers, records or interactions
    k: float = 4.0  # robust deviations above the peers' median
    min_ratio: float = 1.6  # and at least this many times the peers' median
    min_spread: float = 0.1  # spread floor as a share of the median (a flat team)
    own_ratio: float = 1.6  # and this many times the actor's own median
    units: int = 2  # consecutive units above both
    scope: str = "tenant"  # count per tenant and actor, or per actor over its tenants
    unit: str = "day"  # day (UTC) or shift
    peer_days: int = 7  # the peers' completed units of these last days are pooled
    min_peers: int = 5  # peers (same team and actor type) with a unit in that span
    min_history: int = 3  # own units needed before the own test applies
    history_days: int = 28  # own units of these last days
    min_observed: float = 10  # smallest value judged
    own_only_ratio: float | None = None  # without enough peers: own test at this ratio
    also: str | None = None  # a second metric that may qualify a unit instead

    @property
    def name(self) -> str:
        also = f"|{self.also}" if self.also else ""
        own_only = "" if self.own_only_ratio is None else f" alone={self.own_only_ratio:g}"
        return (
            f"{self.metric}{also}/{self.unit}/{self.scope} k={self.k:g} x{self.min_ratio:g} "
            f"own x{self.own_ratio:g}{own_only} n={self.units}"
        )


def excess_pages(rule: ExcessRule, period: Period) -> Iterator[RulePage]:
    """Every moment the rule would page: in an actor's `units`-th consecutive unit in
    excess, when the unit's running count crosses the unit's threshold."""
    units = period.units[(rule.scope, rule.unit)]
    groups = _peer_groups(units, period)
    for (tenant, actor_id), by_start in units.items():
        actor = period.actors[actor_id]
        peers = groups[(tenant, actor.team, actor.type)] - {actor_id}
        streak = 0
        for start in sorted(by_start):
            found = _excess(rule, units, tenant, actor_id, peers, start)
            if found is None:
                streak = 0
                continue
            metric, threshold = found
            streak += 1
            if streak >= rule.units:
                at = by_start[start].reached_at(metric, threshold)
                if at is not None:
                    yield RulePage(actor_id, _page_tenant(period, tenant, actor_id), at)


Units = dict[tuple[str, str], dict[int, ActorDay]]


def _excess(
    rule: ExcessRule, units: Units, tenant: str, actor: str, peers: set[str], start: int
) -> tuple[str, float] | None:
    """(metric, threshold) of the first metric the unit is in excess on, or None."""
    for metric in (rule.metric, rule.also):
        if metric is None:
            continue
        threshold = excess_threshold(rule, metric, units, tenant, actor, peers, start)
        if threshold is not None and units[(tenant, actor)][start].count(metric) >= threshold:
            return metric, threshold
    return None


def excess_threshold(
    rule: ExcessRule,
    metric: str,
    units: Units,
    tenant: str,
    actor: str,
    peers: set[str],
    start: int,
) -> float | None:
    """The unit's threshold: the peers' completed units of the last peer_days pooled
    (median + k * spread, and min_ratio * median) and the actor's own history (own_ratio
    * median); without enough peers, the own test at own_only_ratio (if set); None when
    nothing can judge."""
    parts = [float(rule.min_observed)]
    span = rule.peer_days * DAY_MS
    recent = {p: _recent(units, tenant, p, metric, start, span) for p in peers}
    pooled = [value for values in recent.values() for value in values]
    own = _recent(units, tenant, actor, metric, start, rule.history_days * DAY_MS)
    own_ok = len(own) >= rule.min_history
    if sum(1 for values in recent.values() if values) >= rule.min_peers:
        median = statistics.median(pooled)
        mad = statistics.median(abs(v - median) for v in pooled)
        spread = max(1.4826 * mad, rule.min_spread * median, 1.0)
        parts += [median + rule.k * spread, rule.min_ratio * median]
        if own_ok:
            parts.append(rule.own_ratio * statistics.median(own))
        return max(parts)
    if own_ok and rule.own_only_ratio is not None:
        return max(*parts, rule.own_only_ratio * statistics.median(own))
    return None


def _recent(
    units: Units, tenant: str, actor: str, metric: str, before: int, span: int
) -> list[int]:
    """An actor's counts in its units completed before `before`, started after before-span."""
    by_start = units.get((tenant, actor), {})
    return [u.count(metric) for s, u in by_start.items() if before - span <= s and u.end < before]


def _peer_groups(units: Units, period: Period) -> dict[tuple[str, str, str], set[str]]:
    """(tenant, team, actor type) -> actors."""
    groups: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for tenant, actor_id in units:
        actor = period.actors[actor_id]
        groups[(tenant, actor.team, actor.type)].add(actor_id)
    return groups


def _page_tenant(period: Period, tenant: str, actor: str) -> str:
    """The tenant a page names: its own, or the actor's main tenant for an all-tenant count."""
    return period.main_tenant[actor] if tenant == ALL_TENANTS else tenant


# ---------------------------------------------------------------- new device


@dataclass(frozen=True)
class DeviceRule:
    """A first-seen device (or address) after the actor's warm-up, with optional
    corroboration."""

    name: str
    kinds: tuple[str, ...] = ("device", "ip")
    warmup_hours: int = 168
    warmup_active_days: int = 0  # and at least this many active days before judging
    unknown_to_team: bool = False  # a device teammates used (hot desks) is not new
    corroborate: tuple[str, ...] = ()  # also needed, any of: country, export
    corroborate_ms: int = HOUR_MS
    min_exported: int = 1  # records exported within corroborate_ms that count as "export"


def device_pages(rule: DeviceRule, period: Period) -> Iterator[RulePage]:
    """Every first sighting the rule would page on."""
    tenants = period.main_tenant
    for actor in period.actors.values():
        seen_countries: set[str] = set()
        for sighting in actor.sightings:
            known = set(seen_countries)
            if sighting.country:
                seen_countries.add(sighting.country)
            if sighting.kind not in rule.kinds or not _past_warmup(rule, actor, sighting.ts):
                continue
            if rule.unknown_to_team and _team_knew(period, actor, sighting):
                continue
            if rule.corroborate and not _corroborated(rule, actor, sighting, known):
                continue
            yield RulePage(actor.id, tenants[actor.id], sighting.ts)


def _past_warmup(rule: DeviceRule, actor: Actor, ts: int) -> bool:
    if ts - actor.first_ts < rule.warmup_hours * HOUR_MS:
        return False
    before = sum(1 for day in actor.active_days if day < ts // DAY_MS)
    return before >= rule.warmup_active_days


def _team_knew(period: Period, actor: Actor, sighting: Sighting) -> bool:
    """Whether a teammate used this device before the actor did."""
    if sighting.kind != "device":
        return False
    first = period.team_devices.get(actor.team, {}).get(sighting.value)
    return first is not None and first < sighting.ts


def _corroborated(rule: DeviceRule, actor: Actor, sighting: Sighting, countries: set[str]) -> bool:
    """Something else unusual around the new device."""
    if "country" in rule.corroborate and sighting.country and sighting.country not in countries:
        return True
    if "export" in rule.corroborate:
        lo = bisect_left(actor.exports, sighting.ts)
        hi = bisect_left(actor.exports, sighting.ts + rule.corroborate_ms + 1)
        if hi > lo and sum(actor.exported[lo:hi]) >= rule.min_exported:
            return True
    return False


# ---------------------------------------------------------------- output


def describe_days(period: Period, scored_from: int) -> str:
    """Medians per actor-day (per tenant, UTC day) of the warm-up, by trait: what normal
    looks like in this period."""
    by_trait: dict[str, list[ActorDay]] = defaultdict(list)
    for (_tenant, actor_id), by_day in period.units[("tenant", "day")].items():
        for start, today in by_day.items():
            if start < scored_from and today.count("records"):
                for trait in period.actors[actor_id].traits:
                    by_trait[trait].append(today)
    lines = [
        "warm-up actor-days by trait (medians; an actor with two traits counts under both)",
        f"{'trait':<14}{'days':>7}{'records':>9}{'customers':>11}{'interactions':>14}"
        f"{'rec/inter':>11}{'uncovered':>11}",
    ]
    for trait, days in sorted(by_trait.items()):
        inter = statistics.median(d.count("interactions") for d in days)
        records = statistics.median(d.count("records") for d in days)
        lines.append(
            f"{trait:<14}{len(days):>7}{records:>9.0f}"
            f"{statistics.median(d.count('customers') for d in days):>11.0f}{inter:>14.0f}"
            f"{(records / inter if inter else float('nan')):>11.2f}"
            f"{statistics.median(d.uncovered for d in days):>11.0f}"
        )
    return "\n".join(lines)


def leak_units(period: Period, scope: str, unit: str) -> str:
    """Per leaking actor and unit: counts against its peers' medians over the 7 days before."""
    units = period.units[(scope, unit)]
    groups = _peer_groups(units, period)
    lines = [
        f"leaking actors by {unit} ({scope}): customers, records, interactions as "
        "count/peers' median; days from the leak's start"
    ]
    for label in period.labels:
        if label["scenario"] not in EXCESS_SCENARIOS:
            continue
        tenant = label["tenant"] if scope == "tenant" else ALL_TENANTS
        actor = period.actors[label["actor"]]
        peers = groups[(tenant, actor.team, actor.type)] - {label["actor"]}
        lines.append(f"{label['scenario']} {label['actor']} ({','.join(actor.traits)})")
        by_start = units[(tenant, label["actor"])]
        for start in sorted(s for s in by_start if s >= label["start_ms"] - DAY_MS):
            cells = []
            for metric in ("customers", "records", "interactions"):
                pooled = [
                    v for p in peers for v in _recent(units, tenant, p, metric, start, 7 * DAY_MS)
                ]
                median = statistics.median(pooled) if pooled else float("nan")
                cells.append(f"{by_start[start].count(metric)}/{median:.0f}")
            lines.append(f"    {(start - label['start_ms']) / DAY_MS:+6.2f} " + "  ".join(cells))
    return "\n".join(lines)


def table(scores: list[RuleScore], scenarios: Iterable[str]) -> str:
    scenarios = list(scenarios)
    head = f"{'rule':<64}" + "".join(f"{s[:18]:>20}" for s in scenarios)
    head += f"{'false pages':>13}{'per 1k':>8}  false pages by trait"
    lines = [head]
    for s in scores:
        cells = []
        for scenario in scenarios:
            found, labels, worst = s.recall([scenario])
            cells.append(f"{found}/{labels} " + ("-" if worst is None else f"{worst:.2f}d"))
        traits = ", ".join(f"{t} {n}" for t, n in s.false_traits.most_common(4))
        lines.append(
            f"{s.name:<64}" + "".join(f"{c:>20}" for c in cells)
            + f"{s.false_pages:>13}{s.false_per_1k:>8.2f}  {traits}"
        )  # fmt: skip
    return "\n".join(lines)


EXCESS_CANDIDATES = (
    # today's cumulative_access judges a 7-day sum; these judge one unit (a day or a shift)
    ExcessRule("records", k=6.0, min_ratio=2.0, own_ratio=2.0, units=2),
    ExcessRule("records", units=2),
    ExcessRule("records", units=1),
    ExcessRule("records", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1),
    ExcessRule("customers", units=2),
    ExcessRule("customers", k=3.0, min_ratio=1.5, own_ratio=1.5, units=1),
    ExcessRule("customers", units=1),
    ExcessRule("customers", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1),
    ExcessRule("customers", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1, scope="actor"),
    ExcessRule("customers", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1, own_only_ratio=2.5),
    ExcessRule("interactions", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1),
    ExcessRule("customers", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1, scope="actor",
               unit="shift"),
    ExcessRule("customers_per_hour", k=4.0, min_ratio=1.6, own_ratio=1.6, units=1,
               scope="actor", unit="shift", min_observed=2),
    ExcessRule("customers_per_hour", k=5.0, min_ratio=1.8, own_ratio=1.8, units=1,
               scope="actor", unit="shift", min_observed=2),
    ExcessRule("customers_per_hour", k=5.0, min_ratio=2.0, own_ratio=2.0, units=1,
               scope="actor", unit="shift", min_observed=2),
    ExcessRule("customers_per_hour", k=5.0, min_ratio=1.8, own_ratio=1.8, units=2,
               scope="actor", unit="shift", min_observed=2),
)  # fmt: skip
DEVICE_CANDIDATES = (
    DeviceRule("today: device or ip, 168 h warm-up"),
    DeviceRule("device only, 168 h warm-up", kinds=("device",)),
    DeviceRule("device only, 168 h + 5 active days", kinds=("device",), warmup_active_days=5),
    DeviceRule("device unknown to the team", kinds=("device",), unknown_to_team=True),
    DeviceRule("new device + new country", kinds=("device",), corroborate=("country",)),
    DeviceRule(
        "new device + (new country or export within 1 h)",
        kinds=("device",),
        corroborate=("country", "export"),
    ),
    DeviceRule(
        "device unknown to team + (new country or export 1 h)",
        kinds=("device",),
        unknown_to_team=True,
        corroborate=("country", "export"),
    ),
    DeviceRule(
        "device unknown to team + (new country or 20 records out in 1 h)",
        kinds=("device",),
        unknown_to_team=True,
        corroborate=("country", "export"),
        min_exported=20,
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a backtest's --dir (events, labels, roster)")
    parser.add_argument("--leak-day", type=int, default=8, help="first scored day (default 8)")
    args = parser.parse_args()
    period = read_period(args.directory)
    scored_from_day = period.first_day + args.leak_day - 1
    scored_from = scored_from_day * DAY_MS
    print(describe_days(period, scored_from))
    print()
    print(leak_units(period, "actor", "shift"))
    print()
    print("sustained excess (pages from the leak day on; false = actors with no leak)")
    excess = [
        score_rule(rule.name, excess_pages(rule, period), period, scored_from, EXCESS_SCENARIOS)
        for rule in EXCESS_CANDIDATES
    ]
    print(table(excess, EXCESS_SCENARIOS))
    print()
    print("new device")
    devices = [
        score_rule(rule.name, device_pages(rule, period), period, scored_from, DEVICE_SCENARIOS)
        for rule in DEVICE_CANDIDATES
    ]
    print(table(devices, DEVICE_SCENARIOS))


if __name__ == "__main__":
    main()
