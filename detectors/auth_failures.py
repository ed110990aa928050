"""auth_failures: bursts of failed logins on one account or from one address, and a success after.

Agent accounts open the CRM of every client the BPO serves: guessing or spraying their
passwords is the cheapest way in. Counts failed `auth.login` per actor and per source IP
in a sliding 5-minute event-time window (idempotent by event id, late events land in
their window). A burst fires at `threshold_failures`; a successful login right after
`success_after_failures` failures fires as a likely compromise (more severe). Findings
about an address carry `source_ip:<ip>` as their actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detectors.base import (
    MINUTE_MS,
    ActorBatch,
    Finding,
    SlidingWindow,
    Tuned,
    actor_key,
    severity_for,
)
from detectors.event import Event
from detectors.state import Plan

NAME = "auth_failures"
IP_PREFIX = "source_ip:"


@dataclass(frozen=True)
class AuthFailuresConfig(SlidingWindow):
    """Parameters of auth_failures (deploy/config/detectors.yaml → auth_failures)."""

    threshold_failures: int = 10
    success_after_failures: int = 5
    window_minutes: int = 5
    bucket_minutes: int = 1
    lateness_minutes: int = 5
    by_source_ip: bool = True


@dataclass(frozen=True, slots=True)
class Check:
    """One queued question: failures in a window, judged by `rule` against a threshold."""

    index: int
    rule: str
    threshold: int
    tenant: str
    subject: str
    group: ActorBatch


class AuthPending:
    __slots__ = ("checks", "detector")

    def __init__(self, detector: AuthFailures) -> None:
        self.detector = detector
        self.checks: list[Check] = []

    def findings(self, results: Sequence[int]) -> list[Finding]:
        return [
            self.detector.describe(check, results[check.index])
            for check in self.checks
            if results[check.index] >= check.threshold
        ]


class AuthFailures(Tuned[AuthFailuresConfig]):
    """Failed logins per actor and per source IP; a success right after a burst."""

    name = NAME

    def key(self, tenant: str, subject: str) -> str:
        return actor_key(self.prefix, NAME, tenant, subject, "failures")

    def plan(self, events: Sequence[Event], plan: Plan) -> AuthPending:
        failures: dict[tuple[str, str], ActorBatch] = {}
        successes: dict[tuple[str, str, int], ActorBatch] = {}  # judged one by one
        for event in events:
            if event.action != "auth.login" or self.allowed(event):
                continue
            cfg = self.tuning.for_tenant(event.tenant)
            subjects = [event.actor_id]
            if cfg.by_source_ip and event.source_ip:
                subjects.append(IP_PREFIX + event.source_ip)
            if event.outcome == "failure":
                for subject in subjects:
                    key = self.key(event.tenant, subject)
                    bucket = event.ts_ms // cfg.bucket_ms
                    plan.add_sum(key, bucket, event.event_id, 1, event.ts_ms, cfg.ttl_ms)
                    remember(failures, event, subject)
            else:
                remember(successes, event, event.actor_id, event.ts_ms)
        pending = AuthPending(self)
        for (tenant, subject), group in failures.items():
            cfg = self.tuning.for_tenant(tenant)
            hi = group.last_ts // cfg.bucket_ms + cfg.width - 1
            index = self.window_query(plan, tenant, subject, group, group.first_ts, hi)
            pending.checks.append(
                Check(index, "failure_burst", cfg.threshold_failures, tenant, subject, group)
            )
        for (tenant, actor, _), group in successes.items():
            cfg = self.tuning.for_tenant(tenant)
            end = group.last_ts // cfg.bucket_ms
            index = self.window_query(plan, tenant, actor, group, group.last_ts, end)
            pending.checks.append(
                Check(
                    index, "success_after_burst", cfg.success_after_failures, tenant, actor, group
                )
            )
        return pending

    def allowed(self, event: Event) -> bool:
        allowlist = self.tuning.allowlist_for(event.tenant)
        return allowlist.allows_actor(event.actor_id, event.trusted_team)

    def window_query(
        self, plan: Plan, tenant: str, subject: str, group: ActorBatch, lo_ts: int, end_hi: int
    ) -> int:
        """Most failures in any window ending from lo_ts's bucket to end_hi."""
        cfg = self.tuning.for_tenant(tenant)
        end_lo = lo_ts // cfg.bucket_ms
        lateness = cfg.lateness_minutes // cfg.bucket_minutes
        keep_from = min(
            group.first_ts // cfg.bucket_ms - cfg.width,
            group.last_ts // cfg.bucket_ms - cfg.width - lateness,
        )
        return plan.sum_query(
            self.key(tenant, subject), end_lo, end_hi, cfg.width, keep_from, cfg.bucket_ms
        )

    def describe(self, check: Check, failures: int) -> Finding:
        cfg = self.tuning.for_tenant(check.tenant)
        group = check.group
        is_ip = check.subject.startswith(IP_PREFIX)
        if check.rule == "success_after_burst":
            title = f"Login succeeded after {failures} failed attempts in {cfg.window_minutes} min"
            severity = min(6, severity_for(failures, check.threshold) + 1)
        else:
            who = f"from {check.subject[len(IP_PREFIX) :]}" if is_ip else "on one account"
            title = f"{failures} failed logins {who} in {cfg.window_minutes} min"
            severity = severity_for(failures, check.threshold)
        evidence = {
            "rule": check.rule,
            "observed": failures,
            "threshold": check.threshold,
            "ratio": round(failures / check.threshold, 2),
            "failed_logins": failures,
            "window_minutes": cfg.window_minutes,
        }
        if is_ip:
            evidence["source_ip"] = check.subject[len(IP_PREFIX) :]
        return Finding(
            detector=NAME,
            tenant=check.tenant,
            actor=check.subject,
            severity=severity,
            title=title,
            window_start_ms=group.last_ts - cfg.window_minutes * MINUTE_MS,
            window_end_ms=group.last_ts,
            observed=failures,
            threshold=check.threshold,
            evidence=evidence,
            sample_event_ids=tuple(group.samples),
            channels=tuple(sorted(group.channels)),
            team=None if is_ip else group.team,
        )


def remember(groups: dict, event: Event, *subject: object) -> None:
    key = (event.tenant, *subject)
    group = groups.get(key)
    if group is None:
        group = groups[key] = ActorBatch(event)
    group.add(event)
