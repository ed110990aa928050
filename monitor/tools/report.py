"""The per-tenant assurance report as data: coverage, detections and controls in force for
one tenant over a period of UTC days, built from the ledger (monitor/service/ledger.py).

`read_view` fetches what the report needs; `build_report` is pure and returns the JSON
twin, which the HTML (monitor/tools/report_html.py) renders number for number. Every figure is
explained in docs/report.md. Nothing here carries a raw customer, record or actor id: the
ledger never stored one (actors are pseudonyms, alert uids keyed), and allowlisted actors
are pseudonymized. A tenant's report holds only its own counts and controls: not the dead
letters that name no tenant (they may be anyone's), not the detector-wide allowlist's
entries nor other tenants' overrides.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import orjson

from detectors.base import MINUTE_MS
from detectors.channel_silence import NAME as CHANNEL_SILENCE
from monitor.service.canary import report as canary_report
from monitor.service.controls import controls_for
from monitor.service.ledger import DAY_MS, DROPPED, LAG_BUCKETS_S, LATE, day_of, day_start_ms
from monitor.tools.ledger_reader import LedgerReader, TenantDay

MONITOR_TENANT = "*"  # channel_silence's default tenant: the monitor itself
SILENCE_LOOKBACK_DAYS = 7  # a silence or a channel's use this long before the period counts
TOP_ACTORS = 10
REPORT_VERSION = 1


@dataclass(frozen=True)
class Period:
    """Whole UTC days, first to last inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts (--to is before --from)")

    @property
    def days(self) -> list[str]:
        count = (self.last - self.first).days + 1
        return [(self.first + timedelta(days=n)).isoformat() for n in range(count)]

    @property
    def lookback(self) -> list[str]:
        """The days before the period whose silences and channel use still matter."""
        return [
            (self.first - timedelta(days=n)).isoformat()
            for n in range(SILENCE_LOOKBACK_DAYS, 0, -1)
        ]

    @property
    def start_ms(self) -> int:
        return day_start_ms(self.first.isoformat())

    @property
    def end_ms(self) -> int:
        return day_start_ms(self.last.isoformat()) + DAY_MS


@dataclass
class LedgerView:
    """Everything the ledger holds for one report."""

    tenant: dict[str, TenantDay]  # the tenant, lookback and period days
    monitor: dict[str, TenantDay]  # channel_silence's tenant ("*"), same days
    minutes: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    canaries: dict[str, Any] | None = None  # `blindar canary` results (monitor/service/canary)


async def read_view(
    reader: LedgerReader, tenant: str, period: Period, monitor: str = MONITOR_TENANT
) -> LedgerView:
    """Read the ledger for `tenant` over `period` (a few store calls); `monitor` is the
    tenant channel_silence pages under (its `tenant` setting)."""
    days = period.lookback + period.days
    view = LedgerView(
        await reader.tenant_days(tenant, days),
        await reader.tenant_days(monitor, days),
    )
    channels = tenant_channels(view.tenant, days)
    # Silences may end after the period: look one day past it for the channel's return.
    after = (period.last + timedelta(days=1)).isoformat()
    view.minutes = await reader.channel_minutes(channels, [*days, after])
    configs = {f[4:] for d in period.days for f in view.tenant[d].counters if f.startswith("cfg|")}
    view.snapshots = await reader.snapshots(configs)
    view.canaries = await canary_report.read(reader.store, reader.prefix, tenant, period.days)
    return view


# ---------------------------------------------------------------- small helpers


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(ms: float) -> float:
    return round(ms / 1000, 3)


