"""What fabricated interactions look like (issue 23, item 2), measured on a simulated period.

Reads a period written by `blindar backtest --dir DIR` (events.jsonl, labels.jsonl,
roster.yaml) and prints, for the collectors that hide each extra account inside a short
interaction (every label whose scenario is a covered or careful collector) against the
front-line agents of their teams with no leak:

- interactions: their duration (start to end), record touches per interaction and the
  share shorter than SHORT_SECONDS;
- shifts (runs of an actor's events with no gap of 4 hours): distinct customers per hour,
  and the spread of that rate within a team (peers' shifts: median, robust sd of its log)
  and within one agent (day to day: robust sd of its log), which is what a shift statistic
  must beat.

No Redis, no detector code. Usage: `.venv/bin/python -m bench.interaction_shapes DIR`.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import orjson
import yaml

SHORT_SECONDS = 180  # an interaction shorter than this is "very short"
SHIFT_GAP_MS = 4 * 3_600_000
MIN_SHIFT_HOURS = 2.0
MAD_TO_SIGMA = 1.4826
TOUCHES = {"record.view", "record.search", "record.update", "pii.unmask", "record.export"}


@dataclass
class Interaction:
    start: int = 0
    end: int = 0
    touches: int = 0


@dataclass
class ActorShifts:
    """One actor's interactions and shifts, and which of its events were injected."""

    interactions: dict[str, Interaction] = field(default_factory=dict)
    shifts: list[list[Any]] = field(default_factory=list)  # [start, last, customers]


def read(directory: Path) -> tuple[dict[str, ActorShifts], list[dict[str, Any]], dict[str, Any]]:
    actors: dict[str, ActorShifts] = defaultdict(ActorShifts)
    with (directory / "events.jsonl").open("rb") as stream:
        for line in stream:
            event = orjson.loads(line)
            _see(actors[event["actor"]["id"]], event)
    labels = [orjson.loads(line) for line in (directory / "labels.jsonl").open("rb")]
    roster = {a["id"]: a for a in yaml.safe_load((directory / "roster.yaml").read_text())}
    return actors, labels, roster


def _see(actor: ActorShifts, event: dict[str, Any]) -> None:
    ts, action = event["ts"], event["action"]
    if not actor.shifts or ts - actor.shifts[-1][1] > SHIFT_GAP_MS:
        actor.shifts.append([ts, ts, set()])
    shift = actor.shifts[-1]
    shift[1] = max(shift[1], ts)
    if action in TOUCHES and event.get("customer_id"):
        shift[2].add(event["customer_id"])
    interaction_id = event.get("interaction_id")
    if not interaction_id:
        return
    interaction = actor.interactions.setdefault(interaction_id, Interaction())
    if action == "interaction.start":
        interaction.start = ts
    elif action == "interaction.end":
        interaction.end = ts
    elif action in TOUCHES:
        interaction.touches += 1


def rates(actor: ActorShifts, since: int = 0, until: float = math.inf) -> list[float]:
    """Distinct customers per hour of each shift of at least MIN_SHIFT_HOURS in the span."""
    out = []
    for start, last, customers in actor.shifts:
        hours = (last - start) / 3_600_000
        if hours >= MIN_SHIFT_HOURS and since <= start and last < until:
            out.append(len(customers) / hours)
    return out


def log_sd(values: list[float]) -> float:
    """Robust sd of the logs (1.4826 x MAD)."""
    logs = [math.log(v) for v in values if v > 0]
    if len(logs) < 3:
        return float("nan")
    mid = median(logs)
    return MAD_TO_SIGMA * median([abs(x - mid) for x in logs])


def shapes(actor: ActorShifts, since: int = 0) -> tuple[list[float], list[int]]:
    done = [i for i in actor.interactions.values() if i.start >= since and i.end > i.start]
    return [(i.end - i.start) / 1000 for i in done], [i.touches for i in done]


def describe(name: str, durations: list[float], touches: list[int]) -> str:
    if not durations:
        return f"{name:<34} no interaction"
    short = sum(d < SHORT_SECONDS for d in durations) / len(durations)
    ordered = sorted(durations)
    p10 = ordered[len(ordered) // 10]
    return (
        f"{name:<34}{len(durations):>8}{median(durations):>10.0f}{p10:>8.0f}"
        f"{median(touches):>9.1f}{sum(touches) / len(touches):>8.2f}{100 * short:>9.1f}%"
    )


def main() -> None:
    directory = Path(sys.argv[1])
    actors, labels, roster = read(directory)
    collectors = [lab for lab in labels if "collector" in lab["scenario"]]
    leaking = {lab["actor"] for lab in labels}
    front = {a: r for a, r in roster.items() if r["role"] == "front" and r["type"] == "agent"}
    print(f"{'who':<34}{'inter.':>8}{'med s':>10}{'p10 s':>8}{'touch md':>9}{'mean':>8}"
          f"{'<' + str(SHORT_SECONDS) + 's':>10}")  # fmt: skip
    teams: dict[str, list[str]] = defaultdict(list)
    for actor, entry in front.items():
        if actor not in leaking:
            teams[entry["team"]].append(actor)
    normal = [shapes(actors[a]) for members in teams.values() for a in members]
    print(describe("front-line agents, no leak", [d for n in normal for d in n[0]],
                   [t for n in normal for t in n[1]]))  # fmt: skip
    for label in collectors:
        actor = actors[label["actor"]]
        durations, touches = shapes(actor, label["start_ms"])
        print(describe(f"{label['scenario']} {label['actor']}", durations, touches))
    print()
    print("distinct customers per hour of a shift (front line, no leak)")
    team_sd = [log_sd([r for a in m for r in rates(actors[a])]) for m in teams.values()]
    own_sd = [log_sd(rates(actors[a])) for m in teams.values() for a in m]
    everyone = [r for m in teams.values() for a in m for r in rates(actors[a])]
    print(
        f"  shifts {len(everyone)}, median {median(everyone):.2f}/h; robust sd of the log: "
        f"within a team (median over {len(team_sd)} teams) {_med(team_sd):.3f}, within an "
        f"agent, day to day (median over {len(own_sd)} agents) {_med(own_sd):.3f}"
    )
    for label in collectors:
        team = roster[label["actor"]]["team"]
        peers = [r for a in teams.get(team, []) for r in rates(actors[a])]
        own_before = rates(actors[label["actor"]], until=label["start_ms"])
        own_during = rates(actors[label["actor"]], since=label["start_ms"] - 3_600_000)
        print(
            f"  {label['scenario']:<24}{label['actor']}: team median {median(peers):.2f}/h, "
            f"own before {_med(own_before):.2f}/h, during {_med(own_during):.2f}/h "
            f"({_med(own_during) / median(peers):.2f}x the team)"
        )


def _med(values: list[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return median(clean) if clean else float("nan")


if __name__ == "__main__":
    main()
