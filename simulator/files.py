"""A simulated period written to files: events and labels as JSON lines, the population's
roster and assignments as a workforce-management export would give them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import yaml

from simulator.model import Event
from simulator.population import Population


def write_jsonl(events: Iterable[Event], path: str | Path) -> int:
    """Write events as JSON lines; returns how many were written."""
    count = 0
    with open(path, "wb") as out:
        for event in events:
            out.write(orjson.dumps(event) + b"\n")
            count += 1
    return count


def write_labels(labels: Iterable[dict[str, Any]], path: str | Path) -> None:
    """Write scenario labels as JSON lines, one label per line."""
    Path(path).write_bytes(b"".join(orjson.dumps(label) + b"\n" for label in labels))


def write_roster(population: Population, path: str | Path) -> Path:
    """The population's shifts as an off_hours roster file (detectors.yaml → off_hours →
    roster_file), the way a workforce-management export would give them."""
    Path(path).write_text(yaml.safe_dump(population.roster(), sort_keys=False))
    return Path(path)


def write_assignments(population: Population, path: str | Path) -> Path:
    """The agents' tenants and teams as an assignments file (monitor/service/assignments.py), the
    way a workforce-management export gives them: the worker trusts it, not the events."""
    actors = {
        agent.id: {
            "tenants": [t.name for t in agent.tenants],
            "team": agent.team.id,
            "type": agent.type,
        }
        for agent in population.agents
    }
    Path(path).write_text(yaml.safe_dump({"actors": actors}, sort_keys=False))
    return Path(path)
