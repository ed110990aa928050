"""One alert decision: write.lua's decide() on a real Redis and the store's twin
(monitor/service/state/memory_store.py) give the same statuses, pages and repeats, and leave the
same alert records, field by field, for any sequence of findings and confirmations.

Property-based: findings of two alert fields with windows early and late (older incidents
read later), growing and shrinking values and severities, episode claims, the clock
moving past the suppression window and the alert record's lifetime, and pages confirmed
or left pending (a newer incident then sets the older page aside)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from detectors.state.shared.plan import Plan
from monitor.service.settings import Settings
from monitor.service.state import MemoryStore
from monitor.service.state.requests import NO_STATE, Decision, OwnerWrite, WriteRequest
from tests.detectors.helpers import MIN, T0
from tests.harness import open_store, redis_client
from tests.integration.reference import memory_owners, owner_fields

pytestmark = [pytest.mark.services, pytest.mark.store]
SUPPRESSION, ALERT_TTL = 10 * MIN, 45 * MIN
FIELDS = ("!bulk_export:acme", "!channel_silence:acme")
OWNERS = itertools.count()

FINDING = st.fixed_dictionaries(
    {
        "field": st.sampled_from(FIELDS),
        "end": st.sampled_from([-20, -10, 0, 5, 10, 15, 20, 30]),  # minutes from T0
        "length": st.sampled_from([0, 5, 10, 20]),  # on and past the suppression window
        "observed": st.sampled_from([1, 2, 3, 4, 2.5, 5]),  # doublings and not quite
        "severity": st.integers(1, 3),
        "claim": st.sampled_from(["", "~claim"]),
        "episode": st.sampled_from(["e1", "e2"]),
    }
)
STEP = st.tuples(
    st.lists(FINDING, min_size=0, max_size=3),
    st.sampled_from([0, 1, 10, 45]),  # minutes the clock moves on (45: the record expires)
    st.booleans(),  # confirm the pages this call reports
)


def decision(n: int, f: dict[str, Any]) -> Decision:
    end = T0 + f["end"] * MIN
    return Decision(
        field=f["field"],
        uid=f"u-{n}",
        window_end_ms=end,
        observed=f["observed"],
        severity=f["severity"],
        payload=b'{"n": %d}' % n,
        claim=f["claim"],
        episode=f["episode"],
        tenant="acme",
        window_start_ms=end - f["length"] * MIN,
    )


def view(reply: Any) -> tuple[Any, ...]:
    return reply.statuses, reply.pending, reply.repeats


async def run(redis_store: Any, client: Any, settings: Settings, steps: list[Any]) -> None:
    """The steps on a fresh owner of both stores, compared after each call."""
    twin = MemoryStore()
    key = f"{settings.redis_prefix}{{c:decide-{next(OWNERS)}}}"
    now, n = T0 + 2 * 3600_000, 0
    for findings, minutes, confirm in steps:
        now += minutes * MIN
        decisions = []
        for f in findings:
            decisions.append(decision(n, f))
            n += 1
        replies = []
        for store in (redis_store, twin):
            owner = OwnerWrite(key, NO_STATE, decisions=list(decisions))
            replies.append(
                await store.write(WriteRequest([owner], Plan(), now, SUPPRESSION, ALERT_TTL))
            )
        on_redis, in_memory = replies
        assert view(on_redis) == view(in_memory)
        if confirm:
            await redis_store.confirm(on_redis.pending)
            await twin.confirm(in_memory.pending)
        assert {key: owner_fields(client.hgetall(key))} == memory_owners(twin, [key])


def test_decide_on_redis_and_in_the_twin_agree(settings: Settings) -> None:
    loop = asyncio.new_event_loop()
    redis_store = loop.run_until_complete(open_store(settings))
    client = redis_client(settings)

    @hypothesis_settings(max_examples=80, deadline=None)
    @given(steps=st.lists(STEP, min_size=1, max_size=8))
    def check(steps: list[Any]) -> None:
        loop.run_until_complete(run(redis_store, client, settings, steps))

    try:
        check()
    finally:
        loop.run_until_complete(redis_store.aclose())
        loop.close()
        client.close()
