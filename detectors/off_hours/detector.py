"""off_hours: an actor works outside their shift, or at hours of the week they never work.

Contact-center agents keep rostered shifts; a login and a run of record views at 3 a.m.
on a day off is how an insider works unobserved, or how a stolen session is used.
Staying an hour late to finish a queue is not: rostered activity that continues a session
begun on shift, with no gap longer than `grace_minutes`, is overtime and not counted.
Two sources tell when an actor works: a configured shift (roster file, in the roster's
or the tenant's time zone, widened by a grace period), or, for actors not on the roster,
a learned hour-of-week profile (on how many days each local hour of the week was active,
once the profile spans `profile_min_days` days: two weeks give every hour two chances).
An actor with neither is never judged: no shift is guessed. Fires once `min_events` events
fall outside within the window (roster), or within one clock hour the profile has never
seen, nor the hour before or after (learned).

Tuning. Overtime and shift swaps are the usual false alerts: keep the roster current,
widen `grace_minutes`, or raise `min_events`. Replay at least three weeks of traffic to
see learned-profile findings (two weeks of warm-up plus the week you measure). To
backtest the roster rule on simulated traffic, write the simulated agents' shifts with
`blindar simulate --out events.jsonl --roster roster.yaml ...` and replay with a
candidate detectors file whose `off_hours.roster_file` points to it (a path relative to
that file's directory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from detectors.base import ActorBatch, Context, Finding, Tuned, count_finding, group_by, judged
from detectors.event import Event
from detectors.off_hours.config import NAME, OffHoursConfig
from detectors.off_hours.roster import HOUR_MS, Shift, local_hour, on_shift
from detectors.state.actor import ActorState, PerTenant
from detectors.state.hour_profile import HourProfile
from detectors.state.windowed_sum import WindowedSum

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "roster_shift": (
        "`min_events` events outside every rostered shift (± `grace_minutes`) in the window"
    ),
    "learned_profile": (
        "`min_events` events in one clock hour of the week the actor's profile never saw active"
    ),
}


DAY_MS = 24 * HOUR_MS
HOURS_PER_WEEK = 168
ROSTER = -1  # the hour and day of the key grouping an actor's off-shift events


class OffHoursSlot:
    """One actor's off-shift events (roster) and current session, hour-of-week profile and
    events per clock hour (learned profile), in one tenant."""

    __slots__ = ("hours", "off", "profile", "session_last", "session_on_shift")

    def __init__(self) -> None:
        self.off = WindowedSum()
        self.profile = HourProfile()
        self.hours: dict[int, int] = {}  # clock hour (epoch hours) -> events
        self.session_last = -1  # the actor's latest event (a longer gap starts a session)
        self.session_on_shift = False  # the current session started on shift

    def overtime(self, ts_ms: int, on: bool, gap_ms: int) -> bool:
        """Whether activity at ts_ms (on shift or not) continues a session that started on
        shift with no gap over `gap_ms`: staying late is overtime, not off-hours."""
        if self.session_last < 0 or ts_ms - self.session_last > gap_ms:
            self.session_on_shift = on
        self.session_last = max(self.session_last, ts_ms)
        return not on and self.session_on_shift

    def count_hour(self, hour: int) -> None:
        self.hours[hour] = self.hours.get(hour, 0) + 1
        if len(self.hours) > 3:  # the current hour, and late events of the previous two
            for old in sorted(self.hours)[:-3]:
                del self.hours[old]

    def dump(self) -> list[Any]:
        hours = [x for item in self.hours.items() for x in item]
        session = [self.session_last, self.session_on_shift]
        return [self.off.dump(), self.profile.dump(), hours, session]

    @classmethod
    def load(cls, data: list[Any]) -> OffHoursSlot:
        new = cls()
        new.off = WindowedSum.load(data[0])
        new.profile = HourProfile.load(data[1])
        new.hours = dict(zip(data[2][0::2], data[2][1::2], strict=True))
        new.session_last, new.session_on_shift = data[3]
        return new


class OffHours(Tuned[OffHoursConfig]):
    """Counts off-shift (roster) or off-profile (learned) activity per actor."""

    name = NAME
    actions = None  # every event is activity

    def load_slot(self, data: dict) -> PerTenant[OffHoursSlot]:
        return PerTenant.loader(OffHoursSlot.load)(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        slots: PerTenant[OffHoursSlot] = actor.slot(NAME, PerTenant)

        def key(event: Event) -> tuple[str, int, int] | None:
            """Apply the event; what it counts in: (tenant, ROSTER, ROSTER) off shift,
            (tenant, hour, day) for the learned profile, None when it counts nowhere."""
            tenant = event.tenant
            if self.tuning.allows_actor(tenant, actor.actor, event.trusted_team):
                return None
            cfg = self.tuning.for_tenant(tenant)
            shift = cfg.roster.get(actor.actor)
            if shift is not None:
                on = on_shift(shift, cfg.timezone, event.ts_ms // 60_000, cfg.grace_minutes)
                slot = slots.get_or_new(tenant, OffHoursSlot)
                overtime = slot.overtime(event.ts_ms, on, cfg.grace_minutes * 60_000)
                if on or (overtime and cfg.overtime_is_not_off_hours):
                    return None
                slot.off.add(event.ts_ms // cfg.bucket_ms, 1)
                return (tenant, ROSTER, ROSTER)
            if not cfg.learn_profile:
                return None
            slot = slots.get_or_new(tenant, OffHoursSlot)
            hour, day = local_hour(cfg.timezone, event.ts_ms // 900_000)
            slot.profile.mark(hour, day)
            slot.count_hour(event.ts_ms // HOUR_MS)
            return (tenant, hour, day)

        def judge(at: tuple[str, int, int], group: ActorBatch) -> Finding | None:
            tenant, hour, day = at
            if hour == ROSTER:
                return self.judge_roster(actor, tenant, group, slots[tenant])
            return self.judge_learned(actor.actor, tenant, group, slots[tenant], hour, day)

        return judged(group_by(sorted(events, key=lambda e: e.ts_ms), key), judge)

    def judge_roster(
        self, state: ActorState, tenant: str, group: ActorBatch, slot: OffHoursSlot
    ) -> Finding | None:
        cfg = self.tuning.for_tenant(tenant)
        actor = state.actor
        end_lo, end_hi, keep_from = cfg.window_ends(group.first_ts, group.last_ts, state.horizon)
        observed = slot.off.max_window(end_lo, end_hi, cfg.width, keep_from)
        if observed < cfg.min_events:
            return None
        shift: Shift = cfg.roster[actor]
        evidence: dict[str, Any] = {
            "timezone": shift.tz or cfg.timezone,
            "shift_start_hour": shift.start_hour,
            "shift_hours": shift.hours,
            "days_off": sorted(shift.days_off),
            "grace_minutes": cfg.grace_minutes,
        }
        title = f"Off-hours activity: {observed} events outside the rostered shift"
        return self.finding("roster_shift", actor, tenant, group, cfg, observed, title, evidence)

    def judge_learned(
        self, actor: str, tenant: str, group: ActorBatch, slot: OffHoursSlot, hour: int, day: int
    ) -> Finding | None:
        cfg = self.tuning.for_tenant(tenant)
        hours = [(hour + d) % HOURS_PER_WEEK for d in (-1, 0, 1)]
        span = slot.profile.span_days(day)
        if span < cfg.profile_min_days:
            return None
        if any(slot.profile.days_before(h, day) for h in hours):
            return None
        observed = slot.hours.get(group.last_ts // HOUR_MS, 0)
        if observed < cfg.min_events:
            return None
        evidence = {
            "timezone": cfg.timezone,
            "hour_of_week": hour,
            "profile_span_days": span,
            "days_active_at_this_hour": 0,
        }
        title = f"Off-hours activity: {observed} events at an hour of the week never worked"
        rule = "learned_profile"
        return self.finding(rule, actor, tenant, group, cfg, observed, title, evidence)

    def finding(
        self,
        rule: str,
        actor: str,
        tenant: str,
        group: ActorBatch,
        cfg: OffHoursConfig,
        observed: int,
        title: str,
        evidence: dict[str, Any],
    ) -> Finding:
        evidence = {
            "rule": rule,
            "observed": observed,
            "threshold": cfg.min_events,
            "ratio": round(observed / cfg.min_events, 2),
            **evidence,
        }
        end, span = group.last_ts, group.last_ts - group.first_ts
        shown = group.shown()
        return count_finding(
            NAME, tenant, actor, observed, cfg.min_events, title, end, span, evidence, **shown
        )
