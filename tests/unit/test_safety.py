"""The containment policy of monitor/safety.py: a state outage holds the batch (retried,
never dead-lettered); a bug retries, splits, then dead-letters only the failing message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from monitor import safety
from monitor.errors import StateUnavailable
from monitor.events import Rejection
from monitor.health import Health
from monitor.pipeline import Message


class Recorder:
    """Stands in for the pipeline's process/dead_letter only: the policy is under test."""

    output = None

    def __init__(self, outages: int = 0, poison: int | None = None) -> None:
        self.outages = outages
        self.poison = poison
        self.processed: list[int] = []
        self.lettered: list[tuple[int, str]] = []

    async def process(self, messages: Sequence[Message]) -> None:
        if self.outages:
            self.outages -= 1
            raise StateUnavailable("READONLY")
        if any(m.offset == self.poison for m in messages):
            raise ValueError("bug")
        self.processed.extend(m.offset for m in messages)

    def channel_of(self, topic: str) -> str:
        return "chat"

    def dead_letter(
        self, message: Message, channel: str, rejections: list[Rejection], now_ms: int
    ) -> None:
        self.lettered.append((message.offset, rejections[0].reason))


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "FIRST_DELAY_S", 0.001)
    monkeypatch.setattr(safety, "MAX_DELAY_S", 0.001)


def batch() -> list[Message]:
    return [Message("interactions.chat", 0, n, b"k", b"{}") for n in range(5)]


def test_state_outage_holds_the_batch_however_long_and_never_dead_letters() -> None:
    pipeline = Recorder(outages=25)  # far more than BATCH_ATTEMPTS
    health = Health()
    asyncio.run(safety.process_safely(pipeline, batch(), health))  # type: ignore[arg-type]
    assert pipeline.processed == [0, 1, 2, 3, 4] and pipeline.lettered == []
    assert health.ok


def test_outage_while_split_is_held_too() -> None:
    pipeline = Recorder(poison=2)
    original = pipeline.process
    calls = 0

    async def flaky(messages: Sequence[Message]) -> None:
        nonlocal calls
        calls += 1
        if calls == safety.BATCH_ATTEMPTS + 2:  # the second message alone: an outage
            raise StateUnavailable("LOADING")
        await original(messages)

    pipeline.process = flaky  # type: ignore[method-assign]
    asyncio.run(safety.process_safely(pipeline, batch(), Health()))  # type: ignore[arg-type]
    assert pipeline.processed == [0, 1, 3, 4]
    assert pipeline.lettered == [(2, "processing_error")]


def test_a_bug_dead_letters_only_the_failing_message() -> None:
    pipeline = Recorder(poison=3)
    asyncio.run(safety.process_safely(pipeline, batch(), Health()))  # type: ignore[arg-type]
    assert pipeline.processed == [0, 1, 2, 4]
    assert pipeline.lettered == [(3, "processing_error")]
