"""The assurance ledger: what a batch adds to the per-tenant, per-day record the assurance
report is made from (`blindar report`, docs/report.md).

Pure: `Ledger` turns a batch's new events (per actor), its dead letters, and the alerts
it published and the repeats folded into them, into a `LedgerBatch` of plain data;
`LedgerBatch.put` adds it to a store plan, applied by the shared family
detectors/state/shared/ledger.py in the same call as the actor states. Keys (P = the key
prefix; T, C encoded by detectors.state.keys.part; DAY = the UTC date, 2026-12-01):

  P{n:T}:ledger:DAY:n   counters of tenant T on DAY:
                        ev|C             T's events on channel C the detectors judged
                                         (new events only, by event time)
                        late|C           of those, the ones judged in a late lane (older
                                         than their actor's horizon: docs/operations.md)
                        late_dropped|C   T's events on C too late even for the late lane:
                                         dropped unjudged (not in ev|C)
                        dl|C|REASON      dead letters naming T (by receipt time)
                        lag|n, lag|sum_ms, lag|max_ms, lag|le|S  processing lag of T's
                                         events: count, sum, max, histogram (S seconds)
                        cfg|HASH         T's events judged under detector config HASH
                        pg|DETECTOR|SEV  pages (new alerts) first seen on DAY
  P{n:T}:ledger:DAY:a   T's alerts first seen on DAY, at most `max_alert_rows` listed:
                        UID -> JSON summary (set once), UID|count, UID|last_ms,
                        UID|severity (the largest seen). UID is the keyed form of the
                        alert's uid (Pseudonymizer.uid: HMAC under the pseudonym key), never
                        dlp.alerts' unkeyed one, which candidate actor ids could reverse
  P{n:T}:ledger:dead    the positions of T's dead-lettered messages counted lately
  P{n:T}:ledger:calls   the store calls whose events of T were counted lately (a retried
                        call counts nothing again)
  P{c:C}:ledger:DAY:m   bitmap of the minutes of DAY in which channel C carried events
  Pledger:config:HASH   the detector configuration snapshot HASH names (monitor/service/controls.py)

Day keys expire `retention_days` after their day ends. Dead letters whose tenant cannot
be read (not JSON, not an object, no string tenant) count under the tag `{n}`, which no
tenant's tag can be. channel_silence alerts belong to its tenant ("*", the monitor
itself); the report shows them to the tenants using the channel.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from detectors.base import DAY_MS, MINUTE_MS, Finding
from detectors.channel_silence import NAME as CHANNEL_SILENCE
from detectors.event import Event
from detectors.state.keys import channel_tag, part, tenant_tag
from detectors.state.shared import ledger as family
from detectors.state.shared.plan import Plan
from monitor.service import controls
from monitor.service.alerts import Alert
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.state.requests import Repeat

log = logging.getLogger("blindar.worker")

UNKNOWN_TENANT_TAG = "{n}"  # dead letters that name no tenant
# Upper bounds (seconds) of the processing-lag histogram buckets; "inf" above the last.
LAG_BUCKETS_S = (1, 5, 15, 60, 300, 900, 3600)
LAG_BOUNDS_MS = [bound * 1000 for bound in LAG_BUCKETS_S]
LAG_FIELDS = [f"lag|le|{bound}" for bound in LAG_BUCKETS_S] + ["lag|le|inf"]
LAG_TOTALS = ("lag|sum_ms", "lag|max_ms")
OTHER_CHANNEL = "other"


@dataclass(frozen=True)
class LedgerSettings:
    """How long the ledger keeps what, and how much (README: BLINDAR_LEDGER_*)."""

    retention_days: int = 400  # a day's keys live this long after the day ends
    max_alert_rows: int = 2000  # alerts listed per tenant and day (more are counted)
    dead_letter_guard: int = 50_000  # dead-lettered message positions remembered per tenant
    call_guard: int = 10_000  # store calls whose events were counted, remembered per tenant
    guard_hours: int = 48  # the guards live this long after their last use
    max_tenants: int = 1000  # tenants one worker counts (later ones: not counted, logged once)


@functools.lru_cache(maxsize=1024)
def day_name(day: int) -> str:
    """The UTC date of a day number (days since 1970-01-01)."""
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


def day_of(ts_ms: int) -> str:
    """The UTC date of a time, as the ledger's keys name it (2026-12-01)."""
    return day_name(ts_ms // DAY_MS)


def day_start_ms(day: str) -> int:
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)


