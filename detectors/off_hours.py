"""off_hours: an actor works outside their shift, or at hours of the week they never work.

Contact-center agents keep rostered shifts; a login and a run of record views at 3 a.m.
on a day off is how an insider works unobserved, or how a stolen session is used.
Two sources tell when an actor works: a configured shift (roster file, in the roster's
or the tenant's time zone, widened by a grace period), or, for actors not on the roster,
a learned hour-of-week profile (on how many days each local hour of the week was active,
once the profile spans `profile_min_days` days: two weeks give every hour two chances).
An actor with neither is never judged: no shift is guessed. Fires once `min_events` events
fall outside within the window (roster), or within one clock hour the profile has never
seen, nor the hour before or after (learned).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.base import (
    MINUTE_MS,
    ActorBatch,
    Finding,
    SlidingWindow,
    Tuned,
    actor_key,
    severity_for,
)
from detectors.baseline_state import add_hour, profile_query
from detectors.event import Event
from detectors.roster import HOUR_MS, Shift, load_roster, local_hour, on_shift, zone
from detectors.state import Plan

NAME = "off_hours"
DAY_MS = 24 * HOUR_MS
HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class OffHoursConfig(SlidingWindow):
    """Parameters of off_hours (deploy/config/detectors.yaml → off_hours)."""

    timezone: str = "UTC"
    roster_file: str = ""
    grace_minutes: int = 30
    min_events: int = 5
    window_minutes: int = 60
    bucket_minutes: int = 5
    lateness_minutes: int = 5
    learn_profile: bool = True
    profile_min_days: int = 14
    profile_days: int = 56

    def __post_init__(self) -> None:
        zone(self.timezone)
        if self.roster_file:
            load_roster(self.roster_file)

    @property
    def roster(self) -> dict[str, Shift]:
        return load_roster(self.roster_file) if self.roster_file else {}

    @property
    def ttl_ms(self) -> int:
        """The window and late events, plus an hour: the per-clock-hour event counts."""
        return (self.window_minutes + self.lateness_minutes + 60) * MINUTE_MS


@dataclass(slots=True)
class Judged:
    """One actor's question of this batch: which rule, which query, about what."""

    rule: str
    tenant: str
    actor: str
    group: ActorBatch
    index: int
    shift: Shift | None = None
    hours: tuple[int, ...] = ()
    count_index: int = -1


class OffHoursPending:
    __slots__ = ("detector", "judged")

    def __init__(self, detector: OffHours) -> None:
        self.detector = detector
        self.judged: list[Judged] = []

    def findings(self, results: Sequence[Any]) -> list[Finding]:
        out = []
        for item in self.judged:
            finding = self.detector.judge(item, results)
            if finding is not None:
                out.append(finding)
        return out


