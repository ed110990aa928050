"""Reads the assurance ledger for a report, through the state store (a single Redis or a
Redis Cluster alike): the shared family's read queries, a few store calls per report.
What the keys hold: monitor/service/ledger.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import orjson

from detectors.state.shared import ledger as family
from detectors.state.shared.plan import Plan
from monitor.service.ledger import channel_key, config_key, tenant_key
from monitor.service.state.requests import WriteReply, WriteRequest

TenantDay = family.Day  # a tenant's counters and alert rows of one day, as stored
DAYS_PER_CALL = 7


class Store(Protocol):
    async def write(self, request: WriteRequest) -> WriteReply: ...


class LedgerReader:
    """The ledger of one deployment (key prefix) in `store`."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    async def answer(self, plan: Plan) -> None:
        """Run the plan's read queries (no owner, no update) and fill their replies."""
        if plan:
            reply = await self.store.write(WriteRequest([], plan, 0, 0, 0))
            plan.fill(reply.answers)

    async def tenant_days(self, tenant: str | None, days: Sequence[str]) -> dict[str, TenantDay]:
        """Counters and alert rows of `tenant` (None: dead letters naming no tenant), a week
        per store call (a script runs alone in Redis: keep each one short)."""
        replies: dict[str, TenantDay] = {}
        for start in range(0, len(days), DAYS_PER_CALL):
            plan = Plan()
            for day in days[start : start + DAYS_PER_CALL]:
                replies[day] = family.read_day(
                    plan,
                    tenant_key(self.prefix, tenant, day, "n"),
                    tenant_key(self.prefix, tenant, day, "a"),
                )
            await self.answer(plan)
        return replies

    async def channel_minutes(
        self, channels: Iterable[str], days: Sequence[str]
    ) -> dict[tuple[str, str], list[int]]:
        """The minutes (of the day, sorted) in which these channels carried events."""
        plan = Plan()
        replies = {
            (channel, day): family.read_minutes(plan, channel_key(self.prefix, channel, day))
            for channel in sorted(channels)
            for day in days
        }
        await self.answer(plan)
        return {pair: reply.minutes for pair, reply in replies.items()}

    async def snapshots(self, configs: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The detector configuration snapshots still kept, by hash."""
        plan = Plan()
        replies = {
            config: family.read_snapshot(plan, config_key(self.prefix, config))
            for config in sorted(set(configs))
        }
        await self.answer(plan)
        return {c: orjson.loads(r.value) for c, r in replies.items() if r.value is not None}
