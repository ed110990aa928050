"""No character of event data can make two identities share state or break decoding.

Property-based: arbitrary unicode (control characters, braces, colons, percent signs,
surrogates' neighbours, the separators of older layouts) in tenant, actor, team, channel,
device, country, domain and ids.
- keys: two different owner identities never give the same key, and a key's hash tag
  always spans the whole owner (all of an owner's keys share one Redis Cluster slot);
- state: events with such values go through the detection stage on a real Redis and on
  the store's twin with the same findings, and every actor's state read back from Redis
  (snapshot and batch log) equals the state kept in memory.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from detectors.event import Event
from detectors.state.actor import ActorState
from detectors.state.keys import actor_tag, address_tag, alert_field, channel_tag, team_tag
from detectors.state.shared.plan import Plan
from monitor.service.config import load_detectors
from monitor.service.detection import BatchContext, Detection
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from monitor.service.state import MemoryStore
from tests.detectors.helpers import MIN, T0
from tests.harness import isolated_settings, open_store
from tests.integration.simulated import detection_on

NASTY = st.lists(
    st.sampled_from(
        ["a", "B", "7", "-", ":", "{", "}", "%", "\x1f", "\x00", "\n", "é", "日", "\u202e",
         "\U0001f600", " ", "~", "@", "%3A", "|"]
    ),
    min_size=1,
    max_size=8,
).map("".join)  # fmt: skip
ANY = st.text(min_size=1, max_size=12)
TEXT = st.one_of(NASTY, ANY)


def slot_tag(key: str) -> str:
    """What Redis Cluster hashes: the part between the first { and the next }."""
    start = key.index("{")
    return key[start + 1 : key.index("}", start + 1)]


@given(st.tuples(TEXT, TEXT), st.tuples(TEXT, TEXT))
def test_owner_keys_never_collide_and_tags_span_the_owner(a: tuple, b: tuple) -> None:
    single = [actor_tag, channel_tag]  # owners named by one part
    double = [team_tag, address_tag, alert_field]  # owners named by (tenant, part)
    for make in single:
        assert (make(a[1]) == make(b[1])) == (a[1] == b[1])
        key = make(a[1])
        assert slot_tag(f"p.{key}:suffix") == key[1:-1]  # the whole owner is the tag
    for make in double:
        assert (make(*a) == make(*b)) == (a == b)
    for make in (team_tag, address_tag):
        key = make(*a)
        assert slot_tag(f"p.{key}:suffix") == key[1:-1]


def event(n: int, actor: str, tenant: str, team: str, channel: str, value: str) -> Event:
    return Event(
        event_id=f"{value}-{n}",
        ts_ms=T0 + n * MIN,
        tenant=tenant,
        channel=channel,
        actor_id=actor,
        action=["record.view", "record.export", "auth.login", "message.send"][n % 4],
        actor_team=team,
        actor_tenants=(tenant, value),
        resource_id=f"r{value}{n % 3}",
        resource_tenant=value if n % 5 == 0 else tenant,
        customer_id=value,
        records=50,
        source_ip=value,
        device_id=value,
        country=value,
        lat=4.7,
        lon=-74.0,
        destination_kind="email",
        destination_domain=value,
        destination_external=True,
        outcome="failure" if n % 2 else "success",
        classification="pii",
    )


# one actor, two sources: ids differ, times are the same, a batch arrives by source (not
# in event-time order), and the log applies it again in event-time order
SAME_ACTOR = [("a", "t", "team", "c", "aBa\n"), ("a", "t", "team", "c", "{Ba\n")]


@pytest.mark.services
@pytest.mark.store
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, TEXT, TEXT), min_size=1, max_size=4))
@example(identities=SAME_ACTOR)
def test_any_unicode_in_event_data_round_trips_through_redis(
    services: Settings, identities: list[tuple[str, str, str, str, str]]
) -> None:
    config = load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml")
    namespace = isolated_settings(redis_url=services.redis_url)
    batches = [
        [event(n, *identity) for identity in identities for n in range(k * 6, k * 6 + 6)]
        for k in range(3)
    ]

    async def run() -> tuple[list, list, dict, dict]:
        store = await open_store(namespace)
        on_redis = detection_on(store, namespace.redis_prefix, config.build(namespace.redis_prefix))
        in_memory = detection_on(MemoryStore(), namespace.redis_prefix,
                                 config.build(namespace.redis_prefix))  # fmt: skip
        got_redis, got_memory = [], []
        for batch in batches:
            now = max(e.ts_ms for e in batch)
            got_redis.append((await on_redis.run(batch, now)).findings)
            got_memory.append((await in_memory.run(batch, now)).findings)
        kept = {a: c.state for (a, late), c in on_redis.actors.items() if not late}
        read_back = await read_states(on_redis, list(kept))
        await store.aclose()
        return got_redis, got_memory, kept, read_back

    got_redis, got_memory, kept, read_back = asyncio.run(run())
    assert got_redis == got_memory
    assert set(read_back) == {identity[0] for identity in identities}
    for actor, state in kept.items():
        assert dump(read_back[actor]) == dump(state)


async def read_states(detection: Detection, actors: list[str]) -> dict[str, ActorState]:
    keys = [detection.key((a, False)) for a in actors]
    stored = await detection.store.load(keys)
    ctx = BatchContext(Plan(), detection.shared, 0, live=False)
    return {
        a: detection.restore((a, False), k, fields, ctx).state
        for a, k, fields in zip(actors, keys, stored, strict=True)
    }


def dump(state: ActorState) -> bytes:
    return orjson.dumps(state.dump(), option=orjson.OPT_SORT_KEYS)
