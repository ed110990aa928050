"""auth_failures: bursts of failed logins on one account or from one address, and a success after.

Agent accounts open the CRM of every client the BPO serves: guessing or spraying their
passwords is the cheapest way in. Counts failed `auth.login` per actor and per source IP
in a sliding 5-minute event-time window (late events land in their window): per actor in
the actor's state, per address in shared state (several actors, several workers). A
burst fires at `threshold_failures`; a successful login right after
`success_after_failures` failures fires as a likely compromise (more severe). Findings
about an address carry `source_ip:<ip>` as their actor.

Tuning. Sites behind one NAT address share an IP: raise `threshold_failures` for that
tenant or set `by_source_ip: false` there; replay a day of logins and look at the
`source_ip:` findings first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detectors.auth_failures.config import NAME, AuthFailuresConfig
from detectors.base import (
    MINUTE_MS,
    ActorBatch,
    Context,
    Finding,
    Tuned,
    group_by,
    judge_by_tenant,
    severity_for,
)
from detectors.event import Event
from detectors.state.actor import ActorState, PerTenant
from detectors.state.keys import address_tag
from detectors.state.shared import guarded_sum
from detectors.state.shared.guarded_sum import WindowTotal
from detectors.state.shared.plan import Plan
from detectors.state.windowed_sum import WindowedSum

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "failure_burst": (
        "failed logins of an actor (or from a source IP) in the window ≥ `threshold_failures`"
    ),
    "success_after_burst": (
        "a successful login after ≥ `success_after_failures` failures in the window"
    ),
}


IP_PREFIX = "source_ip:"


@dataclass(frozen=True, slots=True)
class Check:
    """One question: failures in a window, judged by `rule` against a threshold."""

    rule: str
    threshold: int
    tenant: str
    subject: str
    group: ActorBatch


class AddressPending:
    """Failed logins per source address (shared state), judged once the store answered."""

    __slots__ = ("asked", "detector")

    def __init__(self, detector: AuthFailures) -> None:
        self.detector = detector
        self.asked: list[tuple[Check, WindowTotal]] = []

    def owners(self) -> list[str]:
        return [
            self.detector.address_key(check.tenant, check.subject[len(IP_PREFIX) :])
            for check, _ in self.asked
        ]

    def findings(self) -> list[Finding]:
        return [
            self.detector.describe(check, reply.total)
            for check, reply in self.asked
            if reply.total >= check.threshold
        ]


class AuthFailures(Tuned[AuthFailuresConfig]):
    """Failed logins per actor (actor side) and per source address (shared side); a success
    right after a burst on the account."""

    name = NAME
    actions = frozenset({"auth.login"})

    def address_key(self, tenant: str, address: str) -> str:
        """The address's owner hash (its alerts); its failures live in `<key>:failures`."""
        return f"{self.prefix}{address_tag(tenant, address)}"

    def load_slot(self, data: dict) -> PerTenant[WindowedSum]:
        return PerTenant.loader(WindowedSum.load)(data)

    def allowed(self, event: Event) -> bool:
        return self.tuning.allows_actor(event.tenant, event.actor_id, event.trusted_team)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        logins = [e for e in events if e.action == "auth.login" and not self.allowed(e)]
        if not logins:
            return []
        sums: PerTenant[WindowedSum] = actor.slot(NAME, PerTenant)

        def take(event: Event) -> bool:
            if event.outcome != "failure":
                return False
            cfg = self.tuning.for_tenant(event.tenant)
            sums.get_or_new(event.tenant, WindowedSum).add(event.ts_ms // cfg.bucket_ms, 1)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            cfg = self.tuning.for_tenant(tenant)
            total = self.failures_in(sums[tenant], cfg, group, group.first_ts, None, actor.horizon)
            check = Check("failure_burst", cfg.threshold_failures, tenant, actor.actor, group)
            return self.describe(check, total) if total >= check.threshold else None

        findings = judge_by_tenant(logins, take, judge)
        for event in logins:
            window = sums.get(event.tenant)
            if event.outcome == "failure" or window is None:
                continue
            cfg = self.tuning.for_tenant(event.tenant)
            group = ActorBatch(event)
            group.add(event)
            end = event.ts_ms // cfg.bucket_ms
            total = self.failures_in(window, cfg, group, event.ts_ms, end, actor.horizon)
            check = Check(
                "success_after_burst", cfg.success_after_failures, event.tenant, actor.actor, group
            )
            if total >= check.threshold:
                findings.append(self.describe(check, total))
        return findings

    def failures_in(
        self,
        window: WindowedSum,
        cfg: AuthFailuresConfig,
        group: ActorBatch,
        lo_ts: int,
        end_hi: int | None,
        horizon_ms: int,
    ) -> int:
        """Most failures in any window ending from lo_ts's bucket to end_hi (default: the
        last window holding the group's latest event)."""
        _, last_end, keep_from = cfg.window_ends(group.first_ts, group.last_ts, horizon_ms)
        end_lo = lo_ts // cfg.bucket_ms
        return window.max_window(end_lo, last_end if end_hi is None else end_hi, cfg.width,
                                 keep_from)  # fmt: skip

    def plan_shared(self, events: Sequence[Event], plan: Plan, horizon_ms: int) -> AddressPending:
        """Failed logins per source address: every event of the batch, re-deliveries too
        (the shared sum counts an event id once)."""

        def key(event: Event) -> tuple[str, str] | None:
            if event.action != "auth.login" or event.outcome != "failure" or not event.source_ip:
                return None
            cfg = self.tuning.for_tenant(event.tenant)
            if not cfg.by_source_ip or self.allowed(event):
                return None
            key = self.address_key(event.tenant, event.source_ip) + ":failures"
            bucket = event.ts_ms // cfg.bucket_ms
            guarded_sum.add(plan, key, bucket, event.event_id, 1, event.ts_ms, cfg.ttl_ms)
            return (event.tenant, event.source_ip)

        groups = group_by(events, key)
        pending = AddressPending(self)
        for (tenant, address), group in groups.items():
            cfg = self.tuning.for_tenant(tenant)
            end_lo, end_hi, keep_from = cfg.window_ends(group.first_ts, group.last_ts, horizon_ms)
            failures = self.address_key(tenant, address) + ":failures"
            reply = guarded_sum.max_window(
                plan, failures, end_lo, end_hi, cfg.width, keep_from, cfg.bucket_ms
            )
            subject = IP_PREFIX + address
            check = Check("failure_burst", cfg.threshold_failures, tenant, subject, group)
            pending.asked.append((check, reply))
        return pending

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
            owner=self.address_key(check.tenant, check.subject[len(IP_PREFIX) :]) if is_ip else "",
        )
