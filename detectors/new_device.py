"""new_device: an actor past warm-up shows up on a device or IP never seen for them.

Stolen agent credentials used from an attacker's laptop, or an agent logging in from
a personal machine to copy data out, first show as a device or address the account
has never used. An actor's first devices are learned during a warm-up period (an
actor's very first device is not news); after it, a new device or IP is a finding.
First-seen sets are bounded per actor (`max_per_actor`, least recently seen dropped)
and forget values not seen for `remember_days`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.base import Context, Finding, Tuned, severity_for
from detectors.event import Event
from detectors.state.actor import ActorState
from detectors.state.first_seen import FirstSeen
from detectors.whereabouts import ATTRIBUTES, DAY_MS, Seen, check_first_seen, sightings

NAME = "new_device"
KINDS = frozenset({"device", "ip"})


@dataclass(frozen=True)
class NewDeviceConfig:
    """Settings for new_device (deploy/config/detectors.yaml → new_device)."""

    warmup_hours: int = 168
    remember_days: int = 90
    max_per_actor: int = 50
    attributes: frozenset[str] = frozenset({"device", "ip"})


class NewDevice(Tuned[NewDeviceConfig]):
    """Checks each actor's devices and IPs of the batch against their first-seen set."""

    name = NAME
    actions = None  # any event may show a device or an address

    def load_slot(self, data: list[Any]) -> FirstSeen:
        return FirstSeen.load(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        if len(events) == 1 and self.known(actor, events[0]):
            return []
        seen = sightings(events, KINDS)
        if not seen:
            return []
        # State is per actor across tenants; settings follow the tenant of its first event.
        cfg = self.tuning.for_tenant(seen[0].event.tenant)
        wanted = [s for s in seen if s.kind in cfg.attributes]
        if not wanted:
            return []
        known: FirstSeen = actor.slot(NAME, FirstSeen)
        new = check_first_seen(
            known, wanted, cfg.warmup_hours, cfg.max_per_actor, cfg.remember_days
        )
        return [describe(cfg, new)] if new else []

    def known(self, actor: ActorState, event: Event) -> bool:
        """The fast path: every device/address of the event is known (one lookup each)."""
        cfg = self.tuning.for_tenant(event.tenant)
        known: FirstSeen = actor.slot(NAME, FirstSeen)
        remember = cfg.remember_days * DAY_MS
        for kind in cfg.attributes:
            value = ATTRIBUTES[kind](event)
            if value and not known.touch(f"{kind}:{value}", event.ts_ms, remember):
                return False
        return True


def describe(cfg: NewDeviceConfig, new: list[Seen]) -> Finding:
    first = min(new, key=lambda s: s.event.ts_ms).event
    kinds = sorted({s.kind for s in new})
    evidence: dict[str, object] = {
        "new_attributes": kinds,
        "new_values": len(new),
        "warmup_hours": cfg.warmup_hours,
        "threshold_new_values": 1,
        "rule": "first_seen_after_warmup",
    }
    for s in new:
        evidence.setdefault(f"new_{s.kind}", s.value)
    return Finding(
        detector=NAME,
        tenant=first.tenant,
        actor=first.actor_id,
        severity=severity_for(len(new), 1),
        title=f"New {' and '.join(kinds)} for an established actor",
        window_start_ms=first.ts_ms,
        window_end_ms=max(s.event.ts_ms for s in new),
        observed=len(new),
        threshold=1,
        evidence=evidence,
        sample_event_ids=tuple(dict.fromkeys(s.event.event_id for s in new)),
        channels=tuple(sorted({s.event.channel for s in new})),
        team=first.actor_team,
    )
