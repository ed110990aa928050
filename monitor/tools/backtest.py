"""`blindar backtest`: a realistic simulated period with labelled leaks, replayed through the
detectors and scored per detector, per leak and per population trait.

The period is `days` long; its first `leak_day - 1` days are normal traffic only (the
warm-up every learning detector needs, not scored). On the leak day the long scenarios
begin (the two collectors and cumulative_access, lasting to the end) and every other
scenario is spread over the days that follow. The replay is the one `blindar replay`
runs (same pipeline, scratch Redis namespace); the report adds what replay cannot know:
which population traits (supervisor, back office, part-time, night, laptop, hot-desk,
two tenants) the falsely paged actors have, and which detectors caught each leak how fast.

The period comes with its population's assignments file (assignments.yaml, as workforce
management would export it), and the replay trusts it as the worker would, not the events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import yaml

from detectors.cumulative_access.scenario import CURVE_MULTIPLES, careful_collector
from detectors.scenarios import SCENARIOS
from monitor.service.config import DetectorSettings, resolve_files
from monitor.tools.replay import ReplayOptions, ReplayReport, run_replay
from monitor.tools.scoring import (
    CHANNEL_ACTOR,
    DAY_MS,
    DEFAULT_SLACK_MS,
    DetectorScore,
    Label,
    Page,
    read_labels,
    score,
)
from simulator.files import write_assignments, write_jsonl, write_labels, write_roster
from simulator.leaks import Injected
from simulator.model import Agent, Event
from simulator.periods import merge
from simulator.population import Population
from simulator.traffic import Simulator
from simulator.workforce import mix_named, traits

# Scenarios that start on the leak day and last to the end of the period.
LONG_SCENARIOS = ("uncovered_collector", "covered_collector", "cumulative_access")
PLAIN = "plain"  # the trait of a full-time front-line agent at one desk, on one tenant


@dataclass(frozen=True)
class BacktestPlan:
    """What to simulate: the population, the period and the leaks."""

    agents: int = 500
    tenants: int = 4
    days: int = 14
    leak_day: int = 8  # first day (1-based) with leaks; the days before are warm-up
    seed: int = 15
    mix: str = "realistic"
    collectors: int = 2  # leaks of each collector kind
    each: int = 1  # leaks of every other scenario
    team_size: int = 15  # agents per team, about
    curve: bool = False  # add the careful collectors of the detection-floor curve

    def check(self) -> None:
        """ValueError on a plan that cannot run."""
        if self.agents < 20 or self.tenants < 2:
            raise ValueError("a backtest needs at least 20 agents and 2 tenants")
        if not 2 <= self.leak_day <= self.days:
            raise ValueError("leak_day must be between 2 and days")
        if self.collectors < 0 or self.each < 0:
            raise ValueError("collectors and each must be >= 0")
        if self.team_size < 2:
            raise ValueError("team_size must be at least 2")
        mix_named(self.mix)

    @property
    def warmup_days(self) -> int:
        return self.leak_day - 1


@dataclass
class PeriodFiles:
    """The simulated period on disk and what made it."""

    events: Path
    labels: Path
    roster: Path
    population: Population
    start_ms: int
    end_ms: int
    count: int = 0
    assignments: Path | None = None  # the population's trusted assignments file


def scenario_plan(plan: BacktestPlan) -> tuple[list[str], list[str]]:
    """(long scenarios, short scenarios) to inject, with repeats."""
    long = ["uncovered_collector"] * plan.collectors + ["covered_collector"] * plan.collectors
    long += ["cumulative_access"] * plan.each
    short = [name for name in sorted(SCENARIOS) if name not in LONG_SCENARIOS] * plan.each
    return long, short


def inject_leaks(
    plan: BacktestPlan, population: Population, start_ms: int, end_ms: int
) -> tuple[list[Event], list[dict[str, Any]]]:
    """The scenarios of the plan, each by a different actor: long ones from the leak day,
    short ones spread over the days after it; returns (events, labels)."""
    rng = Random(f"backtest/{plan.seed}")
    leak_ms = start_ms + plan.warmup_days * DAY_MS
    long, short = scenario_plan(plan)
    used: set[str] = set()
    events: list[Event] = []
    labels: list[dict[str, Any]] = []
    starts = [leak_ms + n * 60_000 for n in range(len(long))]  # 1 min apart: unique ids
    span = end_ms - leak_ms - 2 * 3_600_000
    starts += [
        leak_ms + int(span * (n + rng.uniform(0.1, 0.9)) / len(short)) for n in range(len(short))
    ]
    for name, at in zip(long + short, starts, strict=True):
        injected = _by_new_actor(population, name, rng, at, used)
        events.extend(injected.events)
        labels.append(injected.label)
    if plan.curve:
        at = leak_ms + len(long) * 60_000
        for injected in curve_collectors(population, rng, at, used):
            events.extend(injected.events)
            labels.append(injected.label)
    return events, labels


# ---------------------------------------------------------------- detection-floor curve

# Shift patterns of the curve's collectors (disjoint): which front-line agents fit each.
CURVE_PATTERNS: dict[str, Callable[[Agent], bool]] = {
    "day": lambda a: a.shift_hours == 8 and a.shift_start + a.shift_hours <= 24,
    "night": lambda a: a.shift_hours == 8 and a.shift_start + a.shift_hours > 24,
    "part_time": lambda a: a.shift_hours < 8,
}


def curve_collectors(
    population: Population, rng: Random, start_ms: int, used: set[str]
) -> list[Injected]:
    """A careful collector at every multiple of CURVE_MULTIPLES for every shift pattern,
    each by a front-line agent no other leak uses, in a team no other curve collector
    is in while there are such teams (a collector must not be another's peer)."""
    injected = []
    teams: set[str] = set()
    for fits in CURVE_PATTERNS.values():
        for multiple in CURVE_MULTIPLES:
            front = [a for a in population.agents if a.role == "front" and a.type == "agent"]
            free = [a for a in front if fits(a) and a.id not in used]
            fresh = [a for a in free if a.team.id not in teams]
            if not free:
                continue
            agent = rng.choice(fresh or free)
            used.add(agent.id)
            teams.add(agent.team.id)
            at = start_ms + len(injected) * 60_000
            injected.append(careful_collector(population, rng, at, agent, multiple))
    return injected


@dataclass
class CurvePoint:
    """One careful collector of the curve: who, how much, and how fast it was paged."""

    pattern: str
    multiple: float
    actor: str
    team: str
    team_size: int
    days_to_page: float | None  # cumulative_access's first page, days after the start
    first_page_any: float | None  # any detector's
    days_collected: float


def curve_points(results: Sequence[LeakResult], population: Population) -> list[CurvePoint]:
    """The curve's collectors among the leaks, by pattern and multiple."""
    points = []
    for result in results:
        name = result.label.scenario
        if not name.startswith(CURVE_PREFIX):
            continue
        agent = population.by_id[result.label.actor]
        pattern = next((p for p, fits in CURVE_PATTERNS.items() if fits(agent)), "?")
        size = sum(1 for a in population.agents if a.team is agent.team)
        anyone = min(result.first_page_days.values(), default=None)
        span = (result.label.end_ms - result.label.start_ms) / DAY_MS
        points.append(
            CurvePoint(pattern, float(name[len(CURVE_PREFIX) : -1]), agent.id, agent.team.id,
                       size, result.first_page_days.get(result.label.detector), anyone,
                       round(span, 2))
        )  # fmt: skip
    return sorted(points, key=lambda p: (p.pattern, p.multiple))


def curve_text(points: Sequence[CurvePoint], noise: dict[str, TraitNoise], days: float) -> str:
    """The detection-floor curve: days to the first page per collector, and the false pages
    of everyone else (all detectors and cumulative_access) per 1,000 agent-days."""
    if not points:
        return "detection-floor curve: no careful collector (run with --curve)"
    total = sum(n.pages for n in noise.values())
    own = noise["cumulative_access"].pages if "cumulative_access" in noise else 0
    rate = (lambda pages: 1000 * pages / days) if days else (lambda pages: 0.0)
    lines = [
        "detection-floor curve: careful collectors inside short interactions "
        f"(false pages of everyone else per 1k agent-days: all detectors {rate(total):.2f}, "
        f"cumulative_access {rate(own):.2f})",
        f"{'pattern':<11}{'x team':>7}{'actor':>12}{'team':>18}{'size':>6}{'collected d':>13}"
        f"{'1st page (d)':>14}{'any det. (d)':>14}",
    ]
    for p in points:
        page = "missed" if p.days_to_page is None else f"{p.days_to_page:.2f}"
        anyone = "-" if p.first_page_any is None else f"{p.first_page_any:.2f}"
        lines.append(
            f"{p.pattern:<11}{p.multiple:>7.1f}{p.actor:>12}{p.team:>18}{p.team_size:>6}"
            f"{p.days_collected:>13.2f}{page:>14}{anyone:>14}"
        )
    return "\n".join(lines)


CURVE_PREFIX = "careful_collector_"


def _by_new_actor(
    population: Population, name: str, rng: Random, at: int, used: set[str]
) -> Injected:
    """The scenario played by an actor no other scenario uses (drawn again if needed)."""
    for _ in range(50):
        injected = SCENARIOS[name](population, rng, at)
        if injected.label["actor"] not in used:
            used.add(injected.label["actor"])
            return injected
    raise ValueError(f"no free actor for scenario {name}: use more agents")


def write_period(plan: BacktestPlan, directory: Path, start_ms: int) -> PeriodFiles:
    """Simulate the plan's period to events.jsonl, labels.jsonl, roster.yaml and
    assignments.yaml."""
    plan.check()
    population = Population(
        plan.seed, plan.agents, plan.tenants, mix_named(plan.mix), team_size=plan.team_size
    )
    end_ms = start_ms + plan.days * DAY_MS
    injected, labels = inject_leaks(plan, population, start_ms, end_ms)
    last = max([end_ms, *(e["ts"] + 1 for e in injected)])
    normal = Simulator(population, plan.seed).events(start_ms, (last - start_ms) / 1000)
    files = PeriodFiles(
        directory / "events.jsonl",
        directory / "labels.jsonl",
        directory / "roster.yaml",
        population,
        start_ms,
        last,
    )
    files.count = write_jsonl(merge(normal, injected), files.events)
    write_labels(labels, files.labels)
    write_roster(population, files.roster)
    files.assignments = write_assignments(population, directory / "assignments.yaml")
    return files


BATCH_SPAN_MS = 10 * 60_000
BATCH_BOUNDS = (100, 2000)


def batch_for(files: PeriodFiles) -> int:
    """Events per replay batch so that a batch spans about BATCH_SPAN_MS of event time:
    enumeration judges its window at an actor's latest event of the batch, so a batch
    spanning more than the window (2,000 events of a quiet file can span an hour) hides a
    burst that the live worker, whose batches span seconds, would see."""
    per_ms = files.count / max(1, files.end_ms - files.start_ms)
    return max(BATCH_BOUNDS[0], min(BATCH_BOUNDS[1], round(per_ms * BATCH_SPAN_MS)))


def site_detectors(base: Path, files: PeriodFiles, directory: Path) -> Path:
    """A copy of the detector config with what a deployment derives from its workforce
    roster: off_hours reads the roster, and orphan_access allowlists the back-office teams
    and the supervisors (their work is customers with no interaction of their own)."""
    doc = yaml.safe_load(base.read_text()) or {}
    sections = doc.setdefault("detectors", {})
    for section in sections.values():
        if isinstance(section, dict):  # the copy lives elsewhere: keep its files found
            resolve_files(section, base.resolve().parent)
    off_hours = sections.get("off_hours") or {}
    off_hours["roster_file"] = str(files.roster.resolve())
    sections["off_hours"] = off_hours
    orphan = sections.get("orphan_access") or {}
    allowlist = orphan.get("allowlist") or {}
    agents = files.population.agents
    back_office = {a.team.id for a in agents if a.role == "back_office"}
    supervisors = {a.id for a in agents if a.role == "supervisor"}
    allowlist["teams"] = sorted({*(allowlist.get("teams") or []), *back_office})
    allowlist["actors"] = sorted({*(allowlist.get("actors") or []), *supervisors})
    orphan["allowlist"] = allowlist
    sections["orphan_access"] = orphan
    path = directory / "detectors.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# ---------------------------------------------------------------- what the report adds


@dataclass
class LeakResult:
    """One labelled leak: which detectors paged its actor during it, and how fast."""

    label: Label
    traits: list[str]
    first_page_days: dict[str, float] = field(default_factory=dict)  # detector -> days

    @property
    def caught(self) -> bool:
        return self.label.detector in self.first_page_days


def leak_results(
    labels: Sequence[Label], pages: Sequence[Page], population: Population
) -> list[LeakResult]:
    """Per label, the first page of every detector on its actor during the leak."""
    results = []
    for label in labels:
        result = LeakResult(label, _traits(population, label.actor))
        for page in pages:
            if not page.touches(label, DEFAULT_SLACK_MS):
                continue
            days = round(max(0, page.window_end_ms - label.start_ms) / DAY_MS, 3)
            if days < result.first_page_days.get(page.detector, float("inf")):
                result.first_page_days[page.detector] = days
        results.append(result)
    return results


@dataclass
class TraitNoise:
    """False pages of one detector on actors with no label, by population trait."""

    detector: str
    pages: int = 0
    actors: set[str] = field(default_factory=set)
    by_trait: Counter[str] = field(default_factory=Counter)  # pages
    actors_by_trait: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def trait_noise(
    labels: Sequence[Label], pages: Sequence[Page], population: Population
) -> dict[str, TraitNoise]:
    """Per detector, its pages on actors with no leak that match no label, counted by the
    paged actor's traits together (e.g. `back_office+hot_desk`), so each page counts once."""
    leaking = {label.actor for label in labels}
    noise: dict[str, TraitNoise] = {}
    for page in pages:
        if page.actor in leaking or any(page.matches(lab, DEFAULT_SLACK_MS) for lab in labels):
            continue
        if page.actor.startswith(CHANNEL_ACTOR):  # a channel's page: counted per channel-day
            continue
        entry = noise.setdefault(page.detector, TraitNoise(page.detector))
        entry.pages += 1
        entry.actors.add(page.actor)
        kind = _kind(population, page.actor)
        entry.by_trait[kind] += 1
        entry.actors_by_trait[kind].add(page.actor)
    return noise


def _traits(population: Population, actor: str) -> list[str]:
    agent = population.by_id.get(actor)
    if agent is None:  # a page about a channel or a source address, not an agent
        return [NOT_AN_AGENT]
    return traits(agent) or [PLAIN]


def _kind(population: Population, actor: str) -> str:
    """The actor's traits as one name: `plain`, `supervisor+hot_desk`, …"""
    return "+".join(_traits(population, actor))


NOT_AN_AGENT = "not_an_agent"
TOTAL = "(agents)"


def trait_counts(population: Population) -> Counter[str]:
    """How many agents have each combination of traits, and under TOTAL how many agents."""
    counts = Counter(_kind(population, agent.id) for agent in population.agents)
    counts[TOTAL] = len(population.agents)
    return counts


def normal_agent_days(report: ReplayReport, labels: Sequence[Label]) -> float:
    """Agent-days of the scored span for the actors no label names."""
    leaking = len({label.actor for label in labels})
    if not report.actors:
        return 0.0
    return report.agent_days * max(0, report.actors - leaking) / report.actors


def noise_text(noise: dict[str, TraitNoise], counts: Counter[str], agent_days: float) -> str:
    """False pages on normal actors by detector and trait; the rate of a trait is per 1,000
    agent-days of the agents with that trait (their share of `agent_days`)."""
    if not noise:
        return "false pages on actors with no leak: none"
    agents = counts[TOTAL] or 1
    width = 2 + max(len(t) for n in noise.values() for t in [*n.by_trait, "traits"])
    lines = [
        "false pages on actors with no leak, by the paged actor's traits",
        f"{'detector':<20}{'traits':<{width}}{'pages':>7}{'actors':>8}{'of':>6}"
        f"{'per 1k agent-days':>19}",
    ]
    for name in sorted(noise, key=lambda d: -noise[d].pages):
        entry = noise[name]
        rate = 1000 * entry.pages / agent_days if agent_days else 0.0
        lines.append(
            f"{name:<20}{'(all)':<{width}}{entry.pages:>7}{len(entry.actors):>8}{agents:>6}{rate:>19.2f}"
        )
        for trait, pages in entry.by_trait.most_common():
            trait_days = agent_days * counts[trait] / agents
            per_1k = f"{1000 * pages / trait_days:.2f}" if trait_days else "n/a"
            lines.append(
                f"{'':<20}{trait:<{width}}{pages:>7}{len(entry.actors_by_trait[trait]):>8}"
                f"{counts[trait]:>6}{per_1k:>19}"
            )
    return "\n".join(lines)


def channels_text(result: BacktestResult) -> str:
    """Pages about silent channels that no label names, per channel-day of the scored span."""
    report = result.report
    channels = report.channels
    span = (report.last_ms or 0) - (report.measure_from_ms or report.first_ms or 0)
    channel_days = channels * max(0, span) / DAY_MS
    pages = sum(s.fp_channels for s in result.scores.values())
    rate = f"{pages / channel_days:.2f}" if channel_days else "n/a"
    return (
        f"pages on silent channels no label names: {pages} in {channel_days:,.1f} "
        f"channel-days ({channels} channels): {rate} per channel-day"
    )


def leaks_text(results: Sequence[LeakResult]) -> str:
    """One line per leak: its detector's first page, and every other detector that paged."""
    lines = [
        f"{'scenario':<22}{'actor':<12}{'traits':<22}{'expected':<19}{'1st page (d)':>13}  "
        "other detectors paging the actor during the leak (days)"
    ]
    for r in sorted(results, key=lambda r: (r.label.scenario, r.label.actor)):
        own = r.first_page_days.get(r.label.detector)
        others = ", ".join(
            f"{d} {days:.2f}"
            for d, days in sorted(r.first_page_days.items(), key=lambda kv: kv[1])
            if d != r.label.detector
        )
        lines.append(
            f"{r.label.scenario:<22}{r.label.actor:<12}{','.join(r.traits):<22}"
            f"{r.label.detector:<19}{'missed' if own is None else f'{own:.2f}':>13}  "
            f"{others or '-'}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the whole run


@dataclass
class BacktestResult:
    """A backtest's period, replay and scores."""

    files: PeriodFiles
    report: ReplayReport
    labels: list[Label]
    scores: dict[str, DetectorScore]
    leaks: list[LeakResult]
    noise: dict[str, TraitNoise]
    normal_agent_days: float
    curve: list[CurvePoint] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The figures `--json` writes."""
        days = self.normal_agent_days
        return {
            "events": self.report.events,
            "agent_days_scored": self.report.agent_days,
            "normal_agent_days": days,
            "detectors": {name: s.as_dict(days) for name, s in self.scores.items()},
            "leaks": [
                {**asdict(r.label), "traits": r.traits, "first_page_days": r.first_page_days}
                for r in self.leaks
            ],
            "false_pages_by_trait": {
                name: {
                    "pages": n.pages,
                    "actors": len(n.actors),
                    "by_trait": dict(n.by_trait),
                    "actors_by_trait": {t: len(a) for t, a in n.actors_by_trait.items()},
                }
                for name, n in self.noise.items()
            },
            "agents_by_trait": dict(trait_counts(self.files.population)),
            "curve": {
                "points": [asdict(point) for point in self.curve],
                "false_pages_per_1000_agent_days": {
                    name: 1000 * n.pages / days if days else 0.0 for name, n in self.noise.items()
                },
            },
            "findings": [vars(entry) for entry in self.report.by_actor.values()],
        }


def run_backtest(
    plan: BacktestPlan,
    files: PeriodFiles,
    detector_settings: DetectorSettings,
    options: ReplayOptions,
) -> BacktestResult:
    """Replay a written period (warm-up days not scored) and score it."""
    report = run_replay(files.events, detector_settings, options)
    labels = report.scored_labels(read_labels(files.labels))
    pages = report.scored_pages()
    days = normal_agent_days(report, labels)
    leaks = leak_results(labels, pages, files.population)
    return BacktestResult(
        files,
        report,
        labels,
        score(report.detectors, labels, pages),
        leaks,
        trait_noise(labels, pages, files.population),
        days,
        curve_points(leaks, files.population),
    )
