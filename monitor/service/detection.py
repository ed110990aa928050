"""A batch through the detectors, with each actor's state in memory and made durable in
the store in the same call as the alerts it decides.

The worker owns the actors of its partitions (events are keyed by actor), so it keeps
their states in memory: an actor is loaded from the store the first time it shows up
(its snapshot, then the batches applied since), and each batch writes only what it
added (the actor's new events, or a fresh snapshot every `snapshot_every` batches).
Every write is a compare-and-set on the actor's version: if another worker moved the
actor on (a partition that moved, producers keying by something else), the write is
refused, the actor is loaded again and its events applied again. So the state is the
store's, and memory is only a cache that is always checked.

Event time: a batch comes with a horizon (the worker's watermark less the allowed
lateness). An actor's events older than its horizon are late: they go to the actor's
late lane, a second state of the same actor (its own key, same hash tag) judged by the
same detectors on the late events' own clock. Its findings page as late arrivals, with
an alert record of their own, in the same store call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import orjson

from detectors.base import Finding
from detectors.event import Event
from detectors.runner import Observed, Runner
from detectors.state.actor import NO_HORIZON, ActorState
from detectors.state.keys import actor_tag
from detectors.state.shared.plan import Plan, Reply
from detectors.state.shared.protocol import STATUS
from monitor.service import controls, metrics
from monitor.service.alerts import Alert, Alerts
from monitor.service.canary.signing import CANARY_TEAM
from monitor.service.config import DetectorSettings, EventTimeSettings, StateSettings
from monitor.service.ledger import Ledger, LedgerBatch, LedgerSettings
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.state.codec import decode_entry, decode_owner, encode_entry
from monitor.service.state.requests import (
    NO_STATE,
    OwnerWrite,
    Pending,
    Repeat,
    WriteReply,
    WriteRequest,
)

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Reply)
MINUTE_MS = 60_000
CONFLICT_ROUNDS = 5
LATE_LANE = ":late"  # suffix of an actor's late-lane key (after its hash tag)
Owner = tuple[str, bool]  # (actor id, its late lane)


class Store(Protocol):
    async def load(self, keys: Sequence[str]) -> list[dict[bytes, bytes]]: ...

    async def write(self, request: WriteRequest) -> WriteReply: ...

    async def confirm(self, pending: Sequence[Pending]) -> None: ...


@dataclass(slots=True)
class Cached:
    """An actor in memory: its state, where it is stored and which version it is."""

    state: ActorState
    key: str
    version: int
    entries: int  # batches logged since the snapshot
    ttl_at: int = 0  # decision time the TTL was last refreshed
    used: float = 0.0  # monotonic time of last use


@dataclass(slots=True)
class Outcome:
    """What the detectors did with a batch."""

    findings: list[Finding] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    applied: list[Event] = field(default_factory=list)  # new events (not re-delivered)
    duplicates: int = 0
    reused: list[Event] = field(default_factory=list)  # applied although their id was seen
    late: list[Event] = field(default_factory=list)  # judged in the late lane
    dropped: list[Event] = field(default_factory=list)  # too late even for the late lane
    repeats: list[Repeat] = field(default_factory=list)  # findings folded without a page


def late_arrival(finding: Finding, read_ms: int) -> Finding:
    """A late lane's finding: marked, with the time its events were read beside its own."""
    evidence = {**finding.evidence, "read_time_ms": read_ms}
    return replace(finding, evidence=evidence, title=f"Late arrival: {finding.title}", late=True)


def once(pending: list[Pending]) -> list[Pending]:
    """Each alert once, as last handed back (an owner may answer twice in one batch), in
    owner order (the same whatever the Redis nodes answering)."""
    latest = {(p.key, p.field): p for p in pending}
    return [latest[k] for k in sorted(latest)]


def is_canary(event: Event) -> bool:
    """A verified canary's event (monitor/service/canary/check.py puts it in the canary peer
    group)."""
    return event.trusted_team == CANARY_TEAM


def real_events(events: Sequence[Event]) -> Sequence[Event]:
    """The events shared state may hold: canaries never feed a channel's, an address's or a
    peer group's state (a canary must not keep a silent channel looking alive)."""
    if all(e.trusted_team != CANARY_TEAM for e in events):
        return events
    return [e for e in events if e.trusted_team != CANARY_TEAM]


def asked(shared: list[Any]) -> list[OwnerWrite]:
    """A row for each shared owner asked about: its pending alerts come back."""
    return [OwnerWrite(key, NO_STATE) for key in Runner.shared_owners(shared)]


