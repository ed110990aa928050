"""bulk_export: one actor exports, downloads or prints many records in a short window.

The classic contact-center leak: an agent pulls a customer list out of the CRM
before leaving for a competitor. Counts `records` of export-like actions per actor
in a sliding event-time window.

Tuning. In the findings of a replay of normal traffic, look at `max_observed` of the
actors that page: reporting or back-office teams that export by the thousand as their
job belong on a per-tenant `allowlist.teams`, not under a higher global threshold. Raise
`threshold_records` for one tenant whose agents legitimately export more (a bank's
statements team) and replay: the `bulk_export` scenario (2,000-5,000 records in 10 min)
must stay detected. Lengthen `window_minutes` to catch slower exports (a leak spread
over an hour), knowing that normal exports add up over a longer window too.
"""

from __future__ import annotations

from collections.abc import Sequence

from detectors.base import ActorBatch, ByActions, Context, Finding, judge_by_tenant, window_finding
from detectors.bulk_export.config import NAME, BulkExportConfig
from detectors.event import Event
from detectors.state.actor import ActorState, PerTenant
from detectors.state.windowed_sum import WindowedSum

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "static_threshold": (
        "records exported, downloaded or printed in the window ≥ `threshold_records`"
    ),
}


class BulkExport(ByActions[BulkExportConfig]):
    """Sums exported records per actor over the window and fires at the threshold."""

    name = NAME

    def load_slot(self, data: dict) -> PerTenant[WindowedSum]:
        return PerTenant.loader(WindowedSum.load)(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        sums: PerTenant[WindowedSum] = actor.slot(NAME, PerTenant)

        def take(event: Event) -> bool:
            cfg = self.tuning.for_tenant(event.tenant)
            if event.action not in cfg.actions:
                return False
            if event.records > 0:
                bucket = event.ts_ms // cfg.bucket_ms
                sums.get_or_new(event.tenant, WindowedSum).add(bucket, event.records)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            cfg = self.tuning.for_tenant(tenant)
            ends = cfg.window_ends(group.first_ts, group.last_ts, actor.horizon)
            window = sums.get_or_new(tenant, WindowedSum)
            total = window.max_window(ends[0], ends[1], cfg.width, ends[2])
            if total < cfg.threshold_records:
                return None
            return self.describe(tenant, actor.actor, group, total)

        return judge_by_tenant(events, take, judge)

    def describe(self, tenant: str, actor: str, group: ActorBatch, total: int) -> Finding:
        cfg = self.tuning.for_tenant(tenant)
        minutes, threshold = cfg.window_minutes, cfg.threshold_records
        title = f"Bulk export: {total} records in {minutes} min (threshold {threshold})"
        evidence = {"records_exported": total, "window_minutes": minutes,
                    "threshold_records": threshold, "rule": "static_threshold"}  # fmt: skip
        window = cfg.window_ms
        return window_finding(NAME, tenant, actor, group, window, total, threshold, title, evidence)
