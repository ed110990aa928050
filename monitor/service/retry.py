"""One retry policy for the state, safety and sink paths, built on tenacity.

A `Backoff` says how long to wait between attempts: `first_s`, doubled after each wait
(never below `floor_s`) up to `max_s`. `retrying` runs an awaitable under it: which
exceptions are retried, after how many counted failures it gives up (None: never), and
what each caller logs and counts before a wait. The last exception is raised as is;
cancellation (shutdown) is never retried. The settings come from monitor/service/settings.py
(`RetrySettings`) and monitor/service/sinks/settings.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState

T = TypeVar("T")
Hook = Callable[[BaseException, float], Awaitable[None] | None]


@dataclass(frozen=True)
class Backoff:
    """Waits of `first_s`, doubled after each one (at least `floor_s`), at most `max_s`."""

    first_s: float
    max_s: float
    floor_s: float = 0.0

    def delay(self, waits_before: int) -> float:
        """The wait after `waits_before` earlier waits."""
        delay = self.first_s
        for _ in range(waits_before):
            if delay >= self.max_s:
                return self.max_s
            delay = min(max(delay * 2, self.floor_s), self.max_s)
        return delay


class _Failures:
    """tenacity's stop condition: give up after `limit` failures that `counted` accepts
    (None: never give up)."""

    def __init__(self, limit: int | None, counted: Callable[[BaseException], bool]) -> None:
        self.limit = limit
        self.counted = counted
        self.seen = 0

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and self.counted(exc):
            self.seen += 1
        return self.limit is not None and self.seen >= self.limit


async def retrying(
    call: Callable[[], Awaitable[T]],
    backoff: Backoff,
    retry_on: Callable[[BaseException], bool],
    *,
    attempts: int | None = None,
    counted: Callable[[BaseException], bool] = lambda _exc: True,
    before_wait: Hook | None = None,
    on_failure: Hook | None = None,
) -> T:
    """Await `call()` until it succeeds. An exception `retry_on` rejects is raised at once;
    after `attempts` failures that `counted` accepts, the last one is raised.
    `on_failure(exc, attempt)` runs after every retryable failure (the last one too),
    `before_wait(exc, seconds)` before each wait."""
    try:  # the first attempt outside tenacity: success costs what a plain call costs
        return await call()
    except Exception as exc:
        if not retry_on(exc):
            raise
        failed = [exc]

    async def attempt() -> T:  # tenacity awaits only what is declared a coroutine function
        if failed:
            raise failed.pop()  # the first attempt's failure, to count and wait on
        return await call()

    async def after(state: RetryCallState) -> None:
        if on_failure is not None:
            await _run(on_failure, _exception(state), state.attempt_number)

    async def before_sleep(state: RetryCallState) -> None:
        if before_wait is not None:
            sleep = state.next_action.sleep if state.next_action else 0.0
            await _run(before_wait, _exception(state), sleep)

    policy = AsyncRetrying(
        retry=_Predicate(lambda exc: isinstance(exc, Exception) and retry_on(exc)),
        stop=_Failures(attempts, counted),
        wait=lambda state: backoff.delay(state.attempt_number - 1),
        after=after,
        before_sleep=before_sleep,
        sleep=asyncio.sleep,
        reraise=True,
    )
    return await policy(attempt)


class _Predicate:
    """tenacity's retry condition from a plain predicate on the failure (results pass)."""

    def __init__(self, accepts: Callable[[BaseException], bool]) -> None:
        self.accepts = accepts

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        return exc is not None and self.accepts(exc)


def _exception(state: RetryCallState) -> BaseException:
    exc = state.outcome.exception() if state.outcome else None
    assert exc is not None  # only failures are retried
    return exc


async def _run(hook: Hook, exc: BaseException, value: float) -> None:
    result = hook(exc, value)
    if result is not None:
        await result
