"""The worker's cache of shared answers (monitor/service/detection.py SharedCache) is bounded: by
count (the answers refreshed longest ago go first) and by age (unasked answers expire)."""

from __future__ import annotations

from detectors.state.shared.plan import Plan
from monitor.service.detection import SharedCache


def ask_all(cache: SharedCache, keys: list[str], now_ms: int) -> None:
    """One batch asking these keys; the store answered (replies are the key names)."""
    plan = Plan()
    for key in keys:
        cache.get(key, lambda _plan, key=key: key, plan, now_ms)
    cache.answered(now_ms)


def test_past_its_cap_the_oldest_answers_are_forgotten() -> None:
    cache = SharedCache(refresh_ms=1000, max_entries=3, max_age_ms=10**9)
    ask_all(cache, ["t-1", "t-2", "t-3"], 0)
    ask_all(cache, ["t-1"], 1000)  # refreshed: now the newest
    ask_all(cache, ["t-4", "t-5"], 2000)
    assert list(cache.answers) == ["t-1", "t-4", "t-5"]
    # a forgotten key reads as never answered, and is asked again in the same batch
    plan = Plan()
    assert cache.get("t-2", lambda _plan: "t-2 again", plan, 3000) is None
    assert cache.asked == {"t-2": "t-2 again"}


def test_answers_unasked_for_their_max_age_are_forgotten() -> None:
    cache = SharedCache(refresh_ms=1000)  # max age: 10 refresh periods
    ask_all(cache, ["t-1", "t-2"], 0)
    ask_all(cache, ["t-2"], 5000)
    ask_all(cache, [], 9999)
    assert list(cache.answers) == ["t-1", "t-2"]
    ask_all(cache, [], 10_000)
    assert list(cache.answers) == ["t-2"]
    ask_all(cache, [], 15_000)
    assert cache.answers == {}


def test_a_hundred_thousand_claimed_teams_stay_within_the_cap() -> None:
    cache = SharedCache(refresh_ms=60_000, max_entries=1000)
    for batch in range(20):
        ask_all(cache, [f"team-{batch}-{n}" for n in range(5000)], batch)
    assert len(cache.answers) == 1000