def tenant_key(prefix: str, tenant: str | None, day: str, kind: str) -> str:
    """A tenant's key of one day: kind "n" (counters) or "a" (alert rows); None: the
    dead letters that name no tenant."""
    tag = UNKNOWN_TENANT_TAG if tenant is None else tenant_tag(tenant)
    return f"{prefix}{tag}:ledger:{day}:{kind}"


def guard_key(prefix: str, tenant: str | None, kind: str) -> str:
    """A tenant's guard: kind "dead" (message positions of its dead letters counted) or
    "calls" (store calls whose events were counted)."""
    tag = UNKNOWN_TENANT_TAG if tenant is None else tenant_tag(tenant)
    return f"{prefix}{tag}:ledger:{kind}"


def channel_key(prefix: str, channel: str, day: str) -> str:
    """A channel's bitmap of the minutes of one day with events."""
    return f"{prefix}{channel_tag(channel)}:ledger:{day}:m"


def config_key(prefix: str, config: str) -> str:
    """The detector configuration snapshot named by its hash."""
    return f"{prefix}ledger:config:{config}"


def crossed_ms(finding: Finding) -> int:
    """When the finding's threshold was crossed: its window's last event, or for a silence
    the moment the channel had been quiet for its whole period."""
    if finding.detector == CHANNEL_SILENCE:
        return finding.window_start_ms + int(finding.threshold * MINUTE_MS)
    return finding.window_end_ms


def pages_field(finding: Finding) -> str:
    return f"pg|{finding.detector}|{finding.severity}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-lettered element: its message's position (the same when re-delivered),
    the channel of its topic, why, and the tenant it names if any."""

    position: str
    channel: str
    reason: str
    tenant: str | None


ON_TIME, LATE, DROPPED = "", "late", "late_dropped"  # how an event met the detectors


@dataclass(slots=True)
class EventTally:
    """A tenant-day's new events as the shared family counts them: one row per actor,
    `[owner key, strict, channel index, lag ms, channel index, lag ms, ...]`, counted only
    if the actor's state write in the same store call goes through (`strict`: a conflict
    retry round, where an actor not in the call is not counted); channel indices (from 1)
    into `channels`, keyed by (channel, kind: ON_TIME, LATE or DROPPED); `totals`: fields
    that count every judged event (configuration, lag count)."""

    totals: tuple[str, ...]
    calls: str  # the tenant's guard of store calls counted already
    channels: dict[tuple[str, str], int] = field(default_factory=dict)
    rows: list[list[Any]] = field(default_factory=list)

    def fields(self) -> family.EventFields:
        """The counter fields of its channel indices, in index order: ev|C for events
        judged (late|C besides for the late lane's), late_dropped|C alone for dropped."""
        first, second, judged = [], [], []
        for channel, kind in self.channels:  # in index order
            name = part(channel)
            first.append(f"{DROPPED}|{name}" if kind == DROPPED else f"ev|{name}")
            second.append(f"{LATE}|{name}" if kind == LATE else "")
            judged.append(0 if kind == DROPPED else 1)
        totals = list(self.totals)
        return family.EventFields(first, totals, *LAG_TOTALS, LAG_FIELDS, second, judged)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert's entry: its summary (None for a repeat or an update: set by the page) and
    the values that only grow; `pages` names the counter a first summary adds to."""

    summary: bytes | None
    count: int
    last_ms: int
    severity: int
    pages: str = ""


@dataclass
class DeadLetters:
    """A tenant-day's dead letters: message position -> field -> n (a message is counted
    once, whatever its elements), guarded by the tenant's set of positions."""

    guard: str
    positions: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class AlertRows:
    """A tenant-day's alert rows by uid, and the counters its pages add to."""

    counters: str
    rows: dict[str, AlertRow] = field(default_factory=dict)


