"""new_device: an actor past warm-up works from a device no teammate uses, and it shows.

Stolen agent credentials used from an attacker's laptop, or an agent copying data out
from a personal machine, first show as a device (or address) the account has never used.
On a contact-center floor most new devices are not news: hot desks and shared terminals
(the team's devices), a laptop at home. So a device first seen for the actor after the
warm-up pages when
- no teammate used it in the last `remember_days` (`team_devices`), and
- within `corroborate_minutes` of its first sighting the actor on it shows from a country
  never seen for them, or moves at least `min_records_out` records out (exports,
  downloads, prints) (`corroborate`; off: the device pages at once).
An actor's first devices are learned during a warm-up (its very first device is not
news). First-seen sets are bounded per actor (`max_per_actor`, least recently seen
dropped) and forget values not seen for `remember_days`.

Tuning. Replay at least `warmup_hours` plus a few days of recorded traffic. The shipped
config watches devices only: a known device on a new address (home broadband, a changed
VPN egress) is not news, and new countries are unusual_location's; add `ip` for tenants
whose agents never leave fixed desks. Hot desks are the team's (`team_devices`); a team
whose members never share devices may turn it off. Turning `corroborate` off pages every
device no teammate uses at once (docs/backtest-notes.md measures what that costs). A
shorter warm-up catches misuse of new accounts sooner at the cost of findings for
agents' second desks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.base import HOUR_MS, MINUTE_MS, Context, Finding, Tuned, peer_team, severity_for
from detectors.event import Event
from detectors.new_device.config import NAME, NewDeviceConfig
from detectors.state.actor import ActorState
from detectors.state.first_seen import FirstSeen, Sighting
from detectors.state.keys import team_tag
from detectors.state.shared import team_devices
from detectors.whereabouts import ATTRIBUTES, DAY_MS

MAX_HELD_OUTS = 16  # records-out events kept per held value (a few reach the threshold)

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "new_device_corroborated": (
        "a device no teammate used, followed within `corroborate_minutes` by a new country or "
        "`min_records_out` records out"
    ),
    "first_seen_after_warmup": (
        "a new device (or address) after warm-up, with `corroborate` off (or an address, never "
        "corroborated)"
    ),
}


@dataclass(slots=True)
class Watch:
    """A new device waiting `corroborate_minutes` for a new country or records out."""

    kind: str
    value: str
    first_ms: int
    event_id: str
    records_out: int = 0

    def dump(self) -> list[Any]:
        return [self.kind, self.value, self.first_ms, self.event_id, self.records_out]


class Devices:
    """One actor's devices and addresses, countries, new devices being watched, the day
    each device was last reported to the team, and the values first seen in the warm-up
    that an earlier event read later may still put past it (`held`: value -> kind, first
    seen, event id, the records moved out on it since ([ts, records, event id, channel])
    and whether a teammate used it then)."""

    __slots__ = ("countries", "held", "reported", "seen", "watched")

    def __init__(self) -> None:
        self.seen = FirstSeen()
        self.countries = FirstSeen()
        self.watched: dict[str, Watch] = {}
        self.reported: dict[str, int] = {}
        self.held: dict[str, list[Any]] = {}

    def dump(self) -> list[Any]:
        return [self.seen.dump(), self.countries.dump(),
                [w.dump() for w in self.watched.values()], self.reported,
                self.held]  # fmt: skip

    @classmethod
    def load(cls, data: list[Any]) -> Devices:
        new = cls()
        new.seen, new.countries = FirstSeen.load(data[0]), FirstSeen.load(data[1])
        new.watched = {w[1]: Watch(*w) for w in data[2]}
        new.reported = dict(data[3])
        new.held = data[4] if len(data) > 4 else {}  # state stored before it
        return new


class NewDevice(Tuned[NewDeviceConfig]):
    """Checks each actor's devices and addresses against their first-seen set and team."""

    name = NAME
    actions = None  # any event may show a device or an address

    def load_slot(self, data: list[Any]) -> Devices:
        return Devices.load(data)

    def team_key(self, event: Event) -> str:
        """The devices of the actor's trusted team (none: the tenant's, `peer_team`)."""
        return f"{self.prefix}{team_tag(event.tenant, peer_team(event))}:{NAME}:devices"

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        slot: Devices = actor.slot(NAME, Devices)
        quiet = not slot.watched and not slot.held
        if len(events) == 1 and quiet and self.known(slot, events[0]):
            return []
        findings = []
        for event in sorted(events, key=lambda e: e.ts_ms):
            first = slot.seen.first
            findings += self.see(slot, event, ctx, actor.horizon)
            if slot.held and first is not None and slot.seen.first != first:
                findings += self.settle(slot, event)
        if slot.held:
            self.release(slot, events[0], actor.horizon)
        return findings

    def known(self, slot: Devices, event: Event) -> bool:
        """The fast path: every device/address of the event is known (one lookup each),
        and its device was reported to the team today."""
        cfg = self.tuning.for_tenant(event.tenant)
        remember = cfg.remember_days * DAY_MS
        for kind in cfg.attributes:
            value = ATTRIBUTES[kind](event)
            if value and not slot.seen.touch(f"{kind}:{value}", event.ts_ms, remember):
                return False
        device = event.device_id
        return not device or slot.reported.get(device) == event.ts_ms // DAY_MS

    def see(self, slot: Devices, event: Event, ctx: Context, horizon: int) -> list[Finding]:
        cfg = self.tuning.for_tenant(event.tenant)
        new_country = self.new_country(cfg, slot, event)
        values = [(k, v) for k in sorted(cfg.attributes) if (v := ATTRIBUTES[k](event))]
        answers = (
            slot.seen.check(
                [(f"{k}:{v}", event.ts_ms) for k, v in values],
                cfg.warmup_hours * HOUR_MS,
                cfg.max_per_actor,
                cfg.remember_days * DAY_MS,
            )
            if values
            else []
        )
        new: list[tuple[str, str]] = []
        for (kind, value), answer in zip(values, answers, strict=True):
            team_known = False
            if kind == "device" and cfg.team_devices:
                team_known = self.team_known(cfg, slot, event, value, ctx)
                if answer == Sighting.NEW and team_known:
                    continue  # a teammate's desk: learned silently
            if answer == Sighting.NEW:
                new.append((kind, value))
            elif answer == Sighting.NEW_IN_WARMUP and len(slot.held) < cfg.max_per_actor:
                held = [kind, event.ts_ms, event.event_id, [], team_known]
                slot.held.setdefault(value, held)
        if slot.held:
            self.hold_out(cfg, slot, event)
        if new and not cfg.corroborate:
            return [describe(cfg, event, new, "first_seen_after_warmup", {})]
        for kind, value in new:
            slot.watched.setdefault(value, Watch(kind, value, event.ts_ms, event.event_id))
        found = self.corroborated(cfg, slot, event, new_country, horizon)
        return [found] if found is not None else []

    def hold_out(self, cfg: NewDeviceConfig, slot: Devices, event: Event) -> None:
        """Records moved out on a held value, kept for when it turns out past warm-up."""
        if event.action not in cfg.out_actions or not event.records:
            return
        for value in (event.device_id, event.source_ip):
            held = slot.held.get(value or "")
            if held is not None and len(held[3]) < MAX_HELD_OUTS:
                held[3].append([event.ts_ms, event.records, event.event_id, event.channel])

    def settle(self, slot: Devices, event: Event) -> list[Finding]:
        """The actor's first sighting moved back (an earlier event read later): held
        values now past warm-up are new, as if read in event-time order."""
        cfg = self.tuning.for_tenant(event.tenant)
        first, warmup = slot.seen.first or 0, cfg.warmup_hours * HOUR_MS
        findings = []
        for value, held in list(slot.held.items()):
            if held[1] - first < warmup:
                continue
            del slot.held[value]
            if not held[4]:  # no teammate's desk when it was first seen
                found = self.reopen(cfg, slot, event, value, held)
                if found is not None:
                    findings.append(found)
        return findings

    def reopen(
        self, cfg: NewDeviceConfig, slot: Devices, event: Event, value: str, held: list[Any]
    ) -> Finding | None:
        """A held value found new: a finding at once (uncorroborated rule, or records
        already moved out on it), or a watch from its first sighting."""
        kind, ts, event_id, outs, _ = held
        if not cfg.corroborate:
            at = (ts, event_id, event.channel)
            return describe(cfg, event, [(kind, value)], "first_seen_after_warmup", {}, at)
        watch = Watch(kind, value, ts, event_id)
        window = cfg.corroborate_minutes * MINUTE_MS
        moved = [o for o in outs if ts <= o[0] <= ts + window]
        watch.records_out = sum(o[1] for o in moved)
        if watch.records_out < cfg.min_records_out:
            slot.watched.setdefault(value, watch)
            return None
        last = max(moved)
        extra = corroboration(cfg, [watch], "records_out", event.country, watch.records_out)
        at = (last[0], last[2], last[3])
        return describe(cfg, event, [(kind, value)], "new_device_corroborated", extra, at)

    def release(self, slot: Devices, event: Event, horizon: int) -> None:
        """Held values no earlier event can put past warm-up any more (the first sighting
        cannot move below the horizon) are learned for good."""
        warmup = self.tuning.for_tenant(event.tenant).warmup_hours * HOUR_MS
        for value in [v for v, held in slot.held.items() if held[1] - warmup < horizon]:
            del slot.held[value]

    def new_country(self, cfg: NewDeviceConfig, slot: Devices, event: Event) -> bool:
        if not event.country:
            return False
        [answer] = slot.countries.check(
            [(event.country, event.ts_ms)], cfg.warmup_hours * HOUR_MS, cfg.max_per_actor,
            cfg.remember_days * DAY_MS,
        )  # fmt: skip
        return answer == Sighting.NEW

    def team_known(
        self, cfg: NewDeviceConfig, slot: Devices, event: Event, device: str, ctx: Context
    ) -> bool:
        """Whether a teammate used the device lately; the team hears of this actor's use
        (once a day per device)."""
        key = self.team_key(event)
        since = event.ts_ms - cfg.remember_days * DAY_MS
        reply = ctx.cached(key, lambda plan: team_devices.since(plan, key, since))
        day = event.ts_ms // DAY_MS
        if slot.reported.get(device) != day:
            slot.reported[device] = day
            if len(slot.reported) > cfg.max_per_actor:
                slot.reported.pop(next(iter(slot.reported)))
            team_devices.used(ctx.plan, key, device, event.ts_ms, cfg.team_cap,
                              cfg.remember_days * DAY_MS)  # fmt: skip
        return reply is not None and device in reply.used

    def corroborated(
        self, cfg: NewDeviceConfig, slot: Devices, event: Event, new_country: bool, horizon: int
    ) -> Finding | None:
        """A watched device used again within its window: a new country, or enough records
        out, pages. A watch ends once the horizon passes its window (an event read later
        may still fall in it)."""
        window = cfg.corroborate_minutes * MINUTE_MS
        for value in [v for v, w in slot.watched.items() if w.first_ms + window < horizon]:
            del slot.watched[value]
        current = {v for v in (event.device_id, event.source_ip) if v}
        mine = [w for v, w in slot.watched.items()
                if v in current and w.first_ms <= event.ts_ms <= w.first_ms + window]  # fmt: skip
        if not mine:
            return None
        if event.action in cfg.out_actions:
            for watch in mine:
                watch.records_out += event.records
        out = max(w.records_out for w in mine)
        if not new_country and out < cfg.min_records_out:
            return None
        for watch in mine:
            del slot.watched[watch.value]
        found = [(w.kind, w.value) for w in mine]
        by = "new_country" if new_country else "records_out"
        evidence = corroboration(cfg, mine, by, event.country, out)
        return describe(cfg, event, found, "new_device_corroborated", evidence)


