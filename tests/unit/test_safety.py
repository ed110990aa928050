"""The containment policy of monitor/service/safety.py: a state outage (as
monitor/service/state/outages.py
classifies them) holds the batch (retried, never dead-lettered); a bug retries, splits,
then dead-letters only the failing message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError

from monitor.service import safety
from monitor.service.health import Health
from monitor.service.pipeline import Message
from monitor.service.state.outages import StateUnavailable


class Recorder:
    """Stands in for the pipeline's process/reject only: the policy is under test."""

    def __init__(
        self,
        outages: int = 0,
        poison: int | None = None,
        outage: Exception | None = None,
        bug: Exception | None = None,
    ) -> None:
        self.outages = outages
        self.poison = poison
        self.outage = outage or StateUnavailable("READONLY")
        self.bug = bug or ValueError("bug")
        self.processed: list[int] = []
        self.lettered: list[tuple[int, str]] = []

    async def process(self, messages: Sequence[Message]) -> None:
        if self.outages:
            self.outages -= 1
            raise self.outage
        if any(m.offset == self.poison for m in messages):
            raise self.bug
        self.processed.extend(m.offset for m in messages)

    async def reject(self, message: Message, reason: str, detail: str) -> None:
        self.lettered.append((message.offset, reason))


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


@pytest.mark.parametrize(
    "outage",
    [
        ReadOnlyError("You can't write against a read only replica."),
        ResponseError("CLUSTERDOWN The cluster is down"),
        ResponseError("OOM command not allowed when used memory > 'maxmemory'."),
        RedisConnectionError("Connection refused"),
    ],
    ids=["readonly", "clusterdown", "oom", "connection"],
)
def test_a_redis_outage_escaping_the_store_is_held_like_one(outage: Exception) -> None:
    pipeline = Recorder(outages=safety.BATCH_ATTEMPTS + 5, outage=outage)
    asyncio.run(safety.process_safely(pipeline, batch(), Health()))  # type: ignore[arg-type]
    assert pipeline.processed == [0, 1, 2, 3, 4] and pipeline.lettered == []


def test_a_redis_error_that_is_no_outage_is_a_bug() -> None:
    pipeline = Recorder(poison=1, bug=ResponseError("ERR user_script:12: attempt to index nil"))
    asyncio.run(safety.process_safely(pipeline, batch(), Health()))  # type: ignore[arg-type]
    assert pipeline.processed == [0, 2, 3, 4]
    assert pipeline.lettered == [(1, "processing_error")]


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
