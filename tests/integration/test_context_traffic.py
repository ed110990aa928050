"""The context detectors over simulated traffic on a real Redis: they fire on their own
scenarios and stay quiet on a normal day of 500 agents (false alerts per 1,000 agent-days
printed). Events reach the detectors as the worker would see them: per-channel batches
(one topic per channel), so an actor's events on different channels arrive out of order."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace

import pytest

from detectors.base import Finding
from detectors.event import Event
from detectors.scenarios import SCENARIOS
from monitor.service.config import DetectorSettings, load_detectors
from monitor.service.settings import Settings
from simulator.model import TEAM_KINDS
from simulator.periods import inject, merge
from simulator.population import Population
from simulator.traffic import Simulator
from tests.harness import open_store
from tests.integration.simulated import detection_on, to_event

pytestmark = pytest.mark.services

AGENTS = 500
DAY_S = 86_400
START = 1_780_000_000_000
MINE = (
    "orphan_access",
    "new_device",
    "unusual_location",
    "cross_tenant",
    "exfil_sequence",
    "channel_silence",
)
MINUTE = 60_000
MIN_STAFF = 10  # fewer agents on shift serving a channel than this: its quiet hours
CHUNK = 2000  # events per poll (the worker's batch size); split into one batch per channel


def warmup(population: Population, at_ms: int) -> list[Event]:
    """Each agent seen once on each of its usual devices, at its site, before the day."""
    out = []
    for agent in population.agents:
        site = agent.team.site
        for k, (device, ip) in enumerate(zip(agent.devices, agent.ips, strict=True)):
            doc = {
                "event_id": f"warm-{agent.id}-{k}",
                "ts": at_ms + k * 60_000,
                "tenant": agent.tenants[0].name,
                "channel": agent.channel,
                "actor": agent.actor,
                "action": "auth.login",
                "source": {
                    "ip": ip,
                    "device_id": device,
                    "country": site.country,
                    "lat": site.lat,
                    "lon": site.lon,
                },
            }
            out.append(to_event(doc))
    return out


def polls(events: Iterable[Event]) -> Iterator[list[Event]]:
    """The stream in polls of CHUNK events (event-time order)."""
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def per_channel(chunk: list[Event], rotation: int) -> list[list[Event]]:
    """One batch per channel (one topic each), the channels' order rotating per poll: an
    actor's events on one channel are processed before their earlier ones on another."""
    per: dict[str, list[Event]] = {}
    for event in chunk:
        per.setdefault(event.channel, []).append(event)
    names = sorted(per)
    shift = rotation % len(names)
    return [per[name] for name in names[shift:] + names[:shift]]


class Staffed:
    """A registered channel whose quiet hours are when the simulated population has fewer
    than MIN_STAFF agents on shift serving it (as an operator would configure them)."""

    def __init__(self, name: str, staff: Counter[int]) -> None:
        self.name = name
        self.staff = staff

    def is_quiet(self, ts_ms: int) -> bool:
        return self.staff[ts_ms // MINUTE] < MIN_STAFF


def staffed_channels(population: Population, start: int, end: int) -> list[Staffed]:
    """Agents count for a channel from 15 min after their shift starts to 5 min before it ends."""
    staff: dict[str, Counter[int]] = {}
    for agent in population.agents:
        for begin, stop in population.shifts(agent, start, end):
            minutes = range((begin + 15 * MINUTE) // MINUTE, (stop - 5 * MINUTE) // MINUTE)
            for channel in TEAM_KINDS[agent.team.kind][0]:
                staff.setdefault(channel, Counter()).update(minutes)
    return [Staffed(name, count) for name, count in sorted(staff.items())]


def my_detectors(settings: Settings) -> DetectorSettings:
    loaded = load_detectors(settings.config_dir / "detectors.yaml")
    return replace(loaded, configs={k: v for k, v in loaded.configs.items() if k in MINE})


async def detect(
    settings: Settings, warm: list[Event], stream: Iterable[Event], channels: list[Staffed]
) -> list[Finding]:
    """Warm-up events, then the stream poll by poll. channel_silence judges each poll in
    event-time order (as replay does); the others get per-channel batches."""
    store = await open_store(settings)
    detectors = my_detectors(settings).build(settings.redis_prefix)
    silence = [d for d in detectors if d.name == "channel_silence"]
    for d in silence:
        d.watch(channels)  # type: ignore[attr-defined]
    others = detection_on(
        store, settings.redis_prefix, [d for d in detectors if d.name != "channel_silence"]
    )
    judge_silence = detection_on(store, settings.redis_prefix, silence)
    findings: list[Finding] = []
    for batch in per_channel(warm, 0):
        findings += (await others.run(batch, max(e.ts_ms for e in batch))).findings
    for n, chunk in enumerate(polls(stream)):
        for batch in per_channel(chunk, n):
            findings += (await others.run(batch, max(e.ts_ms for e in batch))).findings
        if chunk:
            findings += (await judge_silence.run(chunk, max(e.ts_ms for e in chunk))).findings
    await store.aclose()
    return findings


def simulated(population: Population, seed: int, start: int, seconds: float) -> Iterator[Event]:
    return (to_event(doc) for doc in Simulator(population, seed).events(start, seconds))


def test_a_normal_day_of_500_agents_raises_no_false_alert(settings: Settings) -> None:
    population = Population(21, agents=AGENTS, tenants=4)
    began = time.monotonic()
    day = simulated(population, 21, START, DAY_S)
    channels = staffed_channels(population, START, START + DAY_S * 1000)
    warm = warmup(population, START - 8 * DAY_S * 1000)
    findings = asyncio.run(detect(settings, warm, day, channels))
    per_detector = Counter(f.detector for f in findings)
    for name in MINE:
        rate = per_detector[name] / AGENTS * 1000
        print(f"{name}: {per_detector[name]} findings, {rate:.2f} per 1,000 agent-days")
    print(f"one day of {AGENTS} agents in {time.monotonic() - began:.1f}s")
    assert per_detector == Counter(), [f.title for f in findings[:10]]


@pytest.mark.parametrize(
    "scenario",
    ["orphan_access", "cross_tenant", "exfil_sequence", "new_device", "unusual_location"],
)
def test_each_detector_fires_on_its_scenario(settings: Settings, scenario: str) -> None:
    population = Population(22, agents=AGENTS, tenants=4)
    seconds = 3 * 3600
    start = START + 9 * 3600 * 1000
    injected, [label] = inject(population, [scenario], 22, start, seconds, registry=SCENARIOS)
    normal = Simulator(population, 22).events(start, seconds)
    stream = (to_event(doc) for doc in merge(normal, injected))
    channels = staffed_channels(population, start, start + seconds * 1000)
    warm = warmup(population, start - 8 * DAY_S * 1000)
    findings = asyncio.run(detect(settings, warm, stream, channels))
    hits = [f for f in findings if f.detector == scenario]
    assert hits and {f.actor for f in hits} == {label["actor"]}, [f.title for f in findings]
    others = Counter(f.detector for f in findings if f.actor != label["actor"])
    assert others == Counter()
    if scenario in ("unusual_location", "new_device"):  # both move the actor far away fast
        travel = [f for f in findings if f.evidence.get("rule") == "impossible_travel"]
        assert travel and travel[0].evidence["speed_kmh"] > 900
    print(scenario, hits[0].title, f"severity {max(f.severity for f in hits)}")