def account(outcome: Outcome, owner: Owner, observed: Observed) -> None:
    outcome.duplicates += observed.duplicates
    outcome.reused += observed.reused
    if owner[1]:
        outcome.late += observed.fresh
        outcome.dropped += observed.late
    outcome.applied += observed.fresh
    outcome.findings += observed.findings
    for finding in observed.findings:
        metrics.FINDINGS.labels(detector=finding.detector, severity=str(finding.severity)).inc()


class SharedCache:
    """Answers of slow-moving shared queries (team statistics), refreshed in the background:
    a stale answer is asked again in the next batch's store call.

    Bounded: an answer not refreshed for `max_age_ms` (unasked that long: a team or tenant
    no longer seen) is forgotten, and past `max_entries` the answers refreshed longest ago
    are forgotten first. A forgotten key reads as never answered (None, asked again in the
    same batch's call), exactly as on a worker's first batch."""

    def __init__(
        self, refresh_ms: int, max_entries: int = 20_000, max_age_ms: int | None = None
    ) -> None:
        self.refresh_ms = refresh_ms
        self.max_entries = max_entries
        self.max_age_ms = max_age_ms if max_age_ms is not None else 10 * refresh_ms
        # key -> (answer, when answered); in the order they were answered (oldest first)
        self.answers: dict[str, tuple[Any, int]] = {}
        self.asked: dict[str, Any] = {}

    def get(self, key: str, ask: Callable[[Plan], R], plan: Plan | None, now_ms: int) -> R | None:
        found = self.answers.get(key)
        stale = found is None or now_ms - found[1] >= self.refresh_ms
        if stale and plan is not None and key not in self.asked:
            self.asked[key] = ask(plan)
        return found[0] if found else None

    def answered(self, now_ms: int) -> None:
        answers = self.answers
        for key, reply in self.asked.items():
            answers.pop(key, None)  # to the newest end
            answers[key] = (reply, now_ms)
        self.asked = {}
        self.evict(now_ms)

    def evict(self, now_ms: int) -> None:
        """Forget answers older than `max_age_ms`, then the oldest past `max_entries`."""
        answers = self.answers
        while answers:
            key, (_, at) = next(iter(answers.items()))
            if now_ms - at < self.max_age_ms and len(answers) <= self.max_entries:
                return
            del answers[key]


class BatchContext:
    """The detectors' context for one batch (detectors.base.Context)."""

    def __init__(self, plan: Plan, cache: SharedCache, now_ms: int, live: bool = True) -> None:
        self.plan = plan
        self.cache = cache
        self.now_ms = now_ms
        self.live = live

    def cached(self, key: str, ask: Callable[[Plan], R]) -> R | None:
        return self.cache.get(key, ask, self.plan if self.live else None, self.now_ms)