@dataclass
class LedgerBatch:
    """What one batch adds to the ledger, as plain data (keys as in the module docstring).

    events: tenant-day counters key -> its new events, per actor. minutes: bitmap key ->
    minutes of the day. dead: counters key -> its dead letters. alerts: alert-rows key ->
    its rows. snapshot: (key, value) of the detector configuration. expire_at_ms: every
    key's expiry."""

    events: dict[str, EventTally] = field(default_factory=dict)
    minutes: dict[str, set[int]] = field(default_factory=dict)
    dead: dict[str, DeadLetters] = field(default_factory=dict)
    alerts: dict[str, AlertRows] = field(default_factory=dict)
    snapshot: tuple[str, str] | None = None
    expire_at_ms: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.minutes or self.dead or self.alerts or self.snapshot)

    def alert(self, key: str, counters: str, uid: str, row: AlertRow) -> None:
        rows = self.alerts.setdefault(key, AlertRows(counters)).rows
        old = rows.get(uid)
        if old is not None:
            row = AlertRow(
                old.summary or row.summary,
                max(old.count, row.count),
                max(old.last_ms, row.last_ms),
                max(old.severity, row.severity),
                old.pages or row.pages,
            )
        rows[uid] = row

    def put(self, plan: Plan, settings: LedgerSettings, now_ms: int) -> None:
        """Add the batch to a store plan (shared family `ledger`)."""
        at = self.expire_at_ms
        guard_ms = settings.guard_hours * 3_600_000
        for key, tally in self.events.items():
            calls = family.Guard(tally.calls, guard_ms, settings.call_guard)
            family.events(plan, key, calls, at[key], tally.fields(), LAG_BOUNDS_MS, tally.rows)
        for key, bits in self.minutes.items():
            family.minutes(plan, key, at[key], sorted(bits))
        for key, dead in self.dead.items():
            rows = [[position, pairs(sums)] for position, sums in dead.positions.items()]
            guard = family.Guard(dead.guard, guard_ms, settings.dead_letter_guard)
            family.dead_letters(plan, key, guard, at[key], now_ms, rows)
        for key, listed in self.alerts.items():
            alert_rows: list[list[Any]] = [
                [uid, (r.summary or b"").decode(), r.count, r.last_ms, r.severity, r.pages]
                for uid, r in listed.rows.items()
            ]
            family.alerts(plan, key, listed.counters, at[key], settings.max_alert_rows, alert_rows)
        if self.snapshot is not None:
            key, value = self.snapshot
            family.snapshot(plan, key, value, at[key])


def pairs(fields: dict[str, int]) -> list[Any]:
    return [x for item in fields.items() for x in item]


