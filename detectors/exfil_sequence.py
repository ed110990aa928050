"""exfil_sequence: sensitive records viewed, then data leaves within minutes.

The shape of most small contact-center leaks: an agent looks at a customer's card,
health or personal data, then copies it to the clipboard, screenshots it, mails it
to an outside address or puts it on a USB stick or cloud drive. Either step alone is
routine; the sequence is not. Views (of `classifications` records) and exits are kept
per actor as timed members; an exit preceded by at least `min_sensitive_views` views
within `window_minutes` is a finding. The view may be processed after the exit (other
channel, other topic): a late view is matched against exits already stored.
Destinations on the allowlist (`allowlist.destination_domains`) are not exits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from detectors.base import MINUTE_MS, Finding, Tuned, actor_key, severity_for
from detectors.context_state import SEP
from detectors.event import Event
from detectors.state import Plan
from detectors.tuning import Tuning

NAME = "exfil_sequence"


@dataclass(frozen=True)
class ExfilSequenceConfig:
    """Settings for exfil_sequence (deploy/config/detectors.yaml → exfil_sequence)."""

    window_minutes: int = 10
    min_sensitive_views: int = 1
    lateness_minutes: int = 5
    classifications: frozenset[str] = frozenset({"pii", "pci", "phi"})
    view_actions: frozenset[str] = frozenset({"record.view", "pii.unmask"})
    exit_actions: frozenset[str] = frozenset({"clipboard.copy", "screen.capture"})
    exit_destinations: frozenset[str] = frozenset({"usb", "cloud"})

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS

    @property
    def ttl_ms(self) -> int:
        return (self.window_minutes + 2 * self.lateness_minutes) * MINUTE_MS


class ExfilSequence(Tuned[ExfilSequenceConfig]):
    """Pairs exits with the sensitive views that preceded them."""

    name = NAME

    def key(self, tenant: str, actor: str, suffix: str) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, suffix)

    def exit_kind(self, event: Event, cfg: ExfilSequenceConfig) -> str | None:
        """What kind of exit this event is (e.g. "email:gmail.com", "usb"), or None."""
        allowlist = self.tuning.allowlist_for(event.tenant)
        if allowlist.allows_domain(event.destination_domain):
            return None
        if event.action == "message.send" and event.destination_external:
            return f"{event.destination_kind or 'message'}:{event.destination_domain or '?'}"
        if event.destination_kind in cfg.exit_destinations:
            return event.destination_kind
        if event.action in cfg.exit_actions:
            return event.action
        return None

    def plan(self, events: Sequence[Event], plan: Plan) -> SequencePending:
        spans: dict[tuple[str, str], list[int]] = {}
        teams: dict[tuple[str, str], str | None] = {}
        for event in events:
            cfg = self.tuning.for_tenant(event.tenant)
            tenant, actor = event.tenant, event.actor_id
            if event.action in cfg.view_actions and event.classification in cfg.classifications:
                member = SEP.join((event.event_id, event.resource_id or ""))
                key = self.key(tenant, actor, "views")
            else:
                kind = self.exit_kind(event, cfg)
                if kind is None:
                    continue
                member = SEP.join((event.event_id, kind, event.channel))
                key = self.key(tenant, actor, "exits")
            plan.op("BE", key, member, event.ts_ms, cfg.ttl_ms)
            teams.setdefault((tenant, actor), event.actor_team)
            span = spans.setdefault((tenant, actor), [event.ts_ms, event.ts_ms])
            span[0], span[1] = min(span[0], event.ts_ms), max(span[1], event.ts_ms)
        pending = SequencePending(self.tuning)
        for (tenant, actor), (lo, hi) in spans.items():
            cfg = self.tuning.for_tenant(tenant)
            lateness = cfg.lateness_minutes * MINUTE_MS
            index = plan.query(
                "BE",
                self.key(tenant, actor, "views"),
                self.key(tenant, actor, "exits"),
                lo,
                hi + cfg.window_ms,
                cfg.window_ms,
                min(lo, hi - lateness) - cfg.window_ms,
            )
            pending.queries.append((index, tenant, actor, teams[(tenant, actor)]))
        return pending


class SequencePending:
    def __init__(self, tuning: Tuning[ExfilSequenceConfig]) -> None:
        self.tuning = tuning
        self.queries: list[tuple[int, str, str, str | None]] = []

    def findings(self, results: Sequence[Any]) -> list[Finding]:
        out = []
        for index, tenant, actor, team in self.queries:
            views, *rest = results[index]
            cfg = self.tuning.for_tenant(tenant)
            if int(views) >= cfg.min_sensitive_views:
                exit_ts, exit_member, *view_members = rest
                finding = describe(
                    cfg, tenant, actor, int(views), int(exit_ts), exit_member, view_members
                )
                out.append(replace(finding, team=team))
        return out


def describe(
    cfg: ExfilSequenceConfig,
    tenant: str,
    actor: str,
    views: int,
    exit_ts: int,
    exit_member: str,
    view_members: list[str],
) -> Finding:
    exit_id, kind, channel = exit_member.split(SEP)
    view_ids = [m.split(SEP)[0] for m in view_members]
    records = [m.split(SEP)[1] for m in view_members if m.split(SEP)[1]]
    threshold = cfg.min_sensitive_views
    return Finding(
        detector=NAME,
        tenant=tenant,
        actor=actor,
        severity=min(5, severity_for(views, threshold) + (1 if hard_exit(cfg, kind) else 0)),
        title=f"Exfiltration sequence: {views} sensitive record views then {kind} "
        f"within {cfg.window_minutes} min",
        window_start_ms=exit_ts - cfg.window_ms,
        window_end_ms=exit_ts,
        observed=views,
        threshold=threshold,
        evidence={
            "sensitive_views": views,
            "exit": kind,
            "window_minutes": cfg.window_minutes,
            "threshold_views": threshold,
            "over_threshold_by": views - threshold,
            "rule": "sequence",
        },
        sample_event_ids=(exit_id, *view_ids),
        channels=(channel,),
        sample_records=tuple(records),
    )


def hard_exit(cfg: ExfilSequenceConfig, kind: str) -> bool:
    """An external send or a usb/cloud upload (data already outside), not a copy or capture."""
    return ":" in kind or kind in cfg.exit_destinations
