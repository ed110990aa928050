"""cross_tenant: an actor touches records of a tenant they are not assigned to.

A BPO serves several clients from the same floor and often the same CRM; an agent of
one client's campaign opening another client's customers is either a routing mistake
or a breach of the client's contract (and of data-protection law). The actor's
assigned tenants come from `Event.actor_tenants`, which the monitor fills from trusted
sources only (docs/operations.md, *Trusted assignments*): the assignments file exported
from workforce management, or `actor.tenants` of a channel configured `trusted:
[tenants]`; an event's own `actor.tenants` on any other channel is ignored. An event
without a trusted assignment is judged against the last one seen for that actor (kept in
the state); with none known the detector stays silent. The finding's evidence
`assignment_from` says which source decided (`assignments_file`, `channel:<name>`,
`last_seen`). Violations are counted per actor in a sliding window so the
severity grows with the number of foreign records touched.

Tuning. Replay and list findings per record tenant: a tenant that shows up for many
actors is usually shared data (a knowledge base, a parent company) — add it to
`shared_tenants`. Floaters who legitimately cover several campaigns should get the right
tenants in the assignments file rather than an allowlist. Team allowlists (every
detector) match only a trusted team (the file's, or a channel trusted for `team`), never
the team an event claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from detectors.base import DAY_MS, ByActions, Context, Finding, count_finding
from detectors.cross_tenant.config import NAME, CrossTenantConfig
from detectors.event import Event
from detectors.state.actor import ActorState
from detectors.state.timed_members import TimedMembers

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "static_threshold": (
        "records of tenants the actor is not assigned to, in the window ≥ `threshold_records`"
    ),
}


def record_tenant(event: Event) -> str:
    return event.resource_tenant or event.tenant


class Assignment:
    """One actor's assigned tenants as last seen (newest event wins), and the foreign-record
    accesses of the window."""

    __slots__ = ("foreign", "tenants", "ts_ms")

    def __init__(self) -> None:
        self.ts_ms = -1
        self.tenants: tuple[str, ...] | None = None
        self.foreign = TimedMembers()  # (event id,)

    def assign(self, event: Event) -> None:
        if event.ts_ms >= self.ts_ms:
            self.ts_ms, self.tenants = event.ts_ms, event.actor_tenants

    def current(self, now_ms: int, ttl_ms: int) -> tuple[str, ...] | None:
        """The assignment, unless older than `ttl_ms` before `now_ms`."""
        return self.tenants if now_ms - self.ts_ms <= ttl_ms else None

    def dump(self) -> list[Any]:
        return [self.ts_ms, self.tenants, self.foreign.dump()]

    @classmethod
    def load(cls, data: list[Any]) -> Assignment:
        new = cls()
        new.ts_ms = data[0]
        new.tenants = tuple(data[1]) if data[1] is not None else None
        new.foreign = TimedMembers.load(data[2])
        return new


class CrossTenant(ByActions[CrossTenantConfig]):
    """Compares each record's tenant with the actor's assigned tenants."""

    name = NAME
    fields = ("actor_tenants",)  # besides its actions, any event carrying an assignment

    def load_slot(self, data: list[Any]) -> Assignment:
        return Assignment.load(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        latest: Event | None = None
        known: list[Event] = []
        candidates: list[Event] = []
        for event in events:
            if event.actor_tenants and (latest is None or event.ts_ms >= latest.ts_ms):
                latest = event
            tenant = record_tenant(event)
            cfg = self.tuning.for_tenant(tenant)
            if event.action not in cfg.actions or tenant in cfg.shared_tenants:
                continue
            if not event.actor_tenants:
                candidates.append(event)
            elif tenant not in event.actor_tenants:
                known.append(event)
        if latest is None and not known and not candidates:
            return []
        slot: Assignment = actor.slot(NAME, Assignment)
        if latest is not None:
            slot.assign(latest)
        if not known and not candidates:
            return []
        ttl = self.tuning.default.assignment_ttl_days * DAY_MS
        assigned = slot.current(max(e.ts_ms for e in (*known, *candidates)), ttl)
        foreign = list(known)
        if assigned is not None:
            foreign += [e for e in candidates if record_tenant(e) not in assigned]
        if not foreign:
            return []
        cfg = self.tuning.for_tenant(record_tenant(foreign[0]))
        for event in foreign:
            slot.foreign.add((event.event_id,), event.ts_ms, cfg.max_foreign)
        end = max(e.ts_ms for e in foreign)
        slot.foreign.trim(end - cfg.window_ms)
        count = slot.foreign.count(end - cfg.window_ms, end)
        if count < cfg.threshold_records:
            return []
        return [
            describe(cfg, actor.actor, count, end, foreign, list(assigned) if assigned else None)
        ]


def describe(
    cfg: CrossTenantConfig,
    actor: str,
    count: int,
    end: int,
    foreign: list[Event],
    assigned: list[str] | None,
) -> Finding:
    first = foreign[0]
    tenants = sorted({record_tenant(e) for e in foreign})
    own = sorted(first.actor_tenants or assigned or [])
    threshold = cfg.threshold_records
    title = (
        f"Cross-tenant access: {count} records of {', '.join(tenants)} "
        f"in {cfg.window_minutes} min by an actor assigned to {', '.join(own)}"
    )
    evidence = {
        "foreign_records": count,
        "record_tenants": tenants,
        "assigned_tenants": own,
        "window_minutes": cfg.window_minutes,
        "threshold_records": threshold,
        "over_threshold_by": count - threshold,
        # Which source decided: assignments_file, channel:<name> (trusted for tenants),
        # last_seen (stored from a trusted source earlier), event (replay only).
        "assignment_from": first.assignment_source
        or ("event" if first.actor_tenants else "last_seen"),
        "rule": "static_threshold",
    }
    tenant = record_tenant(first)
    return count_finding(
        NAME, tenant, actor, count, threshold, title, end, cfg.window_ms, evidence,
        sample_event_ids=tuple(e.event_id for e in foreign[:5]),
        channels=tuple(sorted({e.channel for e in foreign})),
        team=first.actor_team,
        sample_records=tuple(e.resource_id for e in foreign[:5] if e.resource_id),
    )  # fmt: skip
