"""exfil_sequence: sensitive records viewed, then data leaves within minutes.

The shape of most small contact-center leaks: an agent looks at a customer's card,
health or personal data, then copies it to the clipboard, screenshots it, mails it
to an outside address or puts it on a USB stick or cloud drive. Either step alone is
routine; the sequence is not. Views (of `classifications` records) and exits are kept
per actor as timed members; an exit preceded by at least `min_sensitive_views` views
within `window_minutes` is a finding. The view may be processed after the exit (other
channel, other topic): a late view is matched against exits already stored.
Destinations on the allowlist (`allowlist.destination_domains`) are not exits.

Tuning. Replay and look at the `exit` evidence: the client's own domains (e.g. the
bank's ticketing mailbox) belong in `allowlist.destination_domains`; teams whose job is
copying data into another system (back office) can drop `clipboard.copy` from
`exit_actions` for their tenant or be allowlisted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from detectors.base import (
    ActorBatch,
    Context,
    Finding,
    Tuned,
    count_finding,
    judge_by_tenant,
    severity_for,
)
from detectors.event import Event
from detectors.exfil_sequence.config import NAME, ExfilSequenceConfig
from detectors.state.actor import ActorState, PerTenant
from detectors.state.timed_members import Member, TimedMembers
from detectors.tuning import Tuning

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "sequence": "`min_sensitive_views` sensitive views followed within `window_minutes` by an exit",
}


class Sequences:
    """One actor's sensitive views and exits within the window, in one tenant."""

    __slots__ = ("exits", "views")

    def __init__(self) -> None:
        self.views = TimedMembers()  # (event id, record)
        self.exits = TimedMembers()  # (event id, exit kind, channel)

    def dump(self) -> list[Any]:
        return [self.views.dump(), self.exits.dump()]

    @classmethod
    def load(cls, data: list[Any]) -> Sequences:
        new = cls()
        new.views = TimedMembers.load(data[0])
        new.exits = TimedMembers.load(data[1])
        return new


class ExfilSequence(Tuned[ExfilSequenceConfig]):
    """Pairs exits with the sensitive views that preceded them."""

    name = NAME
    fields = ("destination_kind",)  # exits are judged by destination as well as by action

    def __init__(self, tuning: Tuning[ExfilSequenceConfig], key_prefix: str = "") -> None:
        super().__init__(tuning, key_prefix)
        configs = (tuning.default, *tuning.tenants.values())
        read = {"message.send"}.union(*(c.view_actions | c.exit_actions for c in configs))
        self.actions = frozenset(read)

    def load_slot(self, data: dict) -> PerTenant[Sequences]:
        return PerTenant.loader(Sequences.load)(data)

    def exit_kind(self, event: Event, cfg: ExfilSequenceConfig) -> str | None:
        """What kind of exit this event is (e.g. "email:gmail.com", "usb"), or None."""
        if event.action == "message.send" and event.destination_external:
            kind = f"{event.destination_kind or 'message'}:{event.destination_domain or '?'}"
        elif event.destination_kind in cfg.exit_destinations:
            kind = event.destination_kind
        elif event.action in cfg.exit_actions:
            kind = event.action
        else:
            return None
        allowlist = self.tuning.allowlist_for(event.tenant)
        return None if allowlist.allows_domain(event.destination_domain) else kind

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        def take(event: Event) -> bool:
            cfg = self.tuning.for_tenant(event.tenant)
            viewed = (
                event.action in cfg.view_actions and event.classification in cfg.classifications
            )
            kind = None if viewed else self.exit_kind(event, cfg)
            if not viewed and kind is None:
                return False
            slots: PerTenant[Sequences] = actor.slot(NAME, PerTenant)
            slot = slots.get_or_new(event.tenant, Sequences)
            if viewed:
                slot.views.add((event.event_id, event.resource_id or ""), event.ts_ms, cfg.max_kept)
            else:
                member = (event.event_id, kind or "", event.channel)
                slot.exits.add(member, event.ts_ms, cfg.max_kept)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            slots: PerTenant[Sequences] = actor.slot(NAME, PerTenant)
            slot = slots[tenant]
            lo, hi = group.first_ts, group.last_ts
            finding = self.judge(actor.actor, tenant, slot, lo, hi, actor.horizon)
            return None if finding is None else replace(finding, team=group.team)

        return judge_by_tenant(events, take, judge)

    def judge(
        self, actor: str, tenant: str, slot: Sequences, lo: int, hi: int, horizon_ms: int
    ) -> Finding | None:
        """The exit of [lo, hi + window] preceded by the most sensitive views in the window."""
        cfg = self.tuning.for_tenant(tenant)
        keep = min(lo, horizon_ms) - cfg.window_ms
        slot.views.trim(keep)
        slot.exits.trim(keep)
        best: tuple[int, int, Member, list[Member]] | None = None
        for member, ts in slot.exits.between(lo, hi + cfg.window_ms):
            before = slot.views.between(ts - cfg.window_ms, ts)
            if before and (best is None or len(before) > best[0]):
                best = (len(before), ts, member, [m for m, _ in before[-5:]])
        if best is None or best[0] < cfg.min_sensitive_views:
            return None
        views, exit_ts, exit_member, view_members = best
        return describe(cfg, tenant, actor, views, exit_ts, exit_member, view_members)


def describe(
    cfg: ExfilSequenceConfig,
    tenant: str,
    actor: str,
    views: int,
    exit_ts: int,
    exit_member: Member,
    view_members: list[Member],
) -> Finding:
    exit_id, kind, channel = exit_member
    view_ids = [event_id for event_id, _ in view_members]
    records = [record for _, record in view_members if record]
    threshold = cfg.min_sensitive_views
    title = (
        f"Exfiltration sequence: {views} sensitive record views then {kind} "
        f"within {cfg.window_minutes} min"
    )
    evidence = {
        "sensitive_views": views,
        "exit": kind,
        "window_minutes": cfg.window_minutes,
        "threshold_views": threshold,
        "over_threshold_by": views - threshold,
        "rule": "sequence",
    }
    severity = min(5, severity_for(views, threshold) + (1 if hard_exit(cfg, kind) else 0))
    return count_finding(
        NAME, tenant, actor, views, threshold, title, exit_ts, cfg.window_ms, evidence,
        severity=severity,
        sample_event_ids=(exit_id, *view_ids),
        channels=(channel,),
        sample_records=tuple(records),
    )  # fmt: skip


def hard_exit(cfg: ExfilSequenceConfig, kind: str) -> bool:
    """An external send or a usb/cloud upload (data already outside), not a copy or capture."""
    return ":" in kind or kind in cfg.exit_destinations
