"""cumulative_access: low and slow, an actor touches far more distinct records than peers.

The leak no rate limit sees: a few hundred extra records a day, every day, each day
below every burst threshold (in one real case three agents opened 68,701 accounts in
168 days). Three rules:
- shift_excess (detectors/shift_excess.py): a shift's distinct customers per hour far
  above the actor's peers' shifts and its own usual ones, at any volume: the careful
  collector who hides each extra account inside a short interaction is paged within the
  shift, not after a week;
- sustained_excess (detectors/sustained.py): the careful collector at about twice the
  team's rate, under the shift rule's bar in every single shift: each shift's rate is
  evidence (a log-likelihood ratio against peers' shifts and the actor's own), summed over
  shifts (a CUSUM) and paged when the sum reaches log(`sustained_false_alarm_shifts`), so
  that an ordinary actor is paged at most about once in that many shifts;
- the weekly sum: distinct records per actor per UTC day (exact, capped), summed over the
  last `days` days, against the same sum of the other actors of the team (median + k·MAD
  of the peers seen in the last `fresh_days` days, once the team has `team_min_peers`);
  a static floor fires without peers.

Tuning. With a replay of at least `days` + 2 days (the simulator's `cumulative_access`
scenario spans a week). Teams mixing roles (back office and front line) have wide
spreads: split them into separate teams in the assignments file (peer groups follow the
trusted team only; with none, the tenant's actors are the peers), or raise `min_ratio`
for that tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from detectors.base import (
    DAY_MS,
    ActorBatch,
    Context,
    Finding,
    Tuned,
    count_finding,
    judge_by_tenant,
    severity_for,
)
from detectors.cumulative_access.config import NAME, CumulativeAccessConfig
from detectors.cumulative_access.shift_excess import ShiftRule
from detectors.cumulative_access.sustained import Evidence
from detectors.event import Event
from detectors.state.actor import ActorState, PerTenant
from detectors.state.day_distinct import DayDistinct
from detectors.state.keys import team_tag
from detectors.state.shared import team_totals
from detectors.state.shift import Shift
from detectors.stats import Stats
from detectors.tuning import Tuning

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "static_threshold": "the sum of daily distinct records over `days` ≥ `static_threshold`",
    "team_baseline": (
        "the sum ≥ `min_observed` and above the team's robust threshold and `min_ratio` times "
        "its median"
    ),
    "shift_excess": (
        "a shift's distinct customers per hour far above peers' shifts and the actor's own "
        "(`shift_*`)"
    ),
    "sustained_excess": (
        "the evidence summed over shifts (a CUSUM of each shift's rate against peers' and "
        "the actor's own) reaches log(`sustained_false_alarm_shifts`) (`sustained_*`)"
    ),
}


class ActorDays:
    """One actor's records per day in one tenant, and the sum last shared with the team."""

    __slots__ = ("days", "shared_day", "shared_sum")

    def __init__(self) -> None:
        self.days = DayDistinct()
        self.shared_day = -1
        self.shared_sum = 0

    def dump(self) -> list[Any]:
        return [self.shared_day, self.shared_sum, self.days.dump()]

    @classmethod
    def load(cls, data: list[Any]) -> ActorDays:
        new = cls()
        new.shared_day, new.shared_sum = data[0], data[1]
        new.days = DayDistinct.load(data[2])
        return new


class CumulativeSlot:
    """One actor's days per tenant (the weekly sum), its current shift (shift excess) and
    the evidence summed over its shifts (sustained excess)."""

    __slots__ = ("days", "evidence", "shift")

    def __init__(self) -> None:
        self.days: PerTenant[ActorDays] = PerTenant()
        self.shift = Shift()
        self.evidence = Evidence()

    def dump(self) -> list[Any]:
        return [self.days.dump(), self.shift.dump(), self.evidence.dump()]

    @classmethod
    def load(cls, data: list[Any]) -> CumulativeSlot:
        new = cls()
        new.days = PerTenant.loader(ActorDays.load)(data[0])
        new.shift = Shift.load(data[1])
        if len(data) > 2:  # slots stored before the sustained-excess rule have none
            new.evidence = Evidence.load(data[2])
        return new


