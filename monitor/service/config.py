"""Detector configuration (deploy/config/detectors.yaml): load, validate, build detectors.

The file is validated by pydantic models made from the runtime dataclasses (the detectors'
config classes, StateSettings, EventTimeSettings), so a setting's type and default are
written once. Errors name the file, the exact key path and the reason, e.g.
`detectors.yaml: detectors.bulk_export.window_minutes: must be a positive integer, got -5`;
every problem found is reported at once. The detectors read the plain dataclasses.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import PlainValidator, create_model

from detectors.base import Detector
from detectors.catalog import CATALOG
from detectors.tuning import Allowlist, Tuning
from monitor.service.validation import (
    ConfigError,
    Flag,
    PositiveInt,
    PositiveNumber,
    Section,
    Text,
    fail,
    list_of,
    mapping_of,
    strings,
    validate,
)

REPLACED = (
    "no longer a setting: one allowed lateness, measured against the watermark, serves "
    "every detector (event_time.allowed_lateness_minutes)"
)


@dataclass(frozen=True)
class EventTimeSettings:
    """How event time is judged (detectors.yaml → event_time; docs/operations.md)."""

    # how far behind the watermark an event may be and still be judged on time; older
    # events go to the late lane. Windows and dedup ids are kept this long behind it.
    allowed_lateness_minutes: int = 60
    # a partition that delivered nothing for this long leaves the watermark (idleness)
    idle_seconds: int = 30
    # a partition whose event time runs this far ahead of the watermark is paused
    alignment_minutes: int = 30
    # the late lane forgets an actor's late state this long after its last late event
    late_lane_ttl_hours: int = 48

    @property
    def lateness_ms(self) -> int:
        return self.allowed_lateness_minutes * 60_000


@dataclass(frozen=True)
class StateSettings:
    """How actor state is kept (detectors.yaml → state)."""

    snapshot_every: int = 16  # batches between two snapshots of an actor's state
    ttl_days: int = 90  # an actor's state lives this long after its last event
    ttl_refresh_minutes: int = 60
    idle_minutes: int = 30  # an actor unseen this long leaves memory (its state stays stored)
    max_actors: int = 200_000  # actors kept in memory at most
    shared_refresh_seconds: int = 60  # how stale a cached shared statistic may get
    # event ids (with their content digest) an actor remembers for dedup at most: beyond,
    # the ones remembered longest ago are forgotten (docs/state.md, "Re-delivery")
    max_ids_per_actor: int = 50_000


@dataclass(frozen=True)
class DetectorSettings:
    """The validated detector file: alert settings and one config object per enabled detector."""

    suppression_minutes: float = 30
    configs: dict[str, Tuning[Any]] = field(default_factory=dict)
    state: StateSettings = field(default_factory=StateSettings)
    event_time: EventTimeSettings = field(default_factory=EventTimeSettings)

    def build(self, key_prefix: str = "") -> list[Detector]:
        return [CATALOG[name][1](tuning, key_prefix) for name, tuning in self.configs.items()]


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a ConfigError."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path.name}: not valid YAML{where}") from None


def load_detectors(path: Path) -> DetectorSettings:
    """Load and validate detectors.yaml; every problem found is in the ConfigError."""
    raw = read_yaml(path) or {}
    sections = raw.get("detectors") if isinstance(raw, dict) else None
    for section in sections.values() if isinstance(sections, dict) else ():
        if isinstance(section, dict):
            resolve_files(section, path.parent)
    doc = validate(detectors_file_model(), raw, path.name)
    problems: list[str] = []
    configs = {}
    for name in sections or {}:  # the file's order
        section = getattr(doc.detectors, name)
        tuning = build_tuning(CATALOG[name][0], section, path.name, f"detectors.{name}", problems)
        if section.enabled and tuning is not None:
            configs[name] = tuning
    state = build(StateSettings, doc.state.given(), path.name, "state", problems)
    event_time = build(EventTimeSettings, doc.event_time.given(), path.name, "event_time", problems)
    if problems:
        raise ConfigError(*problems)
    return DetectorSettings(doc.alerts.suppression_minutes, configs, state, event_time)


class AlertsSection(Section):
    suppression_minutes: PositiveNumber = 30  # fractions: short test windows


def _pattern(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        fail("must be a string")
    try:
        return re.compile(value)
    except re.error as exc:
        fail(f"bad regex: {exc}")


Patterns = Annotated[
    tuple[Annotated[Any, PlainValidator(_pattern)], ...], list_of("must be a list of strings")
]
Names = strings(frozenset)


class AllowlistSection(Section):
    actors: Names = frozenset()
    teams: Names = frozenset()
    actor_patterns: Patterns = ()
    destination_domains: Names = frozenset()

    def allowlist(self) -> Allowlist:
        return Allowlist(
            actors=self.actors,
            teams=self.teams,
            actor_patterns=self.actor_patterns,
            destination_domains=frozenset(d.lower() for d in self.destination_domains),
        )


class DetectorSection(Section):
    """A detector's section (its settings are added from its config dataclass)."""

    REPLACED: ClassVar[dict[str, str]] = {"lateness_minutes": REPLACED}


