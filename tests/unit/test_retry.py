"""The one retry policy: its delays, what it retries, when it gives up, what it calls."""

from __future__ import annotations

import asyncio

import pytest

from monitor.service.retry import Backoff, retrying


def test_delays_double_from_the_first_up_to_the_longest() -> None:
    assert [Backoff(0.05, 5.0).delay(n) for n in range(9)] == [
        0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0,
    ]  # fmt: skip
    assert [Backoff(0.0, 30.0, floor_s=0.1).delay(n) for n in range(3)] == [0.0, 0.1, 0.2]
    assert Backoff(0.5, 10.0).delay(10_000) == 10.0


def run(call, **options):  # type: ignore[no-untyped-def]
    waits: list[float] = []
    failures: list[float] = []
    options.setdefault("before_wait", lambda _exc, delay: waits.append(delay))
    options.setdefault("on_failure", lambda _exc, attempt: failures.append(attempt))
    result = asyncio.run(retrying(call, Backoff(0.0, 0.0), **options))
    return result, waits, failures


def test_retries_what_it_is_told_until_it_succeeds() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise ConnectionError("down")
        return "ok"

    result, waits, failures = run(flaky, retry_on=lambda e: isinstance(e, ConnectionError))
    assert (result, calls, len(waits), failures) == ("ok", 4, 3, [1, 2, 3])


def test_other_errors_are_raised_at_once_and_counted_failures_end_it() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("bug") if calls == 1 else ValueError("again")

    with pytest.raises(KeyError):
        run(broken, retry_on=lambda e: isinstance(e, ValueError))
    calls = 1
    with pytest.raises(ValueError):
        run(broken, retry_on=lambda e: True, attempts=3)
    assert calls == 4  # three counted failures after the first call


def test_uncounted_failures_do_not_use_up_the_attempts() -> None:
    calls = 0

    async def outage_then_bug() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("held") if calls <= 10 else ValueError("bug")

    with pytest.raises(ValueError):
        run(
            outage_then_bug,
            retry_on=lambda e: True,
            attempts=2,
            counted=lambda e: not isinstance(e, ConnectionError),
        )
    assert calls == 12
