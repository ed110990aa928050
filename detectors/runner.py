"""Runs the detectors over one batch: each actor's new events through the actor-side
detectors, the whole batch through the shared-side detectors.

Pure logic (no store): the worker, replay and the tests use it with different stores.
Actor by actor, events pass the actor's admission (no re-delivery, not older than the
batch's horizon: those are handed back for the late lane) and go, in event-time order and
in slices of at most `span_ms` of event time, only to the detectors that read their
action: two incidents further apart than a slice are judged, and paged, apart even when
they arrive in one batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.base import ActorDetector, Context, Detector, Finding, SharedDetector, SharedPending
from detectors.event import Event
from detectors.state.actor import MAX_IDS, ActorState
from detectors.state.shared.plan import Plan

DEFAULT_LATENESS_MS = 60 * 60_000
UNSET = (None, "", ())  # a field holding one of these is not set (see ActorDetector)


@dataclass(slots=True)
class Observed:
    """What an actor's events did: those applied, the findings, the re-delivered ones
    dropped, the late ones handed back (older than the horizon), and those applied although
    their id was seen before with other content (a producer reusing ids)."""

    fresh: list[Event] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    duplicates: int = 0
    late: list[Event] = field(default_factory=list)
    reused: list[Event] = field(default_factory=list)


def allowlisted(detector: Any, finding: Finding, teams: Iterable[str | None] = ()) -> bool:
    """True when the finding's actor, or one of `teams`, is on the detector's allowlist for
    the tenant. `teams` are trusted teams (Event.trusted_team), never the finding's own
    `team`: that is the peer group an event may claim for itself."""
    tuning = getattr(detector, "tuning", None)
    if tuning is None:
        return False
    return any(tuning.allows_actor(finding.tenant, finding.actor, team) for team in (None, *teams))


def trusted_teams(events: Sequence[Event], tenant: str) -> set[str | None]:
    """The trusted teams the actor's events carry for `tenant`."""
    return {e.trusted_team for e in events if e.tenant == tenant and e.trusted_team}


class Runner:
    """The configured detectors, split by side, with an index of who reads which action."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        lateness_ms: int = DEFAULT_LATENESS_MS,
        span_ms: int | None = None,
        max_ids: int = MAX_IDS,
    ) -> None:
        self.detectors = list(detectors)
        self.lateness_ms = lateness_ms  # allowed lateness behind the watermark
        self.span_ms = span_ms  # event time judged at once at most (None: a whole batch)
        self.max_ids = max_ids  # event ids remembered per actor for dedup at most
        self.actor_side: list[ActorDetector] = [d for d in detectors if hasattr(d, "observe")]
        self.shared_side: list[SharedDetector] = [d for d in detectors if hasattr(d, "plan_shared")]
        self.loaders = {d.name: d.load_slot for d in self.actor_side}
        self._readers: dict[str, tuple[list[ActorDetector], list[tuple[ActorDetector, Any]]]] = {}

    def readers(self, event: Event) -> list[ActorDetector]:
        """The actor-side detectors that read `event`, in catalog order: those reading its
        action, and those reading an event that carries one of their `fields`."""
        found = self._readers.get(event.action)
        if found is None:
            found = self._readers[event.action] = self.index(event.action)
        always, maybe = found
        if not maybe:
            return always
        extra = [d for d, fields in maybe if any(getattr(event, f) not in UNSET for f in fields)]
        if not extra:
            return always
        return [d for d in self.actor_side if d in always or d in extra]

    def index(self, action: str) -> tuple[list[ActorDetector], list[tuple[ActorDetector, Any]]]:
        """(the detectors reading `action`, (detector, fields) of those reading it only on
        an event carrying one of their fields)."""
        always = [d for d in self.actor_side if d.actions is None or action in d.actions]
        maybe = [
            (d, getattr(d, "fields", ()))
            for d in self.actor_side
            if d not in always and reads_fields(d)
        ]
        return always, maybe

    def observe(
        self, state: ActorState, events: Sequence[Event], ctx: Context, horizon_ms: int
    ) -> Observed:
        """Admit the actor's events at `horizon_ms` and run them through the detectors
        that read them; late events come back unapplied."""
        reused: list[Event] = []
        fresh, duplicates, late = state.admit(
            events, horizon_ms, self.lateness_ms, self.max_ids, reused
        )
        observed = Observed(fresh, [], duplicates, late, reused)
        for part in slices(fresh, self.span_ms):
            self.judge(state, part, ctx, observed.findings)
        return observed

    def judge(
        self, state: ActorState, events: list[Event], ctx: Context, out: list[Finding]
    ) -> None:
        """Each detector judges the events it reads (allowlists see every event's team)."""
        for detector, mine in self.route(events):
            for finding in detector.observe(state, mine, ctx):
                if not allowlisted(detector, finding, trusted_teams(events, finding.tenant)):
                    out.append(finding)

    def route(self, events: list[Event]) -> list[tuple[ActorDetector, list[Event]]]:
        """(detector, the events it reads) in catalog order, for those reading any."""
        if len(events) == 1:
            return [(d, events) for d in self.readers(events[0])]
        mine: dict[int, list[Event]] = {}
        for event in events:
            for detector in self.readers(event):
                mine.setdefault(id(detector), []).append(event)
        return [(d, mine[id(d)]) for d in self.actor_side if id(d) in mine]

    def plan_shared(
        self, events: Sequence[Event], plan: Plan, horizon_ms: int
    ) -> list[tuple[Any, SharedPending]]:
        """Every shared-side detector plans the batch (re-delivered events too); windows
        keep what is needed from `horizon_ms` on."""
        return [(d, d.plan_shared(events, plan, horizon_ms)) for d in self.shared_side]

    @staticmethod
    def shared_owners(pending: list[tuple[Any, SharedPending]]) -> list[str]:
        """Owner hashes the shared side asked about, once each."""
        return list(dict.fromkeys(key for _, p in pending for key in p.owners()))

    def shared_findings(self, pending: list[tuple[Any, SharedPending]]) -> list[Finding]:
        """Findings from the shared answers, once the plan has been applied."""
        return [f for d, p in pending for f in p.findings() if not allowlisted(d, f)]

    def load(self, actor: str, data: dict[str, Any]) -> ActorState:
        return ActorState.load(actor, data, self.loaders)


def reads_fields(detector: Any) -> bool:
    """Whether the detector reads events by their fields as well as by action."""
    return bool(getattr(detector, "fields", ()))


def slices(events: list[Event], span_ms: int | None) -> list[list[Event]]:
    """Events in event-time order cut into runs of less than `span_ms` of event time."""
    if span_ms is None or len(events) < 2 or events[-1].ts_ms - events[0].ts_ms < span_ms:
        return [events] if events else []
    out: list[list[Event]] = []
    start = events[0].ts_ms
    current: list[Event] = []
    for event in events:
        if event.ts_ms - start >= span_ms:
            out.append(current)
            current, start = [], event.ts_ms
        current.append(event)
    out.append(current)
    return out