class DetectorsSection(Section):
    """detectors: one section per detector of the catalog (fields added from it)."""

    NOT_MAPPING: ClassVar[str] = "must be a mapping of detector name to settings"
    UNKNOWN: ClassVar[str] = "unknown detector (known: {allowed})"


class StateSection(Section):
    REPLACED: ClassVar[dict[str, str]] = {"late_minutes": REPLACED}


def value_type(hint: Any) -> Any:
    """The validated type of a setting of a runtime dataclass (ints and numbers positive)."""
    simple = {int: PositiveInt, float: PositiveNumber, bool: Flag, str: Text}
    if hint in simple:
        return simple[hint]
    origin = typing.get_origin(hint)
    if origin in (frozenset, tuple, list):
        return strings(origin)
    raise TypeError(f"unsupported setting type {hint!r}")


@functools.cache
def section_model(cls: type, base: type[Section] = Section) -> type[Section]:
    """A pydantic model of a runtime dataclass: one validated key per field. The defaults
    stay the dataclass's: only the keys given are passed to it (`Section.given`)."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {
        f.name: (value_type(hints[f.name]), None) for f in dataclasses.fields(cls)
    }
    return create_model(f"{cls.__name__}Section", __base__=base, **fields)  # type: ignore[call-overload,no-any-return]


def detector_model(cls: type) -> type[Section]:
    """A detector's section: its settings, `enabled`, an allowlist and tenant overrides
    (its settings and an allowlist)."""
    override = create_model(
        f"{cls.__name__}Override", __base__=section_model(cls), allowlist=(AllowlistSection, None)
    )
    tenants = Annotated[dict[str, override], mapping_of("must map tenant names to overrides")]  # type: ignore[valid-type]
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{cls.__name__}Detector",
        __base__=section_model(cls, DetectorSection),
        enabled=(Flag, True),
        allowlist=(AllowlistSection, AllowlistSection()),
        tenants=(tenants, {}),
    )


@functools.cache
def detectors_file_model() -> type[Section]:
    """The whole of detectors.yaml (a detector section per catalog entry)."""
    detectors = create_model(
        "Detectors",
        __base__=DetectorsSection,
        **{name: (detector_model(entry[0]), None) for name, entry in CATALOG.items()},
    )
    state = section_model(StateSettings, StateSection)
    event_time = section_model(EventTimeSettings)
    return create_model(  # type: ignore[call-overload,no-any-return]
        "DetectorsFile",
        __base__=Section,
        alerts=(AlertsSection, AlertsSection()),
        detectors=(detectors, detectors()),
        state=(state, state()),
        event_time=(event_time, event_time()),
    )


def resolve_files(section: dict[str, Any], base: Path) -> None:
    """Settings named `*_file` (and their per-tenant overrides) are relative to the config dir."""
    tenants = section.get("tenants")
    scopes = (
        [section, *(t for t in tenants.values() if isinstance(t, dict))]
        if isinstance(tenants, dict)
        else [section]
    )
    for scope in scopes:
        for key, value in scope.items():
            if key.endswith("_file") and isinstance(value, str) and value:
                scope[key] = str(base / value)


def build(cls: type, values: dict[str, Any], where: str, path: str, problems: list[str]) -> Any:
    """The runtime dataclass from validated values; its own checks' errors are collected."""
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {path}: {exc}")
        return None


def build_tuning(
    cls: type, section: Any, where: str, path: str, problems: list[str]
) -> Tuning[Any] | None:
    """A detector's default config, per-tenant overrides and allowlists from its section."""
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in section.given().items() if k in fields}
    default = build(cls, values, where, path, problems)
    tenants, tenant_allowlists = {}, {}
    for tenant, overrides in section.tenants.items():
        if overrides.allowlist is not None:
            tenant_allowlists[tenant] = overrides.allowlist.allowlist()
        given = {k: v for k, v in overrides.given().items() if k in fields}
        tenants[tenant] = build(
            cls, {**values, **given}, where, f"{path}.tenants.{tenant}", problems
        )
    if default is None or any(t is None for t in tenants.values()):
        return None
    return Tuning(default, tenants, section.allowlist.allowlist(), tenant_allowlists)


def expect_keys(doc: Any, allowed: set[str], where: str, path: str) -> None:
    """The hand check still used by the mapping rules, tenants and assignments files."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: {path or '(top level)'}: must be a mapping")
    for key in doc:
        if key not in allowed:
            at = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: {at}: unknown key (allowed: {', '.join(sorted(allowed))})")
