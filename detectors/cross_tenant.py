"""cross_tenant: an actor touches records of a tenant they are not assigned to.

A BPO serves several clients from the same floor and often the same CRM; an agent of
one client's campaign opening another client's customers is either a routing mistake
or a breach of the client's contract (and of data-protection law). The actor's
assigned tenants come from `actor.tenants`; an event without it is judged against the
assignment last seen for that actor (kept in the state); with no assignment known the
detector stays silent. Violations are counted per actor in a sliding window so the
severity grows with the number of foreign records touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.base import MINUTE_MS, Finding, Tuned, actor_key, severity_for
from detectors.context_state import SEP
from detectors.event import Event
from detectors.state import Plan
from detectors.tuning import Tuning

NAME = "cross_tenant"
DAY_MS = 86_400_000


@dataclass(frozen=True)
class CrossTenantConfig:
    """Settings for cross_tenant (deploy/config/detectors.yaml → cross_tenant)."""

    threshold_records: int = 1
    window_minutes: int = 60
    assignment_ttl_days: int = 30
    shared_tenants: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset(
        {
            "record.view",
            "record.search",
            "record.update",
            "record.export",
            "report.export",
            "file.download",
            "print",
            "pii.unmask",
        }
    )

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS


@dataclass
class ActorAccesses:
    """One actor's record accesses in a batch: judged now, or against the stored assignment."""

    tenant: str
    known: list[Event] = field(default_factory=list)
    candidates: list[Event] = field(default_factory=list)


def record_tenant(event: Event) -> str:
    return event.resource_tenant or event.tenant


class CrossTenant(Tuned[CrossTenantConfig]):
    """Compares each record's tenant with the actor's assigned tenants."""

    name = NAME

    def key(self, actor: str, suffix: str) -> str:
        return actor_key(self.prefix, NAME, "*", actor, suffix)

    def plan(self, events: Sequence[Event], plan: Plan) -> CrossTenantPending:
        latest: dict[str, Event] = {}
        accesses: dict[str, ActorAccesses] = {}
        for event in events:
            if event.actor_tenants:
                seen = latest.get(event.actor_id)
                if seen is None or event.ts_ms >= seen.ts_ms:
                    latest[event.actor_id] = event
            cfg = self.tuning.for_tenant(record_tenant(event))
            if event.action not in cfg.actions or record_tenant(event) in cfg.shared_tenants:
                continue
            acc = accesses.setdefault(event.actor_id, ActorAccesses(record_tenant(event)))
            if event.actor_tenants:
                if record_tenant(event) not in event.actor_tenants:
                    acc.known.append(event)
            else:
                acc.candidates.append(event)
        ttl = self.tuning.default.assignment_ttl_days * DAY_MS
        for actor, event in latest.items():
            plan.op(
                "BA", self.key(actor, "tenants"), event.ts_ms, SEP.join(event.actor_tenants), ttl
            )
        pending = CrossTenantPending(self.tuning)
        for actor, acc in accesses.items():
            if not acc.known and not acc.candidates:
                continue
            tenant = record_tenant((acc.known or acc.candidates)[0])
            cfg = self.tuning.for_tenant(tenant)
            index = plan.query(
                "BX",
                self.key(actor, "tenants"),
                self.key(actor, "foreign"),
                cfg.window_ms,
                cfg.window_ms + MINUTE_MS,
                [[e.event_id, e.ts_ms] for e in acc.known],
                [[e.event_id, e.ts_ms, record_tenant(e)] for e in acc.candidates],
            )
            pending.queries.append((index, tenant, actor, acc))
        return pending


class CrossTenantPending:
    def __init__(self, tuning: Tuning[CrossTenantConfig]) -> None:
        self.tuning = tuning
        self.queries: list[tuple[int, str, str, ActorAccesses]] = []

    def findings(self, results: Sequence[Any]) -> list[Finding]:
        out = []
        for index, tenant, actor, acc in self.queries:
            count, end, stored = results[index]
            cfg = self.tuning.for_tenant(tenant)
            assigned = stored.split(SEP)[1:] if stored else None
            foreign = list(acc.known)
            if assigned is not None:
                foreign += [e for e in acc.candidates if record_tenant(e) not in assigned]
            if foreign and int(count) >= cfg.threshold_records:
                out.append(describe(cfg, actor, int(count), int(end), foreign, assigned))
        return out


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
    return Finding(
        detector=NAME,
        tenant=record_tenant(first),
        actor=actor,
        severity=severity_for(count, threshold),
        title=f"Cross-tenant access: {count} records of {', '.join(tenants)} "
        f"in {cfg.window_minutes} min by an actor assigned to {', '.join(own)}",
        window_start_ms=end - cfg.window_ms,
        window_end_ms=end,
        observed=count,
        threshold=threshold,
        evidence={
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
        },
        sample_event_ids=tuple(e.event_id for e in foreign[:5]),
        channels=tuple(sorted({e.channel for e in foreign})),
        team=first.actor_team,
        sample_records=tuple(e.resource_id for e in foreign[:5] if e.resource_id),
    )