class Detection:
    """Runs a batch: actors loaded, events applied, state and alert decisions stored."""

    def __init__(
        self,
        runner: Runner,
        store: Store,
        alerts: Alerts,
        prefix: str = "",
        settings: StateSettings | None = None,
        ledger: Ledger | None = None,
        event_time: EventTimeSettings | None = None,
    ) -> None:
        self.runner = runner
        self.store = store
        self.alerts = alerts
        self.prefix = prefix
        self.settings = settings or StateSettings()
        self.event_time = event_time or EventTimeSettings()
        self.ledger = ledger  # the assurance ledger, counted in the same store call
        self.actors: dict[Owner, Cached] = {}
        self.newest = NO_HORIZON  # newest event time run without a horizon (one stream)
        self.shared = SharedCache(self.settings.shared_refresh_seconds * 1000)
        self.swept = time.monotonic()

    def key(self, owner: Owner) -> str:
        actor, late = owner
        return f"{self.prefix}{actor_tag(actor)}{LATE_LANE if late else ''}"

    def owner_key(self, finding: Finding) -> str:
        """The key of the actor state a finding came from (its repeats name it)."""
        return self.key((finding.actor, finding.late))

    async def run(
        self,
        events: Sequence[Event],
        now_ms: int,
        entries: LedgerBatch | None = None,
        horizon_ms: int | None = None,
    ) -> Outcome:
        """The batch through the detectors, its state and alert decisions stored in one call
        (per Redis node) with its ledger entries, and `entries` no actor owns (dead letters).
        Events older than `horizon_ms` (or their actor's horizon) go to the late lane;
        without one, the batches are taken as one stream read in event-time order (the
        newest event time before this batch, less the allowed lateness)."""
        if horizon_ms is None:
            horizon_ms = self.newest - self.runner.lateness_ms
            self.newest = max(self.newest, *(e.ts_ms for e in events), NO_HORIZON)
        by_actor: dict[Owner, list[Event]] = {}
        for event in events:
            owner = (event.actor_id, False)
            own = by_actor.get(owner)
            if own is None:
                by_actor[owner] = [event]
            else:
                own.append(event)
        outcome = Outcome()
        try:
            await self.load([a for a in by_actor if a not in self.actors], now_ms)
            plan = Plan()
            ctx = BatchContext(plan, self.shared, now_ms)
            applied = [self.apply(o, own, ctx, now_ms, horizon_ms) for o, own in by_actor.items()]
            await self.late_lane(by_actor, applied, ctx, now_ms)
            shared = self.runner.plan_shared(real_events(events), plan, horizon_ms)
            self.record(plan, applied, now_ms, strict=False, entries=entries)
            writes = [w for w, _ in applied] + asked(shared)
            if not writes and not plan:
                return outcome
            reply = await self.store.write(self.request(writes, plan, now_ms))
            if self.ledger is not None:
                self.ledger.wrote()
            self.shared.answered(now_ms)
            await self.settle(by_actor, applied, reply, outcome, now_ms, horizon_ms)
            plan.fill(reply.answers)
            await self.decide_shared(self.runner.shared_findings(shared), outcome, now_ms)
        except BaseException:
            for actor in by_actor:  # memory may be ahead of the store: read it again
                self.actors.pop(actor, None)
            raise
        self.sweep()
        outcome.pending = once(outcome.pending)
        return outcome

    async def late_lane(
        self,
        by_actor: dict[Owner, list[Event]],
        applied: list[tuple[OwnerWrite, Observed]],
        ctx: BatchContext,
        now_ms: int,
    ) -> None:
        """Late events of the batch through each actor's late lane (loaded first)."""
        pairs = zip(by_actor, applied, strict=True)
        late = {(owner[0], True): obs.late for owner, (_, obs) in pairs if obs.late}
        if not late:
            return
        await self.load([o for o in late if o not in self.actors], now_ms)
        for owner, own in late.items():
            applied.append(self.apply(owner, own, ctx, now_ms, NO_HORIZON))
        by_actor.update(late)

    async def load(self, owners: list[Owner], now_ms: int) -> None:
        """Bring actors into memory: their snapshot, then the batches logged since."""
        if not owners:
            return
        keys = [self.key(owner) for owner in owners]
        stored = await self.store.load(keys)
        metrics.ACTOR_LOADS.inc(len(owners))
        ctx = BatchContext(Plan(), self.shared, now_ms, live=False)
        for owner, key, fields in zip(owners, keys, stored, strict=True):
            self.actors[owner] = self.restore(owner, key, fields, ctx)
        metrics.ACTORS_IN_MEMORY.set(len(self.actors))

    def restore(self, owner: Owner, key: str, fields: dict[bytes, bytes], ctx: Any) -> Cached:
        actor, late = owner
        stored = decode_owner(fields)
        snapshot = stored.snapshot
        state = self.runner.load(actor, orjson.loads(snapshot)) if snapshot else ActorState(actor)
        for entry in stored.entries:  # findings were decided when these were applied
            horizon, events = decode_entry(entry)
            self.observe(state, late, events, ctx, state.horizon if horizon is None else horizon)
        return Cached(state, key, stored.version, len(stored.entries))

    def observe(
        self, state: ActorState, late: bool, events: list[Event], ctx: Any, horizon_ms: int
    ) -> Observed:
        """An owner's events through the runner. The late lane keeps its own clock: its
        horizon follows the late events it applied (the allowed lateness behind the
        newest), as the on-time lane's follows the watermark."""
        observed = self.runner.observe(state, events, ctx, horizon_ms)
        if late and observed.fresh:
            clock = observed.fresh[-1].ts_ms - self.runner.lateness_ms
            state.horizon = max(state.horizon, clock)
            observed.findings = [late_arrival(f, ctx.now_ms) for f in observed.findings]
        return observed

    def apply(
        self, owner: Owner, events: list[Event], ctx: BatchContext, now_ms: int, horizon_ms: int
    ) -> tuple[OwnerWrite, Observed]:
        """The owner's events through the detectors; what to write for it."""
        cached = self.actors[owner]
        cached.used = time.monotonic()
        horizon = cached.state.horizon if owner[1] else max(horizon_ms, cached.state.horizon)
        observed = self.observe(cached.state, owner[1], events, ctx, horizon)
        write = OwnerWrite(cached.key, cached.version)
        # late events raised the horizon: it is stored even with nothing applied, so that a
        # restarted worker (its watermark starting again) sends their re-delivery to the
        # late lane again, where it is a duplicate, never judged twice
        if observed.fresh or (observed.late and not owner[1]):
            if cached.entries + 1 >= self.settings.snapshot_every:
                write.state, write.snapshot = orjson.dumps(cached.state.dump()), True
            else:
                write.state = encode_entry(horizon, observed.fresh)
        if now_ms - cached.ttl_at >= self.settings.ttl_refresh_minutes * MINUTE_MS:
            write.ttl_ms = self.ttl_ms(owner)
        write.decisions = [self.alerts.decision(f) for f in observed.findings]
        return write, observed

    def ttl_ms(self, owner: Owner) -> int:
        if owner[1]:
            return self.event_time.late_lane_ttl_hours * 60 * MINUTE_MS
        return self.settings.ttl_days * 1440 * MINUTE_MS

    def record(
        self,
        plan: Plan,
        applied: list[tuple[OwnerWrite, Observed]],
        now_ms: int,
        strict: bool,
        entries: LedgerBatch | None = None,
    ) -> None:
        """The ledger entries of this store call: each actor's new events (counted only if
        its state write goes through, see detectors/state/shared/ledger.py), those of late
        lanes also as late, those too late for their late lane as dropped, `entries`, and
        the configuration snapshot once a day."""
        ledger = self.ledger
        if ledger is None:
            return
        # canaries are not the tenant's traffic: not counted, and no channel minute
        tenant = [(w, o) for w, o in applied if not (o.fresh and is_canary(o.fresh[0]))]
        fresh = [(write.key, observed.fresh) for write, observed in tenant]
        late = {write.key for write, _ in tenant if write.key.endswith(LATE_LANE)}
        dropped = [(w.key, o.late) for w, o in tenant if o.late and w.key in late]
        ledger.events(fresh, now_ms, strict, late, dropped).put(plan, ledger.settings, now_ms)
        for more in (entries, ledger.snapshot(now_ms)):
            if more is not None:
                more.put(plan, ledger.settings, now_ms)

    async def record_alerts(
        self, published: Sequence[Alert], repeats: Sequence[Repeat], paged_ms: int
    ) -> None:
        """Published alerts and folded repeats into the ledger (idempotent by uid: an alert
        published again after a crash changes nothing)."""
        if self.ledger is None or not (published or repeats):
            return
        plan = Plan()
        self.ledger.alerts(published, repeats, paged_ms).put(plan, self.ledger.settings, paged_ms)
        if plan:
            await self.store.write(self.request([], plan, paged_ms))

    def request(self, writes: list[OwnerWrite], plan: Plan, now_ms: int) -> WriteRequest:
        alerts = self.alerts
        return WriteRequest(writes, plan, now_ms, alerts.suppression_ms, alerts.record_ttl_ms)

    async def settle(
        self,
        by_actor: dict[Owner, list[Event]],
        applied: list[tuple[OwnerWrite, Observed]],
        reply: WriteReply,
        outcome: Outcome,
        now_ms: int,
        horizon_ms: int,
    ) -> None:
        """Record what was written; actors another writer moved on are loaded again and
        their events applied again, until every actor's write went through."""
        actors = list(by_actor)
        retried = False
        for _ in range(CONFLICT_ROUNDS):
            outcome.pending += reply.pending
            outcome.repeats += reply.repeats
            retry: list[Owner] = []
            statuses = reply.statuses[: len(actors)]  # then shared owners: never conflicts
            for owner, (write, observed), status in zip(actors, applied, statuses, strict=True):
                if status == STATUS.conflict:
                    retry.append(owner)
                    self.actors.pop(owner, None)
                else:
                    self.written(self.actors[owner], write, now_ms)
                    account(outcome, owner, observed)
                    if retried and not owner[1] and (owner[0], True) not in by_actor:
                        outcome.dropped += observed.late  # late only after a reload
            if not retry:
                return
            metrics.STATE_CONFLICTS.inc(len(retry))
            log.info("%d actors moved on by another writer; loading them again", len(retry))
            await self.load(retry, now_ms)
            plan = Plan()
            ctx = BatchContext(plan, self.shared, now_ms)
            actors, retried = retry, True
            applied = [self.apply(a, by_actor[a], ctx, now_ms, horizon_ms) for a in retry]
            self.record(plan, applied, now_ms, strict=True)
            reply = await self.store.write(self.request([w for w, _ in applied], plan, now_ms))
        raise RuntimeError(f"actor state kept changing under this worker: {len(actors)} actors")

    @staticmethod
    def written(cached: Cached, write: OwnerWrite, now_ms: int) -> None:
        if write.state:
            cached.version += 1
            cached.entries = 0 if write.snapshot else cached.entries + 1
        if write.ttl_ms:
            cached.ttl_at = now_ms

    async def decide_shared(self, findings: list[Finding], outcome: Outcome, now_ms: int) -> None:
        """Findings about shared owners (a source address, a channel): their alerts are
        decided in their owner's hash, once the shared answers are in."""
        if not findings:
            return
        by_owner: dict[str, OwnerWrite] = {}
        for finding in findings:
            metrics.FINDINGS.labels(detector=finding.detector, severity=str(finding.severity)).inc()
            write = by_owner.setdefault(finding.owner, OwnerWrite(finding.owner, NO_STATE))
            write.decisions.append(self.alerts.decision(finding))
        outcome.findings += findings
        reply = await self.store.write(self.request(list(by_owner.values()), Plan(), now_ms))
        outcome.pending += reply.pending
        outcome.repeats += reply.repeats

    async def tick(self, detectors: Sequence[Any], now_ms: int, channels: Sequence[Any]) -> Outcome:
        """Detectors that judge what did not arrive (channel_silence), on the wall clock."""
        plan = Plan()
        pending = [(d, d.tick(now_ms, channels, plan)) for d in detectors]
        outcome = Outcome()
        if not plan:
            return outcome
        reply = await self.store.write(self.request(asked(pending), plan, now_ms))
        outcome.pending += reply.pending
        outcome.repeats += reply.repeats
        plan.fill(reply.answers)
        await self.decide_shared(self.runner.shared_findings(pending), outcome, now_ms)
        outcome.pending = once(outcome.pending)
        return outcome

    def sweep(self) -> None:
        """Actors idle for `idle_minutes` leave memory (their state stays in the store);
        past `max_actors`, the least recently used go first."""
        now = time.monotonic()
        if now - self.swept < 60 and len(self.actors) <= self.settings.max_actors:
            return
        self.swept = now
        idle = now - self.settings.idle_minutes * 60
        self.actors = {a: c for a, c in self.actors.items() if c.used >= idle}
        excess = len(self.actors) - self.settings.max_actors
        if excess > 0:
            for actor, _ in sorted(self.actors.items(), key=lambda x: x[1].used)[:excess]:
                del self.actors[actor]
        metrics.ACTORS_IN_MEMORY.set(len(self.actors))

    def forget(self, actors: Sequence[str] | None = None) -> None:
        """Drop actors (both lanes) from memory (all by default), e.g. on revocation."""
        if actors is None:
            self.actors.clear()
        else:
            for actor in actors:
                self.actors.pop((actor, False), None)
                self.actors.pop((actor, True), None)
        metrics.ACTORS_IN_MEMORY.set(len(self.actors))


def build_detection(
    settings: DetectorSettings,
    store: Store,
    pseudonym_key: bytes,
    prefix: str = "",
    detectors: Sequence[Any] | None = None,
    ledger_settings: LedgerSettings | None = None,
) -> Detection:
    """The detection stage for a validated detector file (its detectors built with `prefix`
    unless given) on `store`, keeping the assurance ledger under `prefix`."""
    built = list(detectors) if detectors is not None else settings.build(prefix)
    pseudonymize = Pseudonymizer(pseudonym_key)
    alerts = Alerts(pseudonymize, settings.suppression_minutes)
    # a batch is judged in slices of half the suppression window of event time, so two
    # incidents a window apart page apart even when read together (a catch-up)
    runner = Runner(
        built,
        settings.event_time.lateness_ms,
        alerts.suppression_ms // 2,
        settings.state.max_ids_per_actor,
    )
    snapshot = controls.snapshot(settings)
    ledger = Ledger(
        prefix,
        controls.config_hash(snapshot),
        controls.encoded(snapshot).decode(),
        pseudonymize,
        ledger_settings,
    )
    return Detection(runner, store, alerts, prefix, settings.state, ledger, settings.event_time)