class OffHours(Tuned[OffHoursConfig]):
    """Counts off-shift (roster) or off-profile (learned) activity per actor."""

    name = NAME

    def key(self, tenant: str, actor: str, suffix: str) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, suffix)

    def plan(self, events: Sequence[Event], plan: Plan) -> OffHoursPending:
        off: dict[tuple[str, str], ActorBatch] = {}
        learned: dict[tuple[str, str, int, int], ActorBatch] = {}
        hour_ids: dict[tuple[str, str, int], list[str]] = {}
        for event in events:
            if self.tuning.allowlist_for(event.tenant).allows_actor(
                event.actor_id, event.trusted_team
            ):
                continue
            cfg = self.tuning.for_tenant(event.tenant)
            shift = cfg.roster.get(event.actor_id)
            if shift is not None:
                self.plan_rostered(plan, cfg, shift, event, off)
            elif cfg.learn_profile:
                self.plan_learned(plan, cfg, event, learned, hour_ids)
        # events per actor and clock hour: a HyperLogLog of event ids (idempotent, one
        # PFADD per actor-hour and batch instead of a counter update per event)
        for (tenant, actor, bucket), ids in hour_ids.items():
            key = self.key(tenant, actor, f"hour:{bucket}")
            plan.add_distinct(key, ids, self.tuning.for_tenant(tenant).ttl_ms)
        pending = OffHoursPending(self)
        for (tenant, actor), group in off.items():
            index = self.window_query(plan, tenant, actor, group, "off")
            shift = self.tuning.for_tenant(tenant).roster[actor]
            pending.judged.append(Judged("roster_shift", tenant, actor, group, index, shift))
        for (tenant, actor, hour, day), group in learned.items():
            cfg = self.tuning.for_tenant(tenant)
            hours = tuple((hour + d) % HOURS_PER_WEEK for d in (-1, 0, 1))
            index = profile_query(plan, self.key(tenant, actor, "profile"), list(hours), day)
            count = self.hour_query(plan, cfg, tenant, actor, group)
            pending.judged.append(
                Judged(
                    "learned_profile", tenant, actor, group, index, hours=hours, count_index=count
                )
            )
        return pending

    def plan_rostered(
        self,
        plan: Plan,
        cfg: OffHoursConfig,
        shift: Shift,
        event: Event,
        off: dict[tuple[str, str], ActorBatch],
    ) -> None:
        if on_shift(shift, cfg.timezone, event.ts_ms // MINUTE_MS, cfg.grace_minutes):
            return
        key = self.key(event.tenant, event.actor_id, "off")
        bucket = event.ts_ms // cfg.bucket_ms
        plan.add_sum(key, bucket, event.event_id, 1, event.ts_ms, cfg.ttl_ms)
        remember(off, (event.tenant, event.actor_id), event)

    def plan_learned(
        self,
        plan: Plan,
        cfg: OffHoursConfig,
        event: Event,
        learned: dict[tuple[str, str, int, int], ActorBatch],
        hour_ids: dict[tuple[str, str, int], list[str]],
    ) -> None:
        hour, day = local_hour(cfg.timezone, event.ts_ms // 900_000)
        marker = (event.tenant, event.actor_id, hour, day)
        if marker not in learned:
            key = self.key(event.tenant, event.actor_id, "profile")
            add_hour(plan, key, hour, day, cfg.profile_days * DAY_MS)
        hour_ids.setdefault((event.tenant, event.actor_id, event.ts_ms // HOUR_MS), []).append(
            event.event_id
        )
        remember(learned, marker, event)

    def window_query(
        self, plan: Plan, tenant: str, actor: str, group: ActorBatch, suffix: str
    ) -> int:
        cfg = self.tuning.for_tenant(tenant)
        end_lo = group.first_ts // cfg.bucket_ms
        end_hi = group.last_ts // cfg.bucket_ms + cfg.width - 1
        lateness = cfg.lateness_minutes // cfg.bucket_minutes
        keep_from = min(end_lo - cfg.width, group.last_ts // cfg.bucket_ms - cfg.width - lateness)
        key = self.key(tenant, actor, suffix)
        return plan.sum_query(key, end_lo, end_hi, cfg.width, keep_from, cfg.bucket_ms)

    def hour_query(
        self, plan: Plan, cfg: OffHoursConfig, tenant: str, actor: str, group: ActorBatch
    ) -> int:
        """Events of the actor in the clock hour of the group's latest event."""
        key = self.key(tenant, actor, f"hour:{group.last_ts // HOUR_MS}")
        return plan.distinct_query([key])

    def judge(self, item: Judged, results: Sequence[Any]) -> Finding | None:
        cfg = self.tuning.for_tenant(item.tenant)
        if item.rule == "roster_shift":
            observed = results[item.index]
            if observed < cfg.min_events or item.shift is None:
                return None
            shift = item.shift
            evidence: dict[str, Any] = {
                "timezone": shift.tz or cfg.timezone,
                "shift_start_hour": shift.start_hour,
                "shift_hours": shift.hours,
                "days_off": sorted(shift.days_off),
                "grace_minutes": cfg.grace_minutes,
            }
            title = f"Off-hours activity: {observed} events outside the rostered shift"
        else:
            reply = results[item.index]
            observed = results[item.count_index]
            days, seen = reply[0], reply[1:]
            if days < cfg.profile_min_days or any(seen) or observed < cfg.min_events:
                return None
            evidence = {
                "timezone": cfg.timezone,
                "hour_of_week": item.hours[1],
                "profile_span_days": days,
                "days_active_at_this_hour": 0,
            }
            title = f"Off-hours activity: {observed} events at an hour of the week never worked"
        return self.finding(item, cfg, observed, title, evidence)

    def finding(
        self,
        item: Judged,
        cfg: OffHoursConfig,
        observed: int,
        title: str,
        evidence: dict[str, Any],
    ) -> Finding:
        group = item.group
        evidence = {
            "rule": item.rule,
            "observed": observed,
            "threshold": cfg.min_events,
            "ratio": round(observed / cfg.min_events, 2),
            **evidence,
        }
        return Finding(
            detector=NAME,
            tenant=item.tenant,
            actor=item.actor,
            severity=severity_for(observed, cfg.min_events),
            title=title,
            window_start_ms=group.first_ts,
            window_end_ms=group.last_ts,
            observed=observed,
            threshold=cfg.min_events,
            evidence=evidence,
            sample_event_ids=tuple(group.samples),
            channels=tuple(sorted(group.channels)),
            team=group.team,
            sample_records=tuple(group.records),
        )


def remember(groups: dict[Any, ActorBatch], key: Any, event: Event) -> None:
    group = groups.get(key)
    if group is None:
        group = groups[key] = ActorBatch(event)
    group.add(event)
