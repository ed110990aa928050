"""Traffic simulator: contract-shaped events, quiet normal traffic, loud scenarios."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from random import Random
from typing import Any, ClassVar

import orjson
import pytest

from detectors.scenarios import SCENARIO_DETECTORS, SCENARIOS
from monitor.tools.simulate import produce
from simulator.files import write_jsonl, write_labels
from simulator.leaks import Injected
from simulator.periods import inject, live, merge
from simulator.population import Population
from simulator.traffic import Simulator

START = int(datetime(2026, 3, 2, 14, 0, tzinfo=UTC).timestamp() * 1000)  # a Monday
MINUTE = 60_000
HOUR = 60 * MINUTE

ACTIONS = {
    "interaction.start", "interaction.end", "record.view", "record.search", "record.update",
    "record.export", "report.export", "file.download", "print", "pii.unmask", "clipboard.copy",
    "screen.capture", "message.send", "auth.login", "auth.logout",
}  # fmt: skip
CHANNELS = {"voice", "chat", "email", "sms", "social", "ivr", "backoffice"}
EXPORTS = {"record.export", "report.export", "file.download", "print"}
TOUCHES = {"record.view", "record.search", "record.update", "record.export", "pii.unmask"}
SENSITIVE = {"pii", "pci", "phi"}
NEEDS_RESOURCE_ID = {"record.view", "record.update", "pii.unmask"}
MULTI_DAY = {"uncovered_collector", "covered_collector"}  # collectors: from the first shift


@pytest.fixture(scope="module")
def population() -> Population:
    return Population(seed=7)


@pytest.fixture(scope="module")
def normal(population: Population) -> list[dict[str, Any]]:
    return list(Simulator(population, seed=7).events(START, 2 * 3600))


@pytest.fixture(scope="module")
def injected(population: Population) -> dict[str, Injected]:
    return {
        name: run(population, Random(name), START + 30 * MINUTE) for name, run in SCENARIOS.items()
    }


def check_contract(event: dict[str, Any]) -> None:
    """Fail unless the event looks like a contract-v1 event."""
    assert isinstance(event["event_id"], str) and 0 < len(event["event_id"]) <= 128
    assert type(event["ts"]) is int and event["ts"] > 1_600_000_000_000
    assert isinstance(event["tenant"], str) and event["tenant"]
    assert event["channel"] in CHANNELS
    assert event["action"] in ACTIONS
    actor = event["actor"]
    assert isinstance(actor["id"], str) and actor["id"].startswith("agent-")
    assert actor["type"] in {"agent", "supervisor"}
    assert isinstance(actor["team"], str) and isinstance(actor["site"], str)
    assert isinstance(actor["tenants"], list) and all(isinstance(t, str) for t in actor["tenants"])
    resource = event.get("resource", {})
    if event["action"] in NEEDS_RESOURCE_ID:
        assert isinstance(resource["id"], str)
    if resource:
        assert resource["classification"] in {"public", "internal", "pii", "pci", "phi"}
    for key in ("records", "bytes"):
        assert type(event.get(key, 0)) is int and event.get(key, 0) >= 0
    assert event.get("outcome", "success") in {"success", "failure"}
    assert event.get("destination", {}).get("kind", "email") in {
        "email", "usb", "cloud", "printer", "clipboard", "screen", "api",
    }  # fmt: skip
    assert isinstance(event["source"]["ip"], str) and isinstance(event["source"]["device_id"], str)
    assert len(orjson.dumps(event)) < 64 * 1024


def by_actor(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        groups[event["actor"]["id"]].append(event)
    return groups


def max_window_sum(points: list[tuple[int, int]], window: int) -> int:
    """Largest sum of values whose ts fall within any window of that length."""
    best = total = lo = 0
    for ts, value in points:
        total += value
        while points[lo][0] <= ts - window:
            total -= points[lo][1]
            lo += 1
        best = max(best, total)
    return best


def max_window_distinct(points: list[tuple[int, str]], window: int) -> int:
    """Largest number of distinct values within any window of that length."""
    counts: Counter[str] = Counter()
    best = lo = 0
    for ts, value in points:
        counts[value] += 1
        while points[lo][0] <= ts - window:
            counts[points[lo][1]] -= 1
            if not counts[points[lo][1]]:
                del counts[points[lo][1]]
            lo += 1
        best = max(best, len(counts))
    return best


def exported(events: list[dict[str, Any]]) -> int:
    points = [(e["ts"], e.get("records", 1)) for e in events if e["action"] in EXPORTS]
    return max_window_sum(points, 15 * MINUTE)


def distinct_touched(events: list[dict[str, Any]]) -> int:
    points = [
        (e["ts"], e["resource"]["id"])
        for e in events
        if e["action"] in TOUCHES and "id" in e.get("resource", {})
    ]
    return max_window_distinct(points, HOUR)


def counted(events: list[dict[str, Any]], keep: Any, window: int) -> int:
    return max_window_sum([(e["ts"], 1) for e in events if keep(e)], window)


def orphans(events: list[dict[str, Any]]) -> int:
    """Views/unmasks of customers with no interaction started by the same actor."""
    mine = {e["customer_id"] for e in events if e["action"] == "interaction.start"}
    return counted(
        events,
        lambda e: e["action"] in {"record.view", "pii.unmask"} and e["customer_id"] not in mine,
        HOUR,
    )


def foreign(events: list[dict[str, Any]]) -> int:
    return sum(
        1
        for e in events
        if "resource" in e and e["resource"]["tenant"] not in e["actor"]["tenants"]
    )


def exfil_pairs(events: list[dict[str, Any]]) -> int:
    """Sensitive views followed within 10 minutes by an external send, copy or capture."""
    views = [
        e["ts"]
        for e in events
        if e["action"] in {"record.view", "pii.unmask"}
        and e["resource"]["classification"] in SENSITIVE
    ]
    outs = [
        e["ts"]
        for e in events
        if e["action"] in {"clipboard.copy", "screen.capture"}
        or e.get("destination", {}).get("external")
        or e.get("destination", {}).get("kind") in {"usb", "cloud"}
    ]
    return sum(1 for v in views for o in outs if 0 <= o - v <= 10 * MINUTE)


def unmasks(events: list[dict[str, Any]]) -> int:
    return counted(events, lambda e: e["action"] == "pii.unmask", HOUR)


def failures(events: list[dict[str, Any]]) -> int:
    return counted(events, lambda e: e.get("outcome") == "failure", 5 * MINUTE)


def test_normal_events_follow_the_contract(normal: list[dict[str, Any]]) -> None:
    assert len(normal) > 10_000
    for event in normal:
        check_contract(event)
    actions = set(Counter(e["action"] for e in normal))
    assert actions >= EXPORTS | {"auth.login", "auth.logout", "interaction.start", "pii.unmask"}
    assert {e["channel"] for e in normal} == CHANNELS


def test_ids_unique_and_time_ordered(normal: list[dict[str, Any]]) -> None:
    assert len({e["event_id"] for e in normal}) == len(normal)
    stamps = [e["ts"] for e in normal]
    assert stamps == sorted(stamps)
    assert stamps[0] >= START and stamps[-1] < START + 2 * HOUR


def test_population_shape(population: Population) -> None:
    assert len(population.agents) == 300
    assert len({a.id for a in population.agents}) == 300
    assert len({a.tenants[0].name for a in population.agents}) == 4
    assert any(len(a.tenants) == 2 for a in population.agents)
    for agent in population.agents:
        assert agent.team.id.startswith(f"t-{agent.tenants[0].name}-")
        assert 1 <= len(agent.devices) == len(agent.ips) <= 2
    roster = population.roster()
    assert roster[42]["id"] == "agent-0042" and roster[42]["shift_hours"] == 8


def test_normal_traffic_stays_below_thresholds(normal: list[dict[str, Any]]) -> None:
    actors = by_actor(normal)
    assert len(actors) >= 100
    for events in actors.values():
        assert exported(events) < 500
        assert distinct_touched(events) < 300
        assert unmasks(events) < 30
        assert failures(events) < 10
        assert orphans(events) == 0
        assert foreign(events) == 0
        assert exfil_pairs(events) == 0
    worst = max(distinct_touched(events) for events in actors.values())
    assert worst < 150


def test_normal_agents_work_on_shift_from_usual_devices(
    population: Population, normal: list[dict[str, Any]]
) -> None:
    for actor, events in by_actor(normal).items():
        agent = population.by_id[actor]
        assert {e["source"]["device_id"] for e in events} <= set(agent.devices)
        assert all(population.on_shift(agent, e["ts"]) for e in events)


def test_interaction_rate_is_realistic(
    population: Population, normal: list[dict[str, Any]]
) -> None:
    full = {
        a.id
        for a in population.agents
        if population.on_shift(a, START) and population.on_shift(a, START + 2 * HOUR - 1)
    }
    assert len(full) > 30
    starts = Counter(e["actor"]["id"] for e in normal if e["action"] == "interaction.start")
    per_hour = sum(starts[a] for a in full) / len(full) / 2
    assert 8 <= per_hour <= 15
    touches = sum(1 for e in normal if e["action"] in TOUCHES - {"record.export"})
    assert 2 <= touches / sum(starts.values()) <= 6


def test_record_touches_belong_to_the_open_interaction(normal: list[dict[str, Any]]) -> None:
    for events in by_actor(normal).values():
        open_now: dict[str, str] = {}
        for event in events:
            action = event["action"]
            if action == "interaction.start":
                open_now[event["interaction_id"]] = event["customer_id"]
            elif action == "interaction.end":
                open_now.pop(event["interaction_id"], None)
            elif action in {"record.view", "record.search", "record.update", "pii.unmask"}:
                assert open_now[event["interaction_id"]] == event["customer_id"]


CHECKS = {
    "bulk_export": lambda events: exported(events) >= 500,
    "enumeration": lambda events: distinct_touched(events) >= 300,
    "orphan_access": lambda events: orphans(events) >= 5,
    "cross_tenant": lambda events: foreign(events) >= 5,
    "exfil_sequence": lambda events: exfil_pairs(events) >= 1,
    "unmask_rate": lambda events: unmasks(events) >= 30,
    "auth_failures": lambda events: failures(events) >= 10 and events[-1]["outcome"] == "success",
}


def test_all_catalogued_scenarios_exist() -> None:
    assert set(CHECKS) | {"new_device", "off_hours"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_is_one_labelled_agent(
    name: str, injected: dict[str, Injected], population: Population
) -> None:
    events, label = injected[name]
    for event in events:
        check_contract(event)
    assert {e["actor"]["id"] for e in events} == {label["actor"]}
    assert label["scenario"] == name and label["detector"] == SCENARIO_DETECTORS[name]
    assert label["tenant"] in {e["tenant"] for e in events}
    assert label["end_ms"] == events[-1]["ts"] and label["events"] == len(events)
    assert len({e["event_id"] for e in events}) == len(events)
    agent = population.by_id[label["actor"]]
    if name in MULTI_DAY:  # from the agent's first shift on, for days
        assert START + 30 * MINUTE <= label["start_ms"] == events[0]["ts"]
        assert all(population.on_shift(agent, e["ts"]) for e in events)
        return
    assert label["detector"] == name
    assert label["start_ms"] == events[0]["ts"] == START + 30 * MINUTE
    assert population.on_shift(agent, label["start_ms"]) == (name != "off_hours")


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_scenario_crosses_its_threshold(name: str, injected: dict[str, Injected]) -> None:
    events = injected[name].events
    assert CHECKS[name](events)


def test_bulk_export_and_enumeration_sizes(injected: dict[str, Injected]) -> None:
    bulk = injected["bulk_export"].events
    assert 2000 <= sum(e["records"] for e in bulk) <= 5000
    assert bulk[-1]["ts"] - bulk[0]["ts"] <= 10 * MINUTE
    enum = injected["enumeration"].events
    assert {e["action"] for e in enum} == {"record.view"}
    assert len({e["resource"]["id"] for e in enum}) >= 600
    assert enum[-1]["ts"] - enum[0]["ts"] <= 40 * MINUTE
    assert not any("interaction_id" in e for e in enum)


def test_new_device_and_off_hours(injected: dict[str, Injected], population: Population) -> None:
    events, label = injected["new_device"]
    agent = population.by_id[label["actor"]]
    assert events[0]["action"] == "auth.login"
    assert events[0]["source"]["device_id"] not in agent.devices
    assert events[0]["source"]["country"] != agent.team.site.country
    events, label = injected["off_hours"]
    agent = population.by_id[label["actor"]]
    assert not any(population.on_shift(agent, e["ts"]) for e in events)


def test_same_seed_same_traffic(population: Population) -> None:
    def first(seed: int) -> list[bytes]:
        stream = Simulator(population, seed).events(START, 3600)
        return [orjson.dumps(e) for e in islice(stream, 2000)]

    assert first(3) == first(3)
    assert first(3) != first(4)
    assert Population(5).roster() == Population(5).roster()
    one = SCENARIOS["bulk_export"](population, Random(1), START)
    two = SCENARIOS["bulk_export"](population, Random(1), START)
    assert orjson.dumps(one.events) == orjson.dumps(two.events)


def test_events_is_lazy(population: Population) -> None:
    began = time.perf_counter()
    stream = Simulator(population, seed=1).events(START, 10 * 24 * 3600)
    head = list(islice(stream, 1000))
    assert len(head) == 1000
    assert time.perf_counter() - began < 3


def test_merge_and_inject(population: Population) -> None:
    names = ["bulk_export", "enumeration", "off_hours"]
    events, labels = inject(population, names, 9, START, 3600, registry=SCENARIOS)
    assert [label["scenario"] for label in labels] == names
    assert all(START <= label["start_ms"] < START + 3600_000 for label in labels)
    normal = Simulator(population, seed=9).events(START, 3600)
    merged = list(merge(normal, events))
    stamps = [e["ts"] for e in merged]
    assert stamps == sorted(stamps)
    ids = {e["event_id"] for e in merged}
    assert len(ids) == len(merged) and {e["event_id"] for e in events} <= ids


def test_live_stamps_now_and_injects(population: Population) -> None:
    labels: list[dict[str, Any]] = []
    before = int(time.time() * 1000)
    names = ["bulk_export", "auth_failures", "bulk_export"]
    stream = live(population, 3, 20_000, names, 0.0, labels=labels, registry=SCENARIOS)
    head = list(islice(stream, 400))
    after = int(time.time() * 1000)
    assert all(before <= e["ts"] <= after for e in head)
    stamps = [e["ts"] for e in head]
    assert stamps == sorted(stamps)
    assert [label["scenario"] for label in labels] == names
    assert any(e["event_id"].startswith("inj-bulk_export") for e in head)
    assert len({e["event_id"] for e in head}) == len(head)


class FakeProducer:
    """Stands in for confluent_kafka.Producer: a full queue once, one failed delivery."""

    instances: ClassVar[list[FakeProducer]] = []

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.waiting: list[tuple[int, Any]] = []
        self.full_once = True
        self.polls = 0
        FakeProducer.instances.append(self)

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Any) -> None:
        if len(self.sent) == 3 and self.full_once:
            self.full_once = False
            raise BufferError("queue full")
        self.waiting.append((len(self.sent), on_delivery))
        self.sent.append((topic, key, value))

    def poll(self, timeout: float = 0) -> int:
        self.polls += 1
        for n, callback in self.waiting:
            callback("broker down" if n == 10 else None, None)
        done, self.waiting = len(self.waiting), []
        return done

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0


def test_produce_keys_topics_and_counts(
    population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("confluent_kafka.Producer", FakeProducer)
    events = list(islice(Simulator(population, seed=2).events(START, 3600), 250))
    delivered = produce(events, {"bootstrap.servers": "x"}, lambda ch: f"interactions.{ch}", None)
    fake = FakeProducer.instances[-1]
    assert len(fake.sent) == 250 and fake.polls >= 3
    assert delivered == 249
    for (topic, key, value), event in zip(fake.sent, events, strict=True):
        assert topic == f"interactions.{event['channel']}"
        assert key == event["actor"]["id"].encode()
        assert orjson.loads(value) == event


def test_produce_paces_and_stops(population: Population, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("confluent_kafka.Producer", FakeProducer)
    events = list(islice(Simulator(population, seed=2).events(START, 3600), 60))
    began = time.perf_counter()
    produce(events, {}, str, rate=400.0)
    assert time.perf_counter() - began >= 0.12
    stop = threading.Event()
    stop.set()
    assert produce(events, {}, str, rate=1.0, stop=stop) == 0


def test_write_files(population: Population, tmp_path: Path) -> None:
    events, labels = inject(
        population, ["enumeration", "cross_tenant"], 1, START, 3600, registry=SCENARIOS
    )
    path = tmp_path / "events.jsonl"
    assert write_jsonl(events, path) == len(events)
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == events
    write_labels(labels, tmp_path / "labels.jsonl")
    lines = (tmp_path / "labels.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == labels
