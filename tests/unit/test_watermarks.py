"""The worker's watermark: per-partition frontiers, idleness, monotonicity, alignment."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from detectors.state.actor import NO_HORIZON
from monitor.service.watermarks import SingleClock, Watermarks

MIN = 60_000
VOICE, EMAIL = ("interactions.voice", 0), ("interactions.email", 0)


def marks() -> Watermarks:
    return Watermarks(idle_s=30, align_ms=30 * MIN)


def test_the_watermark_is_the_slowest_active_partition() -> None:
    w = marks()
    w.read({VOICE: 100 * MIN, EMAIL: 60 * MIN}, now_s=0)
    assert w.advance(1) == 60 * MIN
    w.read({EMAIL: 70 * MIN}, now_s=2)
    assert w.advance(3) == 70 * MIN


def test_an_assigned_partition_holds_the_watermark_until_it_delivers_or_idles() -> None:
    w = marks()
    w.assigned([VOICE, EMAIL], now_s=0)
    w.read({VOICE: 100 * MIN}, now_s=1)
    assert w.advance(2) == NO_HORIZON  # email's backlog may not be fetched yet
    assert w.advance(30.5) == 100 * MIN  # email idled out, voice not yet


def test_an_idle_partition_leaves_and_a_late_return_never_moves_it_back() -> None:
    w = marks()
    w.read({VOICE: 100 * MIN, EMAIL: 90 * MIN}, now_s=0)
    w.read({VOICE: 200 * MIN}, now_s=40)
    assert w.advance(40) == 200 * MIN  # email silent for 40 s: left out
    w.read({EMAIL: 95 * MIN}, now_s=41)  # its connector is back, hours behind
    assert w.advance(41) == 200 * MIN


def test_a_partition_far_ahead_is_paused_and_resumed_once_the_others_catch_up() -> None:
    w = marks()
    w.read({VOICE: 100 * MIN, EMAIL: 10 * MIN}, now_s=0)
    assert w.alignment(1) == ([VOICE], [])
    w.read({EMAIL: 50 * MIN}, now_s=2)
    assert w.alignment(3) == ([], [])  # still 50 min ahead: stays paused
    w.read({EMAIL: 75 * MIN}, now_s=4)
    assert w.alignment(5) == ([], [VOICE])


def test_a_backlog_read_in_step_is_never_paused() -> None:
    w = marks()
    for step in range(100):
        w.read({VOICE: step * MIN, EMAIL: step * MIN + 29 * MIN}, now_s=step * 0.1)
        assert w.alignment(step * 0.1) == ([], [])


def test_paused_partitions_carry_the_watermark_once_the_others_idle() -> None:
    """A paused partition is silent because it is paused: once the slow one has gone
    quiet, the watermark rises to the paused one and it resumes (no deadlock)."""
    w = marks()
    w.read({VOICE: 100 * MIN, EMAIL: 10 * MIN}, now_s=0)
    assert w.alignment(1) == ([VOICE], [])
    assert w.alignment(60) == ([], [VOICE])


def test_revoked_partitions_are_forgotten() -> None:
    w = marks()
    w.read({VOICE: 100 * MIN, EMAIL: 10 * MIN}, now_s=0)
    w.revoked([EMAIL])
    assert w.advance(1) == 100 * MIN


@given(st.lists(st.tuples(st.sampled_from([VOICE, EMAIL]), st.integers(0, 10**9), st.floats(0, 5))))
def test_the_watermark_never_moves_back(reads: list[tuple[tuple[str, int], int, float]]) -> None:
    w, now, last = marks(), 0.0, NO_HORIZON
    for tp, event_ms, step in reads:
        now += step
        w.read({tp: event_ms}, now)
        current = w.advance(now)
        assert current >= last
        last = current


def test_a_single_clock_is_the_newest_time_read_before() -> None:
    clock = SingleClock()
    assert clock.advance(0) == NO_HORIZON
    clock.read({VOICE: 5 * MIN, EMAIL: 3 * MIN}, 0)
    assert clock.advance(0) == 5 * MIN
