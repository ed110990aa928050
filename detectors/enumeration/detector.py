"""enumeration: one actor touches many distinct customer records within an hour.

Scraping the CRM record by record (with no export to notice) is how agents copy
customer lists by hand or with a script. Counts distinct `resource.id` per actor
in a sliding event-time window (exact, up to `max_tracked` records).

Tuning. Normal agents touch a few dozen distinct records an hour: the default leaves a
wide margin. Teams whose job is to walk through accounts (collections, quality audit,
fraud review) reach hundreds legitimately: give their tenant a higher
`threshold_distinct` or put the team on the tenant's allowlist, then replay to check
that the `enumeration` scenario (600-700 records in 20-40 min) is still found. A shorter
`window_minutes` with a lower threshold catches faster scraping sooner; a slower
harvester (a few records a minute all day) is the job of `cumulative_access`, not of
this detector.
"""

from __future__ import annotations

from collections.abc import Sequence

from detectors.base import ActorBatch, ByActions, Context, Finding, judge_by_tenant, window_finding
from detectors.enumeration.config import NAME, EnumerationConfig
from detectors.event import Event
from detectors.state.actor import ActorState, PerTenant
from detectors.state.distinct_window import DistinctWindow

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "static_threshold": "distinct records touched in the window ≥ `threshold_distinct`",
}


class Enumeration(ByActions[EnumerationConfig]):
    """Counts distinct records per actor over the window and fires at the threshold."""

    name = NAME

    def load_slot(self, data: dict) -> PerTenant[DistinctWindow]:
        return PerTenant.loader(DistinctWindow.load)(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        records: PerTenant[DistinctWindow] = actor.slot(NAME, PerTenant)

        def take(event: Event) -> bool:
            cfg = self.tuning.for_tenant(event.tenant)
            if event.action not in cfg.actions or not event.resource_id:
                return False
            seen = records.get_or_new(event.tenant, DistinctWindow)
            seen.add(event.resource_id, event.ts_ms // cfg.bucket_ms, cfg.max_tracked)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            cfg = self.tuning.for_tenant(tenant)
            seen = records[tenant]
            width = cfg.window_ms // cfg.bucket_ms
            # every window holding an event of the batch: from its first bucket to a window
            # past its last (events read out of order join windows that end later), so a
            # batch that spans more than the window (a catch-up) still judges each part
            first, last = group.first_ts // cfg.bucket_ms, group.last_ts // cfg.bucket_ms
            seen.forget_below(min(first, actor.horizon // cfg.bucket_ms) - width)
            if seen.kept() < cfg.threshold_distinct:  # no window can hold more than all kept
                return None
            distinct = seen.max_window(first, last + width - 1, width)
            if distinct < cfg.threshold_distinct:
                return None
            return self.describe(tenant, actor.actor, group, distinct)

        return judge_by_tenant(events, take, judge)

    def describe(self, tenant: str, actor: str, group: ActorBatch, distinct: int) -> Finding:
        cfg = self.tuning.for_tenant(tenant)
        minutes, threshold = cfg.window_minutes, cfg.threshold_distinct
        return window_finding(
            NAME,
            tenant,
            actor,
            group,
            cfg.window_ms,
            distinct,
            threshold,
            title=f"Record enumeration: {distinct} distinct records in {minutes} min "
            f"(threshold {threshold})",
            evidence={
                "distinct_records": distinct,
                "window_minutes": minutes,
                "threshold_distinct": threshold,
                "rule": "static_threshold",
            },
        )
