"""Trusted assignments: which tenants an actor serves and which team they are in.

An event may say anything about its own actor, so `actor.tenants`, `actor.team` and
`actor.type` are not trusted by default. The trusted source is an assignments file
exported from workforce management (YAML or CSV, `BLINDAR_ASSIGNMENTS_FILE`, reloaded
live when it changes), and channels configured as trusted for them (`trusted: [tenants,
team, type]` in the channel registry, e.g. the IAM or WFM feed): there the event's own
values count.

`Trust.resolve` runs while an event is decoded: the `Event` handed to detectors carries
the trusted tenants (`actor_tenants`, empty when none is known), the source that decided
them (`assignment_source`), the trusted team (`trusted_team`, the only team allowlists
read) and the trusted actor type (`trusted_type`, the only type exemptions by type read:
a supervisor's QA reviews in orphan_access and recording_access). Peer groups too are
chosen by the trusted team and type only (none: the tenant-wide group); `actor_team` (the
trusted team when known, else the event's own) is shown in alerts, never judged by.

`trusted_kinds` says which of tenants, team and type any trusted source gives at all: a
control that needs one no source gives is not in force (monitor/service/controls.py).

YAML:   actors: {agent-7: {tenants: [acme, globex], team: t-1, type: supervisor}}
CSV:    actor,tenants,team,type   (header; tenants separated by `;`; team, type optional)
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.service import metrics
from monitor.service.config import ConfigError, expect_keys, read_yaml
from monitor.service.contract import ACTOR_TYPES, FORBIDDEN_RE, ID, MAX_TENANTS

log = logging.getLogger("blindar.worker")

FROM_FILE = "assignments_file"
TRUSTABLE = frozenset({"tenants", "team", "type"})


@dataclass(frozen=True, slots=True)
class Assignment:
    """One actor's trusted tenants, team and type."""

    tenants: tuple[str, ...]
    team: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class Assignments:
    """Every actor's assignment from the file (empty without a file)."""

    by_actor: dict[str, Assignment] = field(default_factory=dict)
    source: str = ""

    def get(self, actor: str) -> Assignment | None:
        return self.by_actor.get(actor)


@dataclass(frozen=True)
class Trust:
    """How events of one channel (the topic they came from) get trusted assignments."""

    assignments: Assignments
    channel: str = ""
    tenants_from_event: bool = False
    team_from_event: bool = False
    type_from_event: bool = False

    def resolve(self, actor: str, fields: dict[str, Any]) -> None:
        """Replace the event's own tenants/team/type in `fields` (Event keyword arguments)."""
        known = self.assignments.by_actor.get(actor)
        own_tenants = fields.get("actor_tenants")
        own_team = fields.get("actor_team")
        if known is not None:
            fields["actor_tenants"] = known.tenants
            fields["assignment_source"] = FROM_FILE
        elif own_tenants and self.tenants_from_event:
            fields["assignment_source"] = f"channel:{self.channel}"
        elif own_tenants:
            fields["actor_tenants"] = ()
        if known is not None and known.team is not None:
            fields["actor_team"] = fields["trusted_team"] = known.team
        elif own_team and self.team_from_event:
            fields["trusted_team"] = own_team
        if known is not None and known.type is not None:
            fields["actor_type"] = fields["trusted_type"] = known.type
        elif self.type_from_event:
            fields["trusted_type"] = fields.get("actor_type", "agent")


def trusted_kinds(assignments: Assignments, channels: Iterable[frozenset[str]]) -> frozenset[str]:
    """Which of tenants, team and type some trusted source gives: the assignments file (for
    any actor) or a channel trusted for it (`channels`: each channel's `trusted`)."""
    kinds: set[str] = set().union(*channels) & TRUSTABLE
    listed = assignments.by_actor.values()
    if any(a.tenants for a in listed):
        kinds.add("tenants")
    if any(a.team for a in listed):
        kinds.add("team")
    if any(a.type for a in listed):
        kinds.add("type")
    return frozenset(kinds)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ConfigError(f"{where}: must be a string")
    text = str(value).strip()
    if not text or len(text) > ID or FORBIDDEN_RE.search(text):
        raise ConfigError(f"{where}: must be 1-{ID} printable characters")
    return text


