"""What every detector shares: the finding it returns and the shapes it implements.

A detector has one or both of two sides:
- an actor side (`ActorDetector`): it keeps a slot in each actor's state (in memory,
  made durable by the store) and judges the actor's new events as they arrive;
- a shared side (`SharedDetector`): it plans idempotent updates and queries on state no
  single actor owns (a source address, a channel) for the whole batch, re-delivered
  events included, and judges the answers once the store has applied the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from detectors.event import Event
from detectors.state.actor import ActorState
from detectors.state.shared.plan import Plan, Reply
from detectors.tuning import Tuning

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
MAX_SAMPLES = 5  # sample event ids and records an alert carries
# How long a shared key outlives its last write beyond its window (Redis TTLs run on the
# wall clock): room for events that arrive late, up to the allowed lateness.
LATE_KEEP_MS = 4 * HOUR_MS
# The peer group of actors with no trusted team: the tenant's. Peer groups (team samples,
# sums, shifts, devices) follow the trusted team only (Event.trusted_team, from the
# assignments file or a channel trusted for it): a team an event merely claims, small,
# empty or made up, never takes its actor out of the tenant's group, so it never turns a
# team-relative rule off (issue 20).
TENANT_WIDE = "-"
C = TypeVar("C")
K = TypeVar("K")
R = TypeVar("R", bound=Reply)


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
    owner: str = ""  # the key of the owner hash holding its alert; "" = the actor's
    episode: str = ""  # a finding about an episode pages once per episode ("" = none)
    late: bool = False  # judged in the late lane (events later than the allowed lateness)


class Context(Protocol):
    """What an actor-side detector may use besides the actor's own state."""

    plan: Plan  # shared updates of this batch (e.g. a closed window joins a team sample)

    def cached(self, key: str, ask: Callable[[Plan], R]) -> R | None:
        """The latest known answer of a shared query (`ask` plans it), refreshed in the
        background; None until first answered. For slow-moving shared statistics."""
        ...


class ActorDetector(Protocol):
    """Judges an actor's new events against the actor's own state."""

    name: str
    actions: frozenset[str] | None  # the actions it reads (None: every event)
    # Optional `fields: tuple[str, ...]`: it also reads any event in which one of these
    # fields is set (not None, empty or ()), whatever its action; the runner hands it
    # only those.

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        """Apply the actor's new events (never seen before, none older than
        `actor.horizon`, in event-time order) to its slot; findings for what crossed a
        threshold. Windows keep what they need from `actor.horizon` on, never less. Must
        depend only on the slot, the events and config, so the same events applied from a
        snapshot give the same slot."""
        ...

    def load_slot(self, data: Any) -> Any:
        """The slot back from its `dump()`."""
        ...


class SharedPending(Protocol):
    def owners(self) -> list[str]:
        """The owner hashes asked about (their undelivered alerts are handed back even when
        nothing new is found, e.g. after a crash)."""
        ...

    def findings(self) -> list[Finding]: ...


class SharedDetector(Protocol):
    """Plans shared-state updates and queries for a whole batch."""

    name: str

    def plan_shared(self, events: Sequence[Event], plan: Plan, horizon_ms: int) -> SharedPending:
        """Plan the batch's shared updates and queries; windows keep what is needed from
        `horizon_ms` (the batch's watermark less the allowed lateness) on."""
        ...


Detector = ActorDetector | SharedDetector


