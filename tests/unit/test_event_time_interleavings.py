"""The event-time guarantee (issue 18), as a property over interleavings.

For any interleaving of the channel topics in which every partition stays in order and no
event falls behind the watermark by more than the allowed lateness, the pages equal those
of the same events read in event-time order. The events: every detector's leak case
(its folder's `exactness_case`, the same ones the exactness test pages on), each
detector's actors apart, their events spread over three channels. The worker's own
detection stage on the in-process store (monitor/service/state/memory_store.py), with the
worker's watermark (monitor/service/watermarks.py) computing each batch's horizon.
"""

from __future__ import annotations

import asyncio
import importlib
import zlib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.catalog import CATALOG
from detectors.event import Event
from monitor.service.config import DetectorSettings
from monitor.service.detection import Detection, build_detection
from monitor.service.state.memory_store import MemoryStore
from monitor.service.watermarks import Watermarks

CHANNELS = ("voice", "chat", "backoffice")
# Outside the guarantee (docs/operations.md, "Event time"): channel_silence judges what did
# not arrive, on the decision clock (a channel read later than the others is silent
# meanwhile, by design).
ORDER_SENSITIVE = ("channel_silence",)
JUDGED = [name for name in CATALOG if name not in ORDER_SENSITIVE]
KEY = b"interleavings-test-key-32-bytes!"
Page = tuple[str, str, str]  # (detector, tenant, actor)


def leak_cases(tmp: Path) -> tuple[list, list[Event]]:
    """Every detector's leak, its ids and actors prefixed by the detector's name (but
    off_hours' rostered actors), each event on one of three channels (by its id)."""
    makes, events = [], []
    for name in JUDGED:
        module = importlib.import_module(f"detectors.{name}.test_{name}")
        (tmp / name).mkdir(parents=True, exist_ok=True)
        make, batches = module.exactness_case(tmp / name)
        makes.append(make)
        for event in (e for batch in batches for e in batch):
            event_id = f"{name}:{event.event_id}"
            channel = CHANNELS[zlib.crc32(event_id.encode()) % len(CHANNELS)]
            # off_hours' roster names its actors as they are; the others are renamed
            actor = event.actor_id if name == "off_hours" else f"{name}:{event.actor_id}"
            events.append(replace(event, event_id=event_id, actor_id=actor, channel=channel))
    return makes, events


def detection(makes: list) -> Detection:
    return build_detection(DetectorSettings(), MemoryStore(), KEY, "", [m("") for m in makes])


async def run(detect: Detection, batches: list[list[Event]]) -> Counter[Page]:
    """The batches as the worker reads them: each batch's horizon from the watermark of
    the batches before; alerts confirmed after each batch; the new pages counted. The
    decision clock is the worker's wall clock: the whole period is read at once after it
    (a catch-up), so every batch is decided at the same time."""
    read_at = max(e.ts_ms for b in batches for e in b) + 1000
    marks = Watermarks(idle_s=float("inf"), align_ms=2**62)
    marks.assigned(((c, 0) for c in CHANNELS), 0)
    left = Counter(e.channel for b in batches for e in b)
    pages: Counter[Page] = Counter()
    for batch in batches:
        horizon = marks.advance(0) - detect.runner.lateness_ms
        newest: dict[tuple[str, int], int] = {}
        for e in batch:
            newest[(e.channel, 0)] = max(newest.get((e.channel, 0), e.ts_ms), e.ts_ms)
            left[e.channel] -= 1
        marks.read(newest, 0)
        marks.revoked((c, 0) for c in CHANNELS if left[c] == 0)  # done: holds nothing back
        outcome = await detect.run(batch, read_at, horizon_ms=horizon)
        assert not outcome.late, "an event fell behind the watermark: not this guarantee"
        await detect.store.confirm(outcome.pending)
        for p in outcome.pending:
            if p.kind == "new":
                finding = detect.alerts.alert(p).finding
                pages[(finding.detector, finding.tenant, finding.actor)] += 1
    return pages


def in_order(events: list[Event], size: int) -> list[list[Event]]:
    ordered = sorted(events, key=lambda e: (e.ts_ms, e.event_id))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def interleave(events: list[Event], steps: list[tuple[int, int, bool]]) -> list[list[Event]]:
    """Each step takes up to `take` events from one channel's queue (in its order) into the
    current batch, and may close the batch; what is left is read channel by channel."""
    queues = {c: sorted((e for e in events if e.channel == c), key=lambda e: e.ts_ms)
              for c in CHANNELS}  # fmt: skip
    batches: list[list[Event]] = [[]]
    for channel, take, close in steps:
        queue = queues[CHANNELS[channel]]
        batches[-1] += queue[:take]
        del queue[:take]
        if close and batches[-1]:
            batches.append([])
    for queue in queues.values():
        batches[-1] += queue
    return [b for b in batches if b]


STEPS = st.lists(
    st.tuples(st.integers(0, len(CHANNELS) - 1), st.integers(1, 40), st.booleans()),
    max_size=60,
)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list[Event]]:
    return leak_cases(tmp_path_factory.mktemp("cases"))


def test_the_leaks_page_when_read_in_event_time_order(cases: tuple[list, list[Event]]) -> None:
    makes, events = cases
    pages = asyncio.run(run(detection(makes), in_order(events, 50)))
    assert {d for d, _, _ in pages} == set(JUDGED)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(steps=STEPS, size=st.integers(5, 200))
def test_any_interleaving_within_lateness_pages_as_the_event_time_order(
    cases: tuple[list, list[Event]], steps: list[tuple[int, int, bool]], size: int
) -> None:
    makes, events = cases
    expected = asyncio.run(run(detection(makes), in_order(events, size)))
    got = asyncio.run(run(detection(makes), interleave(events, steps)))
    assert got == expected
