"""Simulated periods: normal traffic with leak scenarios injected, either a labelled
period of event time or endless live traffic stamped now. The scenarios come from the
caller (the detector folders' scenarios: detectors/scenarios.py)."""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from random import Random
from typing import Any

from simulator.leaks import Scenario
from simulator.model import EVENTS_PER_AGENT_S, Event
from simulator.population import Population
from simulator.resources import by_ts
from simulator.traffic import Simulator

log = logging.getLogger(__name__)


def inject(
    population: Population,
    names: Iterable[str],
    seed: int,
    start_ms: int,
    duration_s: float,
    *,
    registry: Mapping[str, Scenario],
) -> tuple[list[Event], list[dict[str, Any]]]:
    """Run the named scenarios (of `registry`) spread over the window; returns (ts-sorted
    events, labels)."""
    names = list(names)
    rng = Random(f"inject/{seed}")
    events: list[Event] = []
    labels = []
    for n, name in enumerate(names):
        at = start_ms + int(duration_s * 1000 * (n + rng.uniform(0.1, 0.5)) / len(names))
        injected = registry[name](population, rng, at)
        events.extend(injected.events)
        labels.append(injected.label)
    return sorted(events, key=by_ts), labels


def merge(normal: Iterator[Event], injected: list[Event]) -> Iterator[Event]:
    """Normal traffic and injected events in one ts-ordered stream."""
    return heapq.merge(normal, sorted(injected, key=by_ts), key=by_ts)


class Pacer:
    """Holds a loop to `rate` iterations per second of wall clock (None: no pacing)."""

    def __init__(self, rate: float | None, stop: threading.Event | None = None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.stop = stop
        self.count = 0
        self.start = time.monotonic()

    def wait(self) -> None:
        """Sleep until the next iteration is due."""
        if self.rate is None:
            return
        self.count += 1
        delay = self.start + self.count / self.rate - time.monotonic()
        if delay > 0.001:
            if self.stop is not None:
                self.stop.wait(delay)
            else:
                time.sleep(delay)


def agents_for_rate(rate: float) -> int:
    """How many agents produce `rate` events/s at realistic per-agent speed."""
    return max(1, math.ceil(rate / EVENTS_PER_AGENT_S))


def _now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return int(time.time() * 1000)


def _rebase(events: list[Event], start_ms: int, speed: float) -> list[Event]:
    """Compress event offsets from start_ms by `speed` (ts stays sorted)."""
    for event in events:
        event["ts"] = start_ms + int((event["ts"] - start_ms) / speed)
    return events


def live(
    population: Population,
    seed: int,
    rate: float,
    scenarios: list[str],
    scenario_delay_s: float,
    scenario_speed: float = 1.0,
    labels: list[dict[str, Any]] | None = None,
    *,
    registry: Mapping[str, Scenario],
) -> Iterator[Event]:
    """Endless normal traffic stamped now at `rate` events/s; each scenario starts once after
    scenario_delay_s, its events released when due (offsets / scenario_speed), labels appended."""
    start = _now_ms()
    if rate > 1.5 * len(population.agents) * EVENTS_PER_AGENT_S:
        log.warning(
            "live rate %.0f/s is above what %d agents do at realistic speed; per-agent "
            "rates are compressed (use %d agents)",
            rate,
            len(population.agents),
            agents_for_rate(rate),
        )
    sim = Simulator(population, seed)
    normal = sim.always_on(start, f"live{seed}-{start}")
    pending: list[tuple[int, str, Event]] = []
    inject_at = start + int(scenario_delay_s * 1000)
    todo = list(scenarios)
    pacer = Pacer(rate)
    for event in normal:
        pacer.wait()
        now = _now_ms()
        if todo and now >= inject_at:
            _schedule(population, seed, todo, now, scenario_speed, pending, labels, registry)
            todo = []
        while pending and pending[0][0] <= now:
            yield heapq.heappop(pending)[2]
        event["ts"] = now
        yield event


def _schedule(
    population: Population,
    seed: int,
    names: list[str],
    now: int,
    speed: float,
    pending: list[tuple[int, str, Event]],
    labels: list[dict[str, Any]] | None,
    registry: Mapping[str, Scenario],
) -> None:
    """Build the scenarios starting now (1 ms apart, so ids stay unique) and queue their events."""
    rng = Random(f"live/{seed}/{now}")
    for n, name in enumerate(names):
        injected = registry[name](population, rng, now + n)
        for event in _rebase(injected.events, now + n, speed):
            heapq.heappush(pending, (event["ts"], event["event_id"], event))
        injected.label.update(start_ms=injected.events[0]["ts"], end_ms=injected.events[-1]["ts"])
        if labels is not None:
            labels.append(injected.label)
        log.info("scenario %s injected for %s", name, injected.label["actor"])


def period(
    population: Population,
    seed: int,
    start_ms: int,
    duration_s: float,
    scenarios: Iterable[str],
    warmup_s: float = 0.0,
    *,
    registry: Mapping[str, Scenario],
) -> tuple[Iterator[Event], list[dict[str, Any]]]:
    """Normal traffic from start_ms for warmup_s + duration_s, with the scenarios injected
    after the warm-up; returns (lazy ts-ordered events, labels). A scenario that runs past
    the period's end (cumulative_access lasts a week) keeps normal traffic going until its
    last event: a leak never happens in an otherwise silent contact center."""
    injected, labels = inject(
        population, scenarios, seed, start_ms + int(warmup_s * 1000), duration_s, registry=registry
    )
    end_ms = start_ms + int((warmup_s + duration_s) * 1000)
    if injected:
        end_ms = max(end_ms, injected[-1]["ts"] + 1)
    normal = Simulator(population, seed).events(start_ms, (end_ms - start_ms) / 1000)
    return merge(normal, injected), labels