def fields_with(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    """Counter fields under `prefix|`, by the rest of their name."""
    start = len(prefix) + 1
    return {k[start:]: v for k, v in counters.items() if k.startswith(prefix + "|")}


def tenant_channels(days: Mapping[str, TenantDay], wanted: Iterable[str]) -> set[str]:
    """Channels that carried the tenant's events or dead letters on these days."""
    channels: set[str] = set()
    for day in wanted:
        counters = days[day].counters if day in days else {}
        channels.update(unquote(c) for c in fields_with(counters, "ev"))
        channels.update(unquote(c) for c in fields_with(counters, DROPPED))
        channels.update(unquote(k.split("|")[0]) for k in fields_with(counters, "dl"))
    return channels


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def bucket_quantile(histogram: Mapping[str, int], q: float, max_s: float) -> float | None:
    """An upper bound (seconds) of the q-th percentile lag: the bound of the histogram bucket
    holding it, or the largest lag seen when that is lower; None without events."""
    total = sum(histogram.values())
    if total == 0:
        return None
    need = math.ceil(q / 100 * total)
    seen = 0
    for bound in LAG_BUCKETS_S:
        seen += histogram.get(str(bound), 0)
        if seen >= need:
            return min(float(bound), max_s)
    return max_s


# ---------------------------------------------------------------- coverage


def coverage(view: LedgerView, period: Period, generated_ms: int) -> dict[str, Any]:
    days = period.days
    per_day = {
        d: {unquote(c): n for c, n in fields_with(view.tenant[d].counters, "ev").items()}
        for d in days
    }
    channels = sorted(tenant_channels(view.tenant, days))
    dead = dead_letters(view.tenant, days)
    return {
        "channels": [channel_row(c, per_day, dead) for c in channels],
        "events_total": sum(sum(row.values()) for row in per_day.values()),
        "events_per_day": [{"day": d, "channels": dict(sorted(per_day[d].items()))} for d in days],
        "dead_letters": {
            "total": sum(n for row in dead.values() for n in row.values()),
            "by_channel_and_reason": {c: dict(sorted(r.items())) for c, r in sorted(dead.items())},
        },
        "silences": silences(view, period, generated_ms),
        "lag": lag(view.tenant, days),
        "late_arrivals": late_arrivals(view.tenant, days),
    }


def channel_row(
    channel: str, per_day: Mapping[str, Mapping[str, int]], dead: Mapping[str, Mapping[str, int]]
) -> dict[str, Any]:
    return {
        "channel": channel,
        "events": sum(row.get(channel, 0) for row in per_day.values()),
        "days_with_events": sum(1 for row in per_day.values() if row.get(channel)),
        "dead_letters": sum(dead.get(channel, {}).values()),
    }


def late_arrivals(days: Mapping[str, TenantDay], wanted: Iterable[str]) -> dict[str, Any]:
    """Per channel, the tenant's events judged in a late lane (older than their actor's
    horizon, docs/operations.md "Event time") and those too late even for it, dropped
    unjudged; only channels with either."""
    judged: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for day in wanted:
        counters = days[day].counters
        judged.update({unquote(c): n for c, n in fields_with(counters, LATE).items()})
        dropped.update({unquote(c): n for c, n in fields_with(counters, DROPPED).items()})
    rows = [
        {"channel": c, "judged_late": judged[c], "dropped": dropped[c]}
        for c in sorted(set(judged) | set(dropped))
    ]
    return {
        "judged_late": sum(judged.values()),
        "dropped": sum(dropped.values()),
        "by_channel": rows,
    }


def dead_letters(days: Mapping[str, TenantDay], wanted: Iterable[str]) -> dict[str, Counter[str]]:
    """Dead letters by channel and reason over these days."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for day in wanted:
        for name, n in fields_with(days[day].counters, "dl").items():
            channel, _, reason = name.partition("|")
            out[unquote(channel)][reason] += n
    return dict(out)


def lag(days: Mapping[str, TenantDay], wanted: Sequence[str]) -> dict[str, Any]:
    """Processing lag (event time to decision) of the tenant's events, per day and overall."""
    rows = []
    total: Counter[str] = Counter()
    n_all = sum_all = max_all = 0
    for day in wanted:
        c = days[day].counters
        n, histogram = c.get("lag|n", 0), fields_with(fields_with(c, "lag"), "le")
        total.update(histogram)
        n_all, sum_all = n_all + n, sum_all + c.get("lag|sum_ms", 0)
        max_all = max(max_all, c.get("lag|max_ms", 0))
        rows.append(lag_row(day, n, c.get("lag|sum_ms", 0), c.get("lag|max_ms", 0), histogram))
    return {"per_day": rows, "period": lag_row(None, n_all, sum_all, max_all, total)}


def lag_row(
    day: str | None, n: int, sum_ms: int, max_ms: int, histogram: Mapping[str, int]
) -> dict[str, Any]:
    row: dict[str, Any] = {} if day is None else {"day": day}
    row.update(
        events=n,
        avg_s=seconds(sum_ms / n) if n else None,
        max_s=seconds(max_ms) if n else None,
        p50_at_most_s=bucket_quantile(histogram, 50, seconds(max_ms)),
        p95_at_most_s=bucket_quantile(histogram, 95, seconds(max_ms)),
    )
    return row


def silences(view: LedgerView, period: Period, generated_ms: int) -> list[dict[str, Any]]:
    """channel_silence pages on the channels this tenant used (in the period or the week
    before it) that overlap the period, with when the channel carried events again."""
    days = period.lookback + period.days
    channels = tenant_channels(view.tenant, days)
    horizon = min(period.end_ms, generated_ms)
    out = []
    for alert in alert_rows(view.monitor, days):
        if alert["detector"] != CHANNEL_SILENCE or not alert["channels"]:
            continue
        channel = alert["channels"][0]
        if channel not in channels:
            continue
        last = alert["window_start_ms"]
        resumed = resumed_ms(view.minutes, channel, last, horizon)
        end = resumed if resumed is not None else horizon
        if end <= period.start_ms or last >= period.end_ms:
            continue
        out.append(
            {
                "channel": channel,
                "last_event_at": iso(last),
                "paged_at": iso(alert["paged_ms"]),
                "resumed_by": iso(resumed),
                "ongoing": resumed is None,
                "silent_minutes": round((end - last) / MINUTE_MS, 1),
                "threshold_minutes": alert["threshold"],
                "alert_uid": alert["uid"],
            }
        )
    return sorted(out, key=lambda s: (s["last_event_at"], s["channel"]))


def resumed_ms(
    minutes: Mapping[tuple[str, str], Sequence[int]], channel: str, last_ms: int, horizon_ms: int
) -> int | None:
    """The end of the first minute after `last_ms`'s minute in which the channel carried
    events (an upper bound of when the silence ended); None if none before `horizon_ms`.
    `minutes`: per (channel, day) the sorted minutes of the day with events."""
    minute = last_ms // MINUTE_MS + 1
    while minute * MINUTE_MS < horizon_ms:
        day_ms = minute * MINUTE_MS // DAY_MS * DAY_MS
        busy = minutes.get((channel, day_of(day_ms)), ())
        at = bisect.bisect_left(busy, minute - day_ms // MINUTE_MS)
        if at < len(busy):
            return day_ms + (busy[at] + 1) * MINUTE_MS
        minute = (day_ms + DAY_MS) // MINUTE_MS
    return None


# ---------------------------------------------------------------- detections


def alert_rows(days: Mapping[str, TenantDay], wanted: Iterable[str]) -> list[dict[str, Any]]:
    """Alert summaries with their growing values (count, last seen, severity)."""
    out = []
    for day in wanted:
        stored = days[day].alerts
        for uid, value in stored.items():
            if "|" in uid:
                continue
            row = orjson.loads(value)
            row["count"] = int(stored.get(f"{uid}|count", 1))
            row["last_ms"] = int(stored.get(f"{uid}|last_ms", row["first_seen_ms"]))
            row["max_severity"] = int(stored.get(f"{uid}|severity", row["severity"]))
            out.append(row)
    return sorted(out, key=lambda r: (r["first_seen_ms"], r["uid"]))


def detections(view: LedgerView, period: Period) -> dict[str, Any]:
    days = period.days
    rows = alert_rows(view.tenant, days)
    pages = {d: fields_with(view.tenant[d].counters, "pg") for d in days}
    by_detector: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    for day_pages in pages.values():
        for name, n in day_pages.items():
            detector, _, severity = name.partition("|")
            by_detector[detector] += n
            by_severity[severity] += n
    delays = [max(0, r["paged_ms"] - r["crossed_ms"]) for r in rows]
    total = sum(by_detector.values())
    return {
        "alerts_total": total,
        "alerts_listed": len(rows),
        "alerts_not_listed": max(0, total - len(rows)),
        "by_detector": dict(sorted(by_detector.items())),
        "by_severity": dict(sorted(by_severity.items())),
        "per_day": [{"day": d, "alerts": {k: pages[d][k] for k in sorted(pages[d])}} for d in days],
        "time_to_page_s": {
            "alerts": len(delays),
            "p50": none_or(seconds, percentile(delays, 50)),
            "p95": none_or(seconds, percentile(delays, 95)),
            "max": none_or(seconds, max(delays) if delays else None),
        },
        "repeats_folded": sum(r["count"] - 1 for r in rows),
        "alerts": [alert_entry(r) for r in rows],
        "top_actors": top_actors(rows),
    }


def none_or(convert: Callable[[float], float], value: float | None) -> float | None:
    return None if value is None else convert(value)


def alert_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "uid": row["uid"],
        "detector": row["detector"],
        "severity": row["severity"],
        "max_severity": row["max_severity"],
        "actor": row["actor"],
        "channels": row["channels"],
        "first_seen": iso(row["first_seen_ms"]),
        "last_seen": iso(row["last_ms"]),
        "paged_at": iso(row["paged_ms"]),
        "time_to_page_s": seconds(max(0, row["paged_ms"] - row["crossed_ms"])),
        "repeats": row["count"] - 1,
        "observed": row["observed"],
        "threshold": row["threshold"],
    }


def top_actors(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Actors (pseudonyms) with the most alerts, and which detectors raised them."""
    alerts: Counter[str] = Counter()
    detectors: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["actor"]:
            alerts[row["actor"]] += 1
            detectors[row["actor"]].add(row["detector"])
    ranked = sorted(alerts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_ACTORS]
    return [{"actor": a, "alerts": n, "detectors": sorted(detectors[a])} for a, n in ranked]


# ---------------------------------------------------------------- controls


def controls(
    view: LedgerView,
    period: Period,
    tenant: str,
    pseudonymize: Callable[[str], str],
    current: Mapping[str, Any],
    current_hash: str,
) -> dict[str, Any]:
    """The detector configurations that judged the tenant's events in the period (from the
    ledger), or the current one, marked so, when the period had no events."""
    used: dict[str, dict[str, Any]] = {}
    for day in period.days:
        for config, n in fields_with(view.tenant[day].counters, "cfg").items():
            entry = used.setdefault(config, {"hash": config, "events": 0, "first_day": day})
            entry["events"] += n
            entry["last_day"] = day
    versions = []
    for config, entry in used.items():
        snap = view.snapshots.get(config)
        entry["source"] = "ledger" if snap is not None else "expired"
        entry["controls"] = controls_for(snap, tenant, pseudonymize) if snap else None
        versions.append(entry)
    if not versions:
        versions.append(
            {
                "hash": current_hash,
                "events": 0,
                "first_day": None,
                "last_day": None,
                "source": "current configuration (no events in the period)",
                "controls": controls_for(current, tenant, pseudonymize),
            }
        )
    return {"config_versions": sorted(versions, key=lambda v: (v["first_day"] or "", v["hash"]))}


# ---------------------------------------------------------------- the whole report


def build_report(
    tenant: str,
    period: Period,
    view: LedgerView,
    generated_ms: int,
    pseudonymize: Callable[[str], str],
    current: Mapping[str, Any],
    current_hash: str,
    retention_days: int,
) -> dict[str, Any]:
    """The assurance report as JSON data (the HTML shows exactly these numbers)."""
    return {
        "report": "blindar assurance report",
        "version": REPORT_VERSION,
        "tenant": tenant,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "days": len(period.days),
        "timezone": "UTC",
        "generated_at": iso(generated_ms),
        "ledger_retention_days": retention_days,
        "coverage": coverage(view, period, generated_ms),
        "detections": detections(view, period),
        "controls": controls(view, period, tenant, pseudonymize, current, current_hash),
        "canaries": canary_report.section(view.canaries) if view.canaries else None,
    }
