"""The context detectors' state families (B*) on a real Redis give the same answers as the
in-process reference, with late events, re-deliveries and several actors; keys expire."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest
import redis

from detectors.channel_silence import ChannelSilence, ChannelSilenceConfig
from detectors.cross_tenant import CrossTenant, CrossTenantConfig
from detectors.event import Event
from detectors.exfil_sequence import ExfilSequence, ExfilSequenceConfig
from detectors.new_device import NewDevice, NewDeviceConfig
from detectors.orphan_access import OrphanAccess, OrphanAccessConfig
from detectors.state import MemoryState, Plan
from detectors.tuning import Tuning
from detectors.unusual_location import UnusualLocation, UnusualLocationConfig
from monitor.health import Health
from monitor.settings import Settings
from monitor.state import RedisState, connect
from tests.detectors.helpers import MIN, T0
from tests.integration.reference import redelivered_batches, run_both

pytestmark = pytest.mark.services

PLACES = [
    ("CO", 4.711, -74.072),
    ("PH", 14.599, 120.984),
    ("ES", 40.417, -3.704),
    (None, None, None),
]
ACTIONS = [
    "interaction.start",
    "interaction.end",
    "record.view",
    "record.view",
    "pii.unmask",
    "clipboard.copy",
    "message.send",
    "file.download",
]


def random_event(rng: random.Random, n: int, ts: int) -> Event:
    country, lat, lon = rng.choice(PLACES)
    action = rng.choice(ACTIONS)
    own = rng.choice(["acme", "globex"])
    return Event(
        event_id=f"e-{n}",
        ts_ms=ts,
        tenant=own,
        channel=rng.choice(["voice", "chat", "backoffice"]),
        actor_id=f"a-{n % 6}",
        action=action,
        actor_team="t-1",
        actor_tenants=rng.choice([(own,), (), ("acme", "globex")]),
        resource_id=f"r-{rng.randrange(50)}",
        resource_tenant=rng.choice([own, own, "initech"]),
        classification=rng.choice(["pii", "pci", "internal"]),
        customer_id=f"c-{rng.randrange(8)}",
        source_ip=f"10.0.0.{rng.randrange(6)}",
        device_id=f"dev-{rng.randrange(5)}",
        country=country,
        lat=lat,
        lon=lon,
        destination_kind=rng.choice([None, "usb", "email", "cloud"]),
        destination_domain=rng.choice([None, "gmail.com"]),
        destination_external=rng.choice([None, True, False]),
    )


def random_batches(seed: int, batches: int = 25) -> list[list[Event]]:
    """Batches with events up to 6 min late and ~20 % re-deliveries of earlier events."""
    return redelivered_batches(seed, batches, 60, 3 * MIN, random_event)


def detectors(prefix: str) -> list:
    clock = iter(range(T0, T0 + 10**9, MIN))
    return [
        OrphanAccess(Tuning(OrphanAccessConfig(threshold_views=2)), prefix),
        NewDevice(Tuning(NewDeviceConfig(warmup_hours=1, max_per_actor=4)), prefix),
        UnusualLocation(Tuning(UnusualLocationConfig(warmup_hours=1, max_per_actor=2)), prefix),
        CrossTenant(Tuning(CrossTenantConfig()), prefix),
        ExfilSequence(Tuning(ExfilSequenceConfig()), prefix),
        ChannelSilence(
            Tuning(ChannelSilenceConfig(silence_minutes=4.0)), prefix, lambda: next(clock)
        ),
    ]


def run(settings: Settings, batches: list[list[Event]]) -> tuple[list, list]:
    """Both stores' answers; half way, a live channel_silence tick joins the plan."""
    dets = detectors(settings.redis_prefix)
    silence = dets[-1]

    def tick_half_way(n: int, plan: Plan) -> None:
        if n == len(batches) // 2:
            channels = [Named(c) for c in ("voice", "chat", "sms")]
            silence.tick(T0 + n * 3 * MIN, channels, plan)

    answers = asyncio.run(run_both(settings, dets, batches, tick_half_way))
    return answers.redis, answers.memory


class Named:
    """A stand-in for monitor.channels.Channel: only the name."""

    def __init__(self, name: str) -> None:
        self.name = name


def test_context_state_matches_the_reference(settings: Settings) -> None:
    got_redis, got_memory = run(settings, random_batches(11))
    assert len(got_redis) == 25
    for r, m in zip(got_redis, got_memory, strict=True):
        assert r == m
    flat = str(got_redis)
    assert "e-" in flat  # orphan and sequence answers carried event ids


def test_findings_from_redis_and_memory_agree(settings: Settings) -> None:
    async def findings(use_redis: bool) -> list:
        client = connect(settings.redis_url)
        prefix = settings.redis_prefix + ("f:" if use_redis else "m:")
        store = RedisState(client, Health()) if use_redis else MemoryState()
        dets = detectors(prefix)
        out = []
        for batch in random_batches(13):
            plan = Plan()
            pending = [d.plan(batch, plan) for d in dets]
            results = await store.apply(plan)
            out += [replace(f, evidence={}) for p in pending for f in p.findings(results)]
        await client.aclose()
        return out

    from_redis = asyncio.run(findings(True))
    from_memory = asyncio.run(findings(False))
    assert from_redis == from_memory
    assert {f.detector for f in from_redis} >= {
        "orphan_access",
        "cross_tenant",
        "exfil_sequence",
        "new_device",
        "unusual_location",
    }