class Ledger:
    """How this deployment keeps its ledger: key prefix, settings, the detector config its
    events are judged under (hash and snapshot), the pseudonymizer for actors in alert rows
    and the registered channels (other channel names count as "other")."""

    def __init__(
        self,
        prefix: str,
        config: str,
        snapshot: str,
        pseudonymize: Pseudonymizer,
        settings: LedgerSettings | None = None,
        channels: Iterable[str] | None = None,
    ) -> None:
        self.prefix = prefix
        self.config = config
        self.snapshot_text = snapshot
        self.pseudonymize = pseudonymize
        self.settings = settings or LedgerSettings()
        self.channels = frozenset(channels) if channels is not None else None
        self.tenants: set[str] = set()  # tenants this worker counts (at most max_tenants)
        self.full = False  # max_tenants reached (warned)
        self.snapshot_day = -1  # the day (number) the snapshot was last written (batch clock)
        self.offered_day = -1  # the day of the snapshot in the last store call

    def admits(self, tenant: str) -> bool:
        """Whether the ledger counts `tenant`: each of the first `max_tenants` tenants this
        worker meets, no later one (its events are still judged and paged, not counted).
        A configured tenant registry (monitor/service/tenants.py) bounds the tenants for good; this
        cap bounds a ledger without one, per worker process."""
        known = self.tenants
        if tenant in known:
            return True
        if len(known) >= self.settings.max_tenants:
            if not self.full:
                log.warning("ledger: %d tenants counted; later tenants are not", len(known))
                self.full = True
            return False
        known.add(tenant)
        return True

    def label(self, channel: str) -> str:
        if self.channels is None or channel in self.channels:
            return channel
        return OTHER_CHANNEL

    def expire_at(self, day: int) -> int:
        """When a key of `day` (days since 1970-01-01) expires: `retention_days` after the
        day ends."""
        return (day + 1 + self.settings.retention_days) * DAY_MS

    # ------------------------------------------------------------ events

    def events(
        self,
        fresh: Sequence[tuple[str, Sequence[Event]]],
        decided_ms: int,
        strict: bool,
        late: Collection[str] = (),
        dropped: Sequence[tuple[str, Sequence[Event]]] = (),
    ) -> LedgerBatch:
        """Each actor's new events (owner key, events), per tenant and day of their own
        time: their channel and processing lag to `decided_ms` (counted with the detector
        configuration that judged them), and the minutes each channel carried events.
        Owners in `late` are late lanes (their events count in late|C too); `dropped`:
        events too late even for the late lane, counted in late_dropped|C only. Days past
        retention are left out. (The hot path: one pass, few allocations.)"""
        totals = (f"cfg|{self.config}", "lag|n")
        tallies: dict[tuple[str, int], EventTally] = {}  # (tenant, day number) ->
        minutes: dict[tuple[str, int], set[int]] = {}  # (channel, day number) ->
        for owner, events in fresh:
            kind = LATE if owner in late else ON_TIME
            self.tally(owner, events, kind, decided_ms, strict, totals, tallies, minutes)
        for owner, events in dropped:
            self.tally(owner, events, DROPPED, decided_ms, strict, totals, tallies, minutes)
        batch = LedgerBatch()
        for (tenant, day), tally in tallies.items():
            key = tenant_key(self.prefix, tenant, day_name(day), "n")
            if self.keep(batch, key, day, decided_ms):
                batch.events[key] = tally
        for (channel, day), bits in minutes.items():
            key = self.channel_key(channel, day_name(day))
            if self.keep(batch, key, day, decided_ms):
                batch.minutes[key] = bits
        return batch

    def tally(
        self,
        owner: str,
        events: Sequence[Event],
        kind: str,
        decided_ms: int,
        strict: bool,
        totals: tuple[str, ...],
        tallies: dict[tuple[str, int], EventTally],
        minutes: dict[tuple[str, int], set[int]],
    ) -> None:
        """One owner's events into the tenant-day tallies (one row per tenant-day) and,
        unless dropped, the channels' minutes."""
        known = self.channels
        admitted = self.tenants
        mine: dict[tuple[str, int], list[Any]] = {}
        for event in events:
            if event.tenant not in admitted and not self.admits(event.tenant):
                continue
            ts = event.ts_ms
            day = ts // DAY_MS
            where = (event.tenant, day)
            tally = tallies.get(where)
            if tally is None:
                calls = guard_key(self.prefix, event.tenant, "calls")
                tally = tallies[where] = EventTally(totals, calls)
            row = mine.get(where)
            if row is None:
                row = mine[where] = [owner, int(strict)]
                tally.rows.append(row)
            channel = event.channel
            if known is not None and channel not in known:
                channel = OTHER_CHANNEL
            index = tally.channels.get((channel, kind))
            if index is None:
                index = tally.channels[(channel, kind)] = len(tally.channels) + 1
            lag = decided_ms - ts
            row += (index, lag if lag > 0 else 0)
            if kind == DROPPED:
                continue
            bits = minutes.get((channel, day))
            if bits is None:
                bits = minutes[(channel, day)] = set()
            bits.add(ts % DAY_MS // MINUTE_MS)

    def keep(self, batch: LedgerBatch, key: str, day: int, now_ms: int) -> bool:
        """Whether a key of `day` is still within retention (its expiry then noted)."""
        at = self.expire_at(day)
        if at <= now_ms:
            return False
        batch.expire_at_ms[key] = at
        return True

    def channel_key(self, channel: str, day: str) -> str:
        return channel_key(self.prefix, channel, day)

    # ------------------------------------------------------------ dead letters

    def dead_letters(self, letters: Sequence[DeadLetter], received_ms: int) -> LedgerBatch:
        """Dead letters per tenant (named or unknown) and receipt day, by channel and reason;
        a message's elements are counted together, once per message position."""
        batch = LedgerBatch()
        day = received_ms // DAY_MS
        for letter in letters:
            if letter.tenant is not None and not self.admits(letter.tenant):
                letter = DeadLetter(letter.position, letter.channel, letter.reason, None)
            key = tenant_key(self.prefix, letter.tenant, day_name(day), "n")
            dead = batch.dead.get(key)
            if dead is None:
                if not self.keep(batch, key, day, received_ms):
                    continue
                guard = guard_key(self.prefix, letter.tenant, "dead")
                dead = batch.dead[key] = DeadLetters(guard)
            sums = dead.positions.setdefault(letter.position, {})
            name = f"dl|{part(self.label(letter.channel))}|{letter.reason}"
            sums[name] = sums.get(name, 0) + 1
        return batch

    # ------------------------------------------------------------ alerts

    def alerts(
        self, published: Sequence[Alert], repeats: Sequence[Repeat], paged_ms: int
    ) -> LedgerBatch:
        """Published alerts and repeats folded into open alerts, under the day each alert
        was first seen: a page writes its summary (and counts), the rest their growing values."""
        batch = LedgerBatch()
        rows: list[tuple[str, int, str, AlertRow]] = []
        for alert in published:
            finding = alert.finding
            page = alert.kind == "new"
            summary = orjson.dumps(self.summary(alert, paged_ms)) if page else None
            pages = pages_field(finding) if page else ""
            row = AlertRow(summary, alert.count, finding.window_end_ms, finding.severity, pages)
            rows.append(
                (finding.tenant, alert.first_seen_ms, self.pseudonymize.uid(alert.uid), row)
            )
        for r in repeats:
            row = AlertRow(None, r.count, r.last_seen_ms, r.severity)
            rows.append((r.tenant, r.first_seen_ms, self.pseudonymize.uid(r.uid), row))
        for tenant, first_seen_ms, uid, row in rows:
            if not self.admits(tenant):
                continue
            day = first_seen_ms // DAY_MS
            key = tenant_key(self.prefix, tenant, day_name(day), "a")
            if self.keep(batch, key, day, paged_ms):
                batch.alert(key, tenant_key(self.prefix, tenant, day_name(day), "n"), uid, row)
        return batch

    def summary(self, alert: Alert, paged_ms: int) -> dict[str, Any]:
        """An alert as the ledger keeps it: no raw customer, record or actor id."""
        f = alert.finding
        silence = f.detector == CHANNEL_SILENCE
        return {
            "uid": self.pseudonymize.uid(alert.uid),
            "detector": f.detector,
            "severity": f.severity,
            "actor": None if silence else self.pseudonymize(f.actor),
            "channels": sorted({self.label(c) for c in f.channels}),
            "window_start_ms": f.window_start_ms,
            "first_seen_ms": alert.first_seen_ms,
            "crossed_ms": crossed_ms(f),
            "paged_ms": paged_ms,
            "observed": f.observed,
            "threshold": f.threshold,
        }

    # ------------------------------------------------------------ configuration

    def snapshot(self, now_ms: int) -> LedgerBatch | None:
        """The configuration snapshot, for each UTC day's first store call (until `wrote`):
        it outlives by a day every counter that names its hash."""
        today = now_ms // DAY_MS
        if today == self.snapshot_day:
            return None
        key = config_key(self.prefix, self.config)
        batch = LedgerBatch(snapshot=(key, self.snapshot_text))
        batch.expire_at_ms[key] = self.expire_at(today + 1)
        self.offered_day = today
        return batch

    def wrote(self) -> None:
        """The store call carrying the last snapshot offered went through."""
        self.snapshot_day = self.offered_day

    def use_trusted(self, kinds: Iterable[str]) -> None:
        """Record in the snapshot the kinds of trusted value the worker has (what decides
        the controls not in force); a change makes a new configuration, written with the
        next store call, that the events from then on count under."""
        snap = orjson.loads(self.snapshot_text)
        if snap.get("trusted") == sorted(kinds):
            return
        snap["trusted"] = sorted(kinds)
        self.config = controls.config_hash(snap)
        self.snapshot_text = controls.encoded(snap).decode()
        self.snapshot_day = -1