class CumulativeAccess(Tuned[CumulativeAccessConfig]):
    """Shift rates against peers' shifts; distinct records per day, summed over days,
    against the team's sums."""

    name = NAME
    actions = None  # every event of the actor moves its shift on

    def __init__(self, tuning: Tuning[CumulativeAccessConfig], key_prefix: str = "") -> None:
        super().__init__(tuning, key_prefix)
        self.shifts = ShiftRule(key_prefix)

    def load_slot(self, data: list[Any]) -> CumulativeSlot:
        return CumulativeSlot.load(data)

    def team_key(self, tenant: str, team: str) -> str:
        """The peer group's sums (its trusted team's, else the tenant's: `peer_team`)."""
        return f"{self.prefix}{team_tag(tenant, team)}:{NAME}:totals"

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        slot: CumulativeSlot = actor.slot(NAME, CumulativeSlot)
        slots = slot.days
        counted: list[Event] = []

        def take(event: Event) -> bool:
            if self.tuning.allows_actor(event.tenant, actor.actor, event.trusted_team):
                return False
            counted.append(event)
            cfg = self.tuning.for_tenant(event.tenant)
            if not event.resource_id or event.action not in cfg.actions:
                return False
            days = slots.get_or_new(event.tenant, ActorDays).days
            days.add(event.resource_id, event.ts_ms // DAY_MS, cfg.max_records_per_day)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            return self.judge(actor.actor, tenant, group, slots[tenant], ctx)

        findings = judge_by_tenant(events, take, judge)
        if counted:
            cfg = self.tuning.for_tenant(counted[-1].tenant)
            if cfg.shift_rule:
                ordered = sorted(counted, key=lambda e: e.ts_ms)
                state = (slot.shift, slot.evidence)
                findings += self.shifts.observe(cfg, actor.actor, state, ordered, ctx)
        return findings

    def judge(
        self, actor: str, tenant: str, group: ActorBatch, own: ActorDays, ctx: Context
    ) -> Finding | None:
        cfg = self.tuning.for_tenant(tenant)
        day = group.last_ts // DAY_MS
        own.days.forget_below(day - cfg.days + 1)
        observed = own.days.total(day - cfg.days + 1, day)
        team_key = self.team_key(tenant, group.peer_team)
        if day > own.shared_day or observed - own.shared_sum >= cfg.share_every:
            own.shared_day, own.shared_sum = day, observed
            team_totals.set_total(
                ctx.plan, team_key, actor, day, observed, cfg.max_team_actors, cfg.ttl_ms
            )
        since = day - cfg.fresh_days
        reply = ctx.cached(team_key, lambda plan: team_totals.peers(plan, team_key, since))
        if observed >= cfg.static_threshold:
            return self.finding(actor, tenant, group, cfg, observed, cfg.static_threshold,
                                "static_threshold", Stats(0, 0.0, 0.0))  # fmt: skip
        if observed < cfg.min_observed:
            return None
        peers = Stats.of(reply.others(actor)) if reply is not None else Stats(0, 0.0, 0.0)
        if peers.n < cfg.team_min_peers:
            return None
        threshold = max(cfg.robust_threshold(peers), cfg.min_observed)
        if observed < threshold:
            return None
        return self.finding(actor, tenant, group, cfg, observed, threshold, "team_baseline", peers)

    def finding(
        self,
        actor: str,
        tenant: str,
        group: ActorBatch,
        cfg: CumulativeAccessConfig,
        observed: int,
        threshold: float,
        rule: str,
        peers: Stats,
    ) -> Finding:
        evidence: dict[str, Any] = {
            "rule": rule,
            "observed": observed,
            "threshold": round(threshold, 2),
            "ratio": round(observed / threshold, 2),
            "days": cfg.days,
            "static_threshold": cfg.static_threshold,
        }
        if rule == "team_baseline":
            evidence.update(
                k=cfg.k, team_peers=peers.n, team_median=peers.median, team_mad=peers.mad
            )
        title = (
            f"Cumulative access: {observed} distinct records over {cfg.days} days "
            f"(threshold {threshold:.0f})"
        )
        end = group.last_ts
        days_ms = end - (end // DAY_MS - cfg.days + 1) * DAY_MS  # the days, today's so far
        severity = severity_for(observed, threshold)
        return count_finding(
            NAME, tenant, actor, observed, round(threshold, 2), title, end, days_ms, evidence,
            severity=severity, **group.shown(),
        )  # fmt: skip
