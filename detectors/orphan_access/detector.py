"""orphan_access: an actor views or unmasks customers they are not serving.

In a contact center every legitimate look at a customer's record happens while
the agent handles that customer (a call, chat or email thread in progress, or
wrap-up just after). Views of customers with no interaction of that agent are
curiosity browsing, social engineering on behalf of someone else, or harvesting.

Interactions come from `interaction.start` / `interaction.end` on any channel. The
start on voice may be processed after the view on backoffice (another topic), so a
view waits `grace_minutes` of the actor's own event time in a pending set before it
is judged; only then is it counted as orphan if no interaction with that customer
(started by the actor, open, or ended less than `recent_minutes` before the view)
covers it. Orphan views are counted per actor in a sliding event-time window.

Tuning. Replay a day; orphan findings on normal agents usually mean a channel whose
producer does not send `interaction.start`/`end` (fix the producer or its mapping) or a
back-office team whose work has no interactions (allowlist the team). If interaction
events arrive late, raise `grace_minutes` (findings are delayed by as much).
Supervisors reviewing their agents' calls and service accounts are exempt by their
trusted actor type (`exempt_actor_types`; the assignments file's `type`, or `actor.type`
of a channel trusted for it: an event's own claim exempts nobody); other roles with such
work: allowlist them by team or pattern rather than raising the threshold for everyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from detectors.base import ActorBatch, Context, Finding, Tuned, count_finding, judge_by_tenant
from detectors.event import Event
from detectors.orphan_access.config import NAME, OrphanAccessConfig
from detectors.state.actor import ActorState, PerTenant
from detectors.state.timed_members import Member
from detectors.uncovered import BOUNDARIES, Uncovered, outside_shown

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "static_threshold": (
        "views of customers without an interaction of the actor (open, or ended < "
        "`recent_minutes` before), in the window ≥ `threshold_views`"
    ),
}


class OrphanAccess(Tuned[OrphanAccessConfig]):
    """Judges each view after the grace period against the actor's interactions."""

    name = NAME
    actions = None  # any later event of the actor moves its clock past the grace period

    def load_slot(self, data: dict) -> PerTenant[Uncovered]:
        return PerTenant.loader(Uncovered.load)(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        slots: PerTenant[Uncovered] = actor.slot(NAME, PerTenant)

        def take(event: Event) -> bool:
            if event.customer_id:
                self.record(slots, event)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            slot = slots.get(tenant)
            if slot is None or not (slot.pending or slot.outside):
                return None
            return self.judge(actor, tenant, group, slot)

        return judge_by_tenant(events, take, judge)

    def record(self, slots: PerTenant[Uncovered], event: Event) -> None:
        """Interaction boundaries and views (with a customer) go to the actor's slot."""
        cfg = self.tuning.for_tenant(event.tenant)
        if event.action in BOUNDARIES:
            slots.get_or_new(event.tenant, Uncovered).boundary(event, cfg.max_customers)
        elif event.action in cfg.actions and event.trusted_type not in cfg.exempt_actor_types:
            slots.get_or_new(event.tenant, Uncovered).wait(event, cfg.max_views)

    def judge(
        self, state: ActorState, tenant: str, group: ActorBatch, slot: Uncovered
    ) -> Finding | None:
        """Views past their grace period on the actor's clock are judged (also those read
        after its later events); the busiest window of orphans (kept from the horizon
        on) counts."""
        cfg = self.tuning.for_tenant(tenant)
        best, best_end, members = slot.judge(state, cfg, cfg.window_ms, cfg.max_views)
        if best < cfg.threshold_views:
            return None
        return describe(cfg, tenant, state.actor, group, best, best_end, members)


def describe(
    cfg: OrphanAccessConfig,
    tenant: str,
    actor: str,
    group: ActorBatch,
    count: int,
    end: int,
    members: list[Member],
) -> Finding:
    minutes, threshold = cfg.window_minutes, cfg.threshold_views
    title = (
        f"Orphan access: {count} views of customers without an interaction "
        f"in {minutes} min (threshold {threshold})"
    )
    evidence = {
        "orphan_views": count,
        "window_minutes": minutes,
        "threshold_views": threshold,
        "over_threshold_by": count - threshold,
        "recent_minutes": cfg.recent_minutes,
        "grace_minutes": cfg.grace_minutes,
        "rule": "static_threshold",
    }
    shown = outside_shown(group, members)
    return count_finding(
        NAME, tenant, actor, count, threshold, title, end, cfg.window_ms, evidence, **shown
    )