def test_context_state_keys_expire(settings: Settings) -> None:
    run(settings, random_batches(17, batches=3))
    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter(match=f"{settings.redis_prefix}*"))
    assert len(keys) > 20
    assert all(0 < client.pttl(k) <= 91 * 86_400_000 for k in keys)


def test_two_workers_ticking_on_redis_raise_one_silence_finding(settings: Settings) -> None:
    async def ticks() -> list:
        client = connect(settings.redis_url)
        store = RedisState(client, Health())
        clock = [T0]
        workers = [
            ChannelSilence(Tuning(ChannelSilenceConfig()), settings.redis_prefix, lambda: clock[0])
            for _ in range(2)
        ]
        channels = [Named("voice"), Named("sms")]
        found = []
        for now in (T0, T0 + 11 * MIN, T0 + 12 * MIN):
            clock[0] = now
            for worker in workers:
                if now == T0 + 11 * MIN and worker is workers[0]:
                    plan = Plan()  # voice keeps sending, through the first worker
                    worker.plan([Event("v-1", now, "acme", "voice", "a-1", "auth.login")], plan)
                    await store.apply(plan)
                plan = Plan()
                pending = worker.tick(now, channels, plan)
                found += pending.findings(await store.apply(plan))
        await client.aclose()
        return found

    found = asyncio.run(ticks())
    assert [f.actor for f in found] == ["channel:sms"]


def test_orphan_grace_on_redis_a_late_voice_start_covers_backoffice_views(
    settings: Settings,
) -> None:
    """The views are processed first (backoffice topic), their interaction.start a batch
    later (voice topic): no orphan. The same views without a start are orphans."""

    def event(n: int, action: str, ts: int, channel: str, customer: str) -> Event:
        return Event(
            f"g-{n}",
            ts,
            "acme",
            channel,
            "agent-9",
            action,
            customer_id=customer,
            resource_id=f"rec-{customer}" if action == "record.view" else None,
        )

    async def scenario(with_start: bool) -> list:
        client = connect(settings.redis_url)
        store = RedisState(client, Health())
        prefix = f"{settings.redis_prefix}{'s' if with_start else 'n'}:"
        detector = OrphanAccess(Tuning(OrphanAccessConfig()), prefix)
        views = [event(i, "record.view", T0 + MIN + i, "backoffice", f"c{i}") for i in range(6)]
        starts = [event(10 + i, "interaction.start", T0, "voice", f"c{i}") for i in range(6)]
        later = [event(99, "auth.logout", T0 + 20 * MIN, "backoffice", "c0")]
        found = []
        for batch in (views, starts if with_start else [], later):
            plan = Plan()
            pending = detector.plan(batch, plan)
            found += pending.findings(await store.apply(plan))
        await client.aclose()
        return found

    assert asyncio.run(scenario(with_start=True)) == []
    [finding] = asyncio.run(scenario(with_start=False))
    assert finding.observed == 6 and set(finding.sample_records) <= {f"rec-c{i}" for i in range(6)}


def test_usual_traffic_rule_gives_the_reference_answers(settings: Settings) -> None:
    """Eight days of irregular daytime traffic on two channels (day 1 closes at noon), then
    ticks around the clock: Redis (minute bitmaps, BITCOUNT over spans crossing midnight,
    the week-before veto) answers like the reference."""
    day, hour = 86_400_000, 3_600_000
    d0 = T0 // day * day
    rng = random.Random(3)
    batches = []
    for n in range(8):
        events = []
        for k in range(300):
            ts = d0 + n * day + rng.randrange(7 * hour, (12 if n == 1 else 23) * hour)
            channel = rng.choice(["sms", "chat"])
            events.append(Event(f"u-{n}-{k}", ts, "acme", channel, "a-1", "record.view"))
        batches.append(sorted(events, key=lambda e: e.ts_ms))
    morning = range(d0 + 8 * day + 7 * hour, d0 + 8 * day + 12 * hour + 30 * MIN, 5 * MIN)
    batches.append([Event(f"m-{ts}", ts, "acme", "sms", "a-1", "record.view") for ts in morning])
    channels = [Named("sms"), Named("chat"), Named("ivr")]
    ticks = [d0 + 8 * day + h * hour + 7 * MIN for h in range(0, 24, 2)]
    detector = ChannelSilence(
        Tuning(ChannelSilenceConfig(silence_minutes=30, usual_min_days=2)),
        settings.redis_prefix,
        lambda: d0,
    )

    def tick_after_history(n: int, plan: Plan) -> None:
        if n == 0:  # live from the start, as in the worker
            detector.tick(d0, channels, plan)
        if n >= len(batches):
            detector.tick(ticks[n - len(batches)], channels, plan)

    answers = asyncio.run(
        run_both(settings, [detector], batches + [[]] * len(ticks), tick_after_history)
    )
    assert answers.redis == answers.memory
    paged = [name for a in answers.redis if a and a[-1] for name in a[-1][::4]]
    # chat, silent since last night, pages in the morning; sms, silent after 12:30 on the
    # weekday that closed at noon a week before, never does; ivr never sent anything
    assert sorted(paged) == ["chat", "ivr"], answers.redis
