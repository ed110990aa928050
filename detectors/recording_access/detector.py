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
from typing import Any, Self

from detectors.base import (
    ActorBatch,
    Context,
    Finding,
    Tuned,
    count_finding,
    group_by,
    judged,
    severity_for,
)
from detectors.event import Event
from detectors.recording_access.config import NAME, RecordingAccessConfig
from detectors.state.actor import ActorState, PerTenant
from detectors.state.window_history import WindowHistory
from detectors.stats import Stats
from detectors.uncovered import BOUNDARIES, Uncovered, outside_shown

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


class RecordingSlot(Uncovered):
    """One actor's interactions, accesses waiting for their grace period, accesses found
    outside their interactions (detectors/uncovered.py), and its accesses per window."""

    __slots__ = ("history",)

    def __init__(self) -> None:
        super().__init__()
        self.history = WindowHistory()

    def dump(self) -> list[Any]:
        return [*super().dump(), self.history.dump()]

    @classmethod
    def load(cls, data: list[Any]) -> Self:
        new = super().load(data)
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
        if event.action in BOUNDARIES and event.customer_id:
            slots.get_or_new(event.tenant, RecordingSlot).boundary(event, cfg.max_customers)
            return False
        if not counted(cfg, event):
            return False
        slot = slots.get_or_new(event.tenant, RecordingSlot)
        slot.history.add(event.ts_ms // cfg.window_ms, 1)
        if event.customer_id:
            slot.wait(event, cfg.max_accesses)
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
        best, end, members = slot.judge(state, cfg, cfg.window_ms, cfg.max_accesses)
        threshold = cfg.threshold_outside
        if best < threshold:
            return None
        evidence = {
            "outside_accesses": best,
            "window_minutes": cfg.window_minutes,
            "threshold_outside": threshold,
            "recent_minutes": cfg.recent_minutes,
            "grace_minutes": cfg.grace_minutes,
            "rule": "outside_interactions",
        }
        title = (
            f"Recording access: {best} recordings/transcripts outside the actor's "
            f"interactions in {cfg.window_minutes} min (threshold {threshold})"
        )
        shown = outside_shown(group, members)
        return count_finding(
            NAME, tenant, state.actor, best, threshold, title, end, cfg.window_ms, evidence, **shown
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
        threshold = max(cfg.robust_threshold(history), cfg.min_observed)
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
