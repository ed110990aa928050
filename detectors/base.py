"""What every detector shares: the finding it returns and the shape it implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from detectors.event import Event
from detectors.state import Plan
from detectors.tuning import Tuning

MINUTE_MS = 60_000
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's verdict on one actor: what crossed which threshold, and by how much."""

    detector: str
    tenant: str
    actor: str
    severity: int
    title: str
    window_start_ms: int
    window_end_ms: int
    observed: float
    threshold: float
    evidence: dict[str, Any] = field(default_factory=dict)
    sample_event_ids: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    team: str | None = None
    sample_records: tuple[str, ...] = ()  # raw record ids: the service pseudonymizes them


class SlidingWindow:
    """Mixin for a config with `window_minutes`, `bucket_minutes` and `lateness_minutes`."""

    window_minutes: int
    bucket_minutes: int
    lateness_minutes: int

    @property
    def bucket_ms(self) -> int:
        return self.bucket_minutes * MINUTE_MS

    @property
    def width(self) -> int:
        """Buckets per window."""
        return max(1, self.window_minutes // self.bucket_minutes)

    @property
    def ttl_ms(self) -> int:
        """How long a bucket must live: the window, late events, one bucket of slack."""
        return (self.window_minutes + self.lateness_minutes + self.bucket_minutes) * MINUTE_MS


class Pending(Protocol):
    """A detector's half-done work on one batch: turns query results into findings."""

    def findings(self, results: Sequence[int]) -> list[Finding]: ...


class Detector(Protocol):
    """A detector plans state updates for a batch, then judges the query results."""

    name: str

    def plan(self, events: Sequence[Event], plan: Plan) -> Pending: ...


class Tuned(Generic[C]):
    """Base of the detectors: their per-tenant config C and the prefix of their state keys."""

    def __init__(self, tuning: Tuning[C], key_prefix: str = "") -> None:
        self.tuning = tuning
        self.prefix = key_prefix


def severity_for(observed: float, threshold: float) -> int:
    """OCSF severity_id growing with how far past the threshold: 3 medium, 4 high, 5 critical."""
    ratio = observed / threshold if threshold > 0 else float("inf")
    if ratio >= 5:
        return 5
    if ratio >= 2:
        return 4
    return 3


def actor_key(prefix: str, detector: str, tenant: str, actor: str, suffix: str) -> str:
    """A Redis key for one actor's state; the {tenant:actor} hash tag keeps it on one slot."""
    return f"{prefix}{detector}:{{{tenant}:{actor}}}:{suffix}"


class ActorBatch:
    """Per-(tenant, actor) bookkeeping for one batch: latest time, samples, channels."""

    __slots__ = ("channels", "first_ts", "last_ts", "records", "samples", "team", "trusted_team")

    def __init__(self, event: Event) -> None:
        self.first_ts = event.ts_ms
        self.last_ts = event.ts_ms
        self.samples: list[str] = []
        self.records: list[str] = []
        self.channels: set[str] = set()
        self.team = event.actor_team  # peer group
        self.trusted_team = event.trusted_team  # allowlists

    def add(self, event: Event, max_samples: int = 5) -> None:
        self.first_ts = min(self.first_ts, event.ts_ms)
        self.last_ts = max(self.last_ts, event.ts_ms)
        if len(self.samples) < max_samples:
            self.samples.append(event.event_id)
        if event.resource_id and len(self.records) < max_samples:
            self.records.append(event.resource_id)
        self.channels.add(event.channel)


def tuned_actions(tuning: Any) -> frozenset[str]:
    """Every action a detector's config names, for the default and for any tenant."""
    actions: frozenset[str] = tuning.default.actions
    return actions.union(*(config.actions for config in tuning.tenants.values()))


def group_by_actor(
    events: Sequence[Event], wanted: frozenset[str]
) -> dict[tuple[str, str], ActorBatch]:
    """Events whose action is in `wanted`, summarized per (tenant, actor)."""
    groups: dict[tuple[str, str], ActorBatch] = {}
    for event in events:
        if event.action not in wanted:
            continue
        key = (event.tenant, event.actor_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ActorBatch(event)
        group.add(event)
    return groups


class Describe(Protocol):
    def __call__(self, tenant: str, actor: str, group: ActorBatch, value: int) -> Finding: ...


class ThresholdPending:
    """Findings for every queried actor whose value reaches its tenant's threshold."""

    __slots__ = ("describe", "queries")

    def __init__(self, describe: Describe) -> None:
        self.describe = describe
        self.queries: list[tuple[int, int, str, str, ActorBatch]] = []

    def add(self, index: int, threshold: int, tenant: str, actor: str, group: ActorBatch) -> None:
        self.queries.append((index, threshold, tenant, actor, group))

    def findings(self, results: Sequence[int]) -> list[Finding]:
        return [
            self.describe(tenant, actor, group, results[index])
            for index, threshold, tenant, actor, group in self.queries
            if results[index] >= threshold
        ]


def window_finding(
    detector: str,
    tenant: str,
    actor: str,
    group: ActorBatch,
    window_ms: int,
    observed: int,
    threshold: int,
    title: str,
    evidence: dict[str, Any],
) -> Finding:
    """A finding about one actor's sliding window ending at its latest event."""
    return Finding(
        detector=detector,
        tenant=tenant,
        actor=actor,
        severity=severity_for(observed, threshold),
        title=title,
        window_start_ms=group.last_ts - window_ms,
        window_end_ms=group.last_ts,
        observed=observed,
        threshold=threshold,
        evidence=evidence,
        sample_event_ids=tuple(group.samples),
        channels=tuple(sorted(group.channels)),
        team=group.team,
        sample_records=tuple(group.records),
    )