class SlidingWindow:
    """Mixin for a config with `window_minutes` and `bucket_minutes`."""

    window_minutes: int
    bucket_minutes: int

    @property
    def bucket_ms(self) -> int:
        return self.bucket_minutes * MINUTE_MS

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS

    @property
    def width(self) -> int:
        """Buckets per window."""
        return max(1, self.window_minutes // self.bucket_minutes)

    @property
    def ttl_ms(self) -> int:
        """How long a stored bucket must live: the window, one bucket, late events."""
        return (self.window_minutes + self.bucket_minutes) * MINUTE_MS + LATE_KEEP_MS

    def window_ends(self, first_ts: int, last_ts: int, horizon_ms: int) -> tuple[int, int, int]:
        """(first end bucket, last end bucket, floor) of the windows holding any of the
        events between first_ts and last_ts; buckets below the floor are closed: those
        only windows ending before the horizon (the watermark less the allowed lateness)
        would need."""
        end_lo = first_ts // self.bucket_ms
        end_hi = last_ts // self.bucket_ms + self.width - 1
        keep_from = min(end_lo, horizon_ms // self.bucket_ms) - self.width
        return end_lo, end_hi, keep_from


class Tuned(Generic[C]):
    """Base of the detectors: their per-tenant config C and the prefix of their state keys."""

    def __init__(self, tuning: Tuning[C], key_prefix: str = "") -> None:
        self.tuning = tuning
        self.prefix = key_prefix


class ByActions(Tuned[C]):
    """A detector that reads the actions its config names (`actions`), for any tenant."""

    def __init__(self, tuning: Tuning[C], key_prefix: str = "") -> None:
        super().__init__(tuning, key_prefix)
        self.actions = tuned_actions(tuning)


def severity_for(observed: float, threshold: float) -> int:
    """OCSF severity_id growing with how far past the threshold: 3 medium, 4 high, 5 critical."""
    ratio = observed / threshold if threshold > 0 else float("inf")
    if ratio >= 5:
        return 5
    if ratio >= 2:
        return 4
    return 3


class ActorBatch:
    """Per-(tenant, actor) bookkeeping for one batch: the events a detector counted, their
    time span; samples, records, channels and team are read only when a finding is made."""

    __slots__ = ("events", "first_ts", "last_ts")

    def __init__(self, event: Event) -> None:
        self.events: list[Event] = []
        self.first_ts = event.ts_ms
        self.last_ts = event.ts_ms

    def add(self, event: Event) -> None:
        self.events.append(event)
        ts = event.ts_ms
        if ts < self.first_ts:
            self.first_ts = ts
        elif ts > self.last_ts:
            self.last_ts = ts

    @property
    def team(self) -> str | None:
        """The team alerts show (the trusted one when known, else the event's own)."""
        return self.events[0].actor_team if self.events else None

    @property
    def peer_team(self) -> str:
        """The peer group the actor is judged against (see `peer_team`)."""
        return peer_team(self.events[0]) if self.events else TENANT_WIDE

    @property
    def samples(self) -> list[str]:
        """The first event ids (for the alert's evidence)."""
        return [e.event_id for e in self.events[:MAX_SAMPLES]]

    @property
    def records(self) -> list[str]:
        return [e.resource_id for e in self.events if e.resource_id][:MAX_SAMPLES]

    @property
    def channels(self) -> set[str]:
        return {e.channel for e in self.events}

    def shown(self) -> dict[str, Any]:
        """What a finding about these events shows: sample ids and records, channels, team."""
        return {
            "sample_event_ids": tuple(self.samples),
            "channels": tuple(sorted(self.channels)),
            "team": self.team,
            "sample_records": tuple(self.records),
        }


def peer_team(event: Event) -> str:
    """The actor's peer group: its trusted team, else the whole tenant (TENANT_WIDE)."""
    return event.trusted_team or TENANT_WIDE


def peer_type(event: Event) -> str:
    """The actor's kind among its peers: its trusted type, else "agent" (every actor whose
    type is not trusted is pooled with the agents, whatever its events claim)."""
    return event.trusted_type or "agent"


def tuned_actions(tuning: Any) -> frozenset[str]:
    """Every action a detector's config names, for the default and for any tenant."""
    actions: frozenset[str] = tuning.default.actions
    return actions.union(*(config.actions for config in tuning.tenants.values()))


def group_by(events: Iterable[Event], key: Callable[[Event], K | None]) -> dict[K, ActorBatch]:
    """Events summarized per `key` (events whose key is None are left out)."""
    groups: dict[K, ActorBatch] = {}
    for event in events:
        found = key(event)
        if found is None:
            continue
        group = groups.get(found)
        if group is None:
            group = groups[found] = ActorBatch(event)
        group.add(event)
    return groups


def judged(
    groups: Mapping[K, ActorBatch], judge: Callable[[K, ActorBatch], Finding | None]
) -> list[Finding]:
    """`judge` of each group, in the groups' order: its findings."""
    return [found for key, group in groups.items() if (found := judge(key, group)) is not None]


def judge_by_tenant(
    events: Iterable[Event],
    take: Callable[[Event], bool],
    judge: Callable[[str, ActorBatch], Finding | None],
) -> list[Finding]:
    """The skeleton of a detector's `observe`: each of one actor's events goes to `take`
    (which applies it to the detector's slot and says whether it counts), the counted ones
    are summarized per tenant, and each tenant's summary is judged once."""
    return judged(group_by(events, lambda e: e.tenant if take(e) else None), judge)


def count_finding(
    detector: str,
    tenant: str,
    actor: str,
    observed: float,
    threshold: float,
    title: str,
    end_ms: int,
    window_ms: int,
    evidence: dict[str, Any],
    **shown: Any,
) -> Finding:
    """A finding about a count that reached its threshold in the window ending at `end_ms`
    (severity from how far past; `shown`: the Finding's other fields)."""
    shown.setdefault("severity", severity_for(observed, threshold))
    return Finding(
        detector=detector,
        tenant=tenant,
        actor=actor,
        title=title,
        window_start_ms=end_ms - window_ms,
        window_end_ms=end_ms,
        observed=observed,
        threshold=threshold,
        evidence=evidence,
        **shown,
    )


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
    end = group.last_ts
    shown = group.shown()
    return count_finding(
        detector, tenant, actor, observed, threshold, title, end, window_ms, evidence, **shown
    )
