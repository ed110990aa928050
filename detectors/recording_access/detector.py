"""recording_access: an actor plays or downloads call recordings and transcripts outside
their own interactions, or far more than they usually do.

A call recording holds what was said aloud: card numbers read out for a payment, the
answers to identity questions, addresses, health details. PCI-DSS asks a BPO to control
and watch who reaches them. An agent listens to the recording of a call they handled
(a dispute, a callback); playing, exporting or downloading the recordings and
transcripts of customers they never served is harvesting card data and security answers
without a single export of the CRM.

Counted: `record.view` (a play), `record.export` and `file.download` of a resource whose
`resource.type` is `recording` or `transcript`, by actors whose trusted actor type is
not exempt (supervisors do QA reviews of their team's calls; the type comes from the
assignments file or a channel trusted for it, never from an event's own claim). Two rules:
- outside interactions: an access with a customer is judged once the actor's own event
  time is `grace_minutes` past it (the interaction.start may come later on another
  channel); it is outside when no interaction with that customer, started by the actor,
  is open or ended less than `recent_minutes` before. Outside accesses are counted per
  actor in a sliding `window_minutes` window; `threshold_outside` fire.
- baseline: every access (with a customer or not) is counted per actor in tumbling
  windows; a window with at least `min_observed` that is far above the actor's own
  history (median + k * max(1.4826 * MAD, min_spread), and min_ratio * median) fires once
  the actor has `warmup_windows` active windows.
State is the actor's own: its interactions, accesses waiting for their grace period and
those found outside (timed members), and its window history.

Tuning. Quality teams whose members are not typed `supervisor` (a QA analyst role) reach
recordings of calls they never took: add their type to `exempt_actor_types` or allowlist
the team. Replay a week: the `recording_access` scenario (15-25 downloads of recordings
and transcripts of customers the agent never served, within 40 minutes) must stay found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from detectors.base import (
    MINUTE_MS,
    ActorBatch,
    Context,
    Finding,
    Tuned,
    group_by,
    judged,
    severity_for,
)
from detectors.event import Event
from detectors.recording_access.config import NAME, RecordingAccessConfig
from detectors.state.actor import ActorState, PerTenant
from detectors.state.interactions import Interactions
from detectors.state.timed_members import Member, TimedMembers
from detectors.state.window_history import WindowHistory
from detectors.stats import Stats

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "outside_interactions": (
        "recordings or transcripts of customers without an interaction of the actor (open, "
        "or ended < `recent_minutes` before), in the window >= `threshold_outside`"
    ),
    "baseline": (
        "accesses in a window >= `min_observed` and above the actor's robust threshold, "
        "after `warmup_windows` active windows"
    ),
}


class RecordingSlot:
    """One actor's interactions, accesses waiting for their grace period, accesses found
    outside their interactions, and its accesses per window."""

    __slots__ = ("history", "interactions", "outside", "pending")

    def __init__(self) -> None:
        self.interactions = Interactions()
        self.pending = TimedMembers()  # (event id, customer, resource)
        self.outside = TimedMembers()  # (event id, resource)
        self.history = WindowHistory()

    def dump(self) -> list[Any]:
        return [
            self.interactions.dump(),
            self.pending.dump(),
            self.outside.dump(),
            self.history.dump(),
        ]

    @classmethod
    def load(cls, data: list[Any]) -> RecordingSlot:
        new = cls()
        new.interactions = Interactions.load(data[0])
        new.pending = TimedMembers.load(data[1])
        new.outside = TimedMembers.load(data[2])
        new.history = WindowHistory.load(data[3])
        return new


class RecordingAccess(Tuned[RecordingAccessConfig]):
    """Judges recording and transcript accesses against the actor's interactions and its
    own baseline."""

    name = NAME
    actions = None  # interactions, and any later event moving the clock past the grace

    def load_slot(self, data: dict) -> PerTenant[RecordingSlot]:
        return PerTenant.loader(RecordingSlot.load)(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        slots: PerTenant[RecordingSlot] = actor.slot(NAME, PerTenant)
        accessed: list[Event] = []

        def take(event: Event) -> bool:
            if self.record(slots, event):
                accessed.append(event)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            slot = slots.get(tenant)
            if slot is None:
                return None
            return self.judge(actor, tenant, group, by_tenant.get(tenant), slot)

        groups = group_by(events, lambda e: e.tenant if take(e) else None)
        by_tenant = group_by(accessed, lambda e: e.tenant)
        return judged(groups, judge)

    def record(self, slots: PerTenant[RecordingSlot], event: Event) -> bool:
        """Interactions and counted accesses go to the actor's slot; True for an access."""
        cfg = self.tuning.for_tenant(event.tenant)
        customer = event.customer_id or ""
        if event.action == "interaction.start" and customer:
            slots.get_or_new(event.tenant, RecordingSlot).interactions.start(
                customer, event.ts_ms, cfg.max_customers
            )
            return False
        if event.action == "interaction.end" and customer:
            slots.get_or_new(event.tenant, RecordingSlot).interactions.end(
                customer, event.ts_ms, cfg.max_customers
            )
            return False
        if not counted(cfg, event):
            return False
        slot = slots.get_or_new(event.tenant, RecordingSlot)
        slot.history.add(event.ts_ms // cfg.window_ms, 1)
        if customer:
            member = (event.event_id, customer, event.resource_id or "")
            slot.pending.add(member, event.ts_ms, cfg.max_accesses)
        return True

    def judge(
        self,
        state: ActorState,
        tenant: str,
        group: ActorBatch,
        accessed: ActorBatch | None,
        slot: RecordingSlot,
    ) -> Finding | None:
        """The outside rule first (its evidence is the stronger), then the baseline."""
        cfg = self.tuning.for_tenant(tenant)
        outside = self.judge_outside(cfg, state, tenant, group, slot)
        baseline = None
        if accessed is not None:
            baseline = self.judge_baseline(cfg, state, tenant, accessed, slot)
        slot.interactions.forget_before(min(state.clock, state.horizon) - cfg.ttl_ms)
        return outside or baseline

    def judge_outside(
        self,
        cfg: RecordingAccessConfig,
        state: ActorState,
        tenant: str,
        group: ActorBatch,
        slot: RecordingSlot,
    ) -> Finding | None:
        """Accesses past their grace period on the actor's clock are judged (also those
        read after its later events); the busiest window of those found outside the
        actor's interactions counts. Outside accesses are kept from the horizon on."""
        actor = state.actor
        cutoff = state.clock - cfg.grace_minutes * MINUTE_MS
        recent, skew = cfg.recent_minutes * MINUTE_MS, cfg.start_skew_seconds * 1000
        found: list[tuple[int, Member]] = []
        for (event_id, customer, resource), ts in slot.pending.pop_until(cutoff):
            if not slot.interactions.covered(customer, ts, recent, skew):
                slot.outside.add((event_id, resource), ts, cfg.max_accesses)
                found.append((ts, (event_id, resource)))
        slot.outside.trim(min(cutoff, state.horizon) - cfg.window_ms)
        best, best_end = 0, 0
        if found:  # the busiest window holding a new outside access
            times = [ts for ts, _ in found]
            best, best_end = slot.outside.busiest(
                min(times), max(times) + cfg.window_ms, cfg.window_ms
            )
        if best < cfg.threshold_outside:
            return None
        members = [m for _, m in found[:5]]
        evidence = {
            "outside_accesses": best,
            "window_minutes": cfg.window_minutes,
            "threshold_outside": cfg.threshold_outside,
            "recent_minutes": cfg.recent_minutes,
            "grace_minutes": cfg.grace_minutes,
            "rule": "outside_interactions",
        }
        title = (
            f"Recording access: {best} recordings/transcripts outside the actor's "
            f"interactions in {cfg.window_minutes} min (threshold {cfg.threshold_outside})"
        )
        return Finding(
            detector=NAME,
            tenant=tenant,
            actor=actor,
            severity=severity_for(best, cfg.threshold_outside),
            title=title,
            window_start_ms=best_end - cfg.window_ms,
            window_end_ms=best_end,
            observed=best,
            threshold=cfg.threshold_outside,
            evidence=evidence,
            sample_event_ids=tuple(event_id for event_id, _ in members),
            channels=tuple(sorted(group.channels)),
            team=group.team,
            sample_records=tuple(resource for _, resource in members if resource),
        )

    def judge_baseline(
        self,
        cfg: RecordingAccessConfig,
        state: ActorState,
        tenant: str,
        accessed: ActorBatch,
        slot: RecordingSlot,
    ) -> Finding | None:
        """The busiest window the batch's accesses touched against the actor's history
        (judged before windows below the actor's horizon close into it)."""
        actor = state.actor
        lo, hi = accessed.first_ts // cfg.window_ms, accessed.last_ts // cfg.window_ms
        current, at = slot.history.busiest(lo, hi)
        slot.history.close_below(min(lo, state.horizon // cfg.window_ms), cfg.history_windows)
        history = Stats.of(slot.history.history)
        if current < cfg.min_observed or history.n < cfg.warmup_windows:
            return None
        threshold = max(history.threshold(cfg.k, cfg.min_ratio, cfg.min_spread), cfg.min_observed)
        if current < threshold:
            return None
        evidence = {
            "observed": current,
            "threshold": round(threshold, 2),
            "window_minutes": cfg.window_minutes,
            "k": cfg.k,
            "baseline_windows": history.n,
            "baseline_median": history.median,
            "baseline_mad": history.mad,
            "rule": "baseline",
        }
        start = at * cfg.window_ms
        return Finding(
            detector=NAME,
            tenant=tenant,
            actor=actor,
            severity=severity_for(current, threshold),
            title=f"Recording access: {current} recordings/transcripts in "
            f"{cfg.window_minutes} min (baseline {threshold:.0f})",
            window_start_ms=start,
            window_end_ms=start + cfg.window_ms,
            observed=current,
            threshold=round(threshold, 2),
            evidence=evidence,
            sample_event_ids=tuple(accessed.samples),
            channels=tuple(sorted(accessed.channels)),
            team=accessed.team,
            sample_records=tuple(accessed.records),
        )


def counted(cfg: RecordingAccessConfig, event: Event) -> bool:
    """A play, export or download of a recording or transcript by a non-exempt actor."""
    return (
        event.action in cfg.actions
        and event.resource_type in cfg.resource_types
        and event.trusted_type not in cfg.exempt_actor_types
    )