def corroboration(
    cfg: NewDeviceConfig, mine: list[Watch], by: str, country: str | None, out: int
) -> dict[str, Any]:
    """A corroborated finding's evidence: what corroborated it and the first sighting."""
    return {
        "corroborated_by": by,
        "country": country,
        "records_out": out,
        "corroborate_minutes": cfg.corroborate_minutes,
        "first_seen_ms": min(w.first_ms for w in mine),
        "first_event_id": min(mine, key=lambda w: w.first_ms).event_id,
    }


def describe(
    cfg: NewDeviceConfig,
    event: Event,
    new: list[tuple[str, str]],
    rule: str,
    extra: dict[str, Any],
    at: tuple[int, str, str] | None = None,
) -> Finding:
    """The finding, at the event's time, id and channel unless `at` names others."""
    ts_ms, event_id, channel = at or (event.ts_ms, event.event_id, event.channel)
    kinds = sorted({kind for kind, _ in new})
    evidence: dict[str, Any] = {
        "new_attributes": kinds,
        "new_values": len(new),
        "warmup_hours": cfg.warmup_hours,
        "threshold_new_values": 1,
        "rule": rule,
        **extra,
    }
    for kind, value in new:
        evidence.setdefault(f"new_{kind}", value)
    start = extra.get("first_seen_ms", ts_ms)
    ids = [i for i in (extra.get("first_event_id"), event_id) if i]
    return Finding(
        detector=NAME,
        tenant=event.tenant,
        actor=event.actor_id,
        severity=severity_for(len(new), 1) + (1 if rule == "new_device_corroborated" else 0),
        title=f"New {' and '.join(kinds)} for an established actor"
        + (f", {evidence['corroborated_by'].replace('_', ' ')}" if extra else ""),
        window_start_ms=start,
        window_end_ms=ts_ms,
        observed=len(new),
        threshold=1,
        evidence=evidence,
        sample_event_ids=tuple(dict.fromkeys(ids)),
        channels=(channel,),
        team=event.actor_team,
    )