def _assignment(tenants: Any, team: Any, kind: Any, where: str) -> Assignment:
    if isinstance(tenants, str):
        tenants = [t for t in tenants.split(";") if t.strip()]
    if not isinstance(tenants, list) or len(tenants) > MAX_TENANTS:
        raise ConfigError(f"{where}.tenants: must be a list of at most {MAX_TENANTS} tenants")
    return Assignment(
        tuple(_text(t, f"{where}.tenants[{i}]") for i, t in enumerate(tenants)),
        None if team in (None, "") else _text(team, f"{where}.team"),
        None if kind in (None, "") else _actor_type(kind, f"{where}.type"),
    )


def _actor_type(value: Any, where: str) -> str:
    if value not in ACTOR_TYPES:
        raise ConfigError(f"{where}: must be one of {', '.join(sorted(ACTOR_TYPES))}")
    return str(value)


def _from_yaml(path: Path) -> dict[str, Assignment]:
    doc = read_yaml(path) or {}
    expect_keys(doc, {"actors"}, path.name, "")
    actors = doc.get("actors") or {}
    if not isinstance(actors, dict):
        raise ConfigError(f"{path.name}: actors: must map actor ids to assignments")
    out = {}
    for actor, entry in actors.items():
        where = f"{path.name}: actors.{actor}"
        expect_keys(entry or {}, {"tenants", "team", "type"}, path.name, f"actors.{actor}")
        entry = entry or {}
        out[_text(actor, where)] = _assignment(
            entry.get("tenants", []), entry.get("team"), entry.get("type"), where
        )
    return out


def _from_csv(path: Path) -> dict[str, Assignment]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc.strerror}") from None
    rows = csv.DictReader(io.StringIO(text))
    if rows.fieldnames is None or not {"actor", "tenants"} <= set(rows.fieldnames):
        raise ConfigError(f"{path.name}: header must name actor, tenants (and team, type)")
    out = {}
    for n, row in enumerate(rows, start=2):
        where = f"{path.name}: line {n}"
        out[_text(row.get("actor"), where)] = _assignment(
            row.get("tenants") or "", row.get("team"), row.get("type"), where
        )
    return out


def load_assignments(path: Path | None) -> Assignments:
    """The assignments in `path` (.yaml/.yml or .csv); none without a path."""
    if path is None:
        return Assignments()
    if path.suffix.lower() == ".csv":
        return Assignments(_from_csv(path), str(path))
    if path.suffix.lower() in (".yaml", ".yml"):
        return Assignments(_from_yaml(path), str(path))
    raise ConfigError(f"{path.name}: assignments must be a .yaml, .yml or .csv file")


class AssignmentWatcher:
    """Reloads the assignments file when its mtime or size changes; keeps the old on error."""

    def __init__(self, path: Path | None, assignments: Assignments) -> None:
        self.path = path
        self.assignments = assignments
        self.stamp = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def poll(self) -> Assignments | None:
        """The new assignments if the file changed and is valid; None otherwise."""
        stamp = self._stamp()
        if stamp == self.stamp or stamp is None:
            return None
        self.stamp = stamp
        try:
            self.assignments = load_assignments(self.path)
        except ConfigError as exc:
            metrics.ASSIGNMENT_RELOADS.labels(result="error").inc()
            log.error("assignments not reloaded, keeping the previous ones: %s", exc)
            return None
        metrics.ASSIGNMENT_RELOADS.labels(result="ok").inc()
        log.info("assignments reloaded: %d actors", len(self.assignments.by_actor))
        return self.assignments
