"""channel_silence on the in-process state: event-time judging (replay) and ticks (worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from detectors.channel_silence import ChannelSilence, ChannelSilenceConfig
from detectors.event import Event
from detectors.state import MemoryState
from detectors.tuning import Tuning
from tests.detectors.helpers import MIN, T0, Case, run


def on(channel: str, n: int, ts: int) -> Event:
    return Event(f"e-{n}", ts, "acme", channel, "agent-1", "record.search")


def detector(now: list[int] | None = None, **overrides: object) -> ChannelSilence:
    clock = (lambda: now[0]) if now else (lambda: T0)
    return ChannelSilence(Tuning(ChannelSilenceConfig(**overrides)), "t:", clock)  # type: ignore[arg-type]


@dataclass
class Chan:
    name: str
    silence_minutes: float | None = None
    quiet: bool = False

    def is_quiet(self, ts_ms: int) -> bool:
        return self.quiet


def tick(d: ChannelSilence, state: MemoryState, now: int, channels: list) -> list:
    return state.tick(d, now, channels)


def test_event_time_silence_fires_once_per_episode() -> None:
    d, state = detector(), MemoryState()
    assert run(d, state, [on("voice", 1, T0), on("chat", 2, T0)]) == []
    assert run(d, state, [on("voice", 3, T0 + 9 * MIN)]) == []
    [finding] = run(d, state, [on("voice", 4, T0 + 10 * MIN)])
    assert finding.actor == "channel:chat" and finding.tenant == "*"
    assert finding.evidence["silent_minutes"] == 10 and finding.severity == 3
    assert run(d, state, [on("voice", 5, T0 + 30 * MIN)]) == []  # same episode: no repeat
    assert run(d, state, [on("chat", 6, T0 + 31 * MIN)]) == []  # back
    [again] = run(d, state, [on("voice", 7, T0 + 45 * MIN)])
    assert again.actor == "channel:chat" and again.window_start_ms == T0 + 31 * MIN


def test_live_ticks_watch_registered_channels_never_seen() -> None:
    d, state = detector(), MemoryState()
    channels = [Chan("voice"), Chan("sms")]
    assert tick(d, state, T0, channels) == []
    assert run(d, state, [on("voice", 1, T0 + 5 * MIN)]) == []  # live: no event-time judging
    [finding] = tick(d, state, T0 + 10 * MIN, channels)
    assert finding.actor == "channel:sms" and finding.evidence["clock"] == "wall_clock"
    assert tick(d, state, T0 + 12 * MIN, channels) == []


def test_processing_a_backlog_is_not_silence() -> None:
    now = [T0 + 60 * MIN]
    d, state = detector(now), MemoryState()
    channels = [Chan("voice")]
    tick(d, state, now[0], channels)
    run(d, state, [on("voice", 1, T0)])  # an hour-old event processed now
    assert tick(d, state, now[0] + 5 * MIN, channels) == []


def test_two_workers_raise_one_finding() -> None:
    state = MemoryState()
    a, b = detector(), detector()
    channels = [Chan("sms")]
    tick(a, state, T0, channels)
    tick(b, state, T0, channels)
    found = tick(a, state, T0 + 11 * MIN, channels) + tick(b, state, T0 + 11 * MIN, channels)
    assert len(found) == 1


def test_channel_silence_minutes_and_quiet_hours() -> None:
    d, state = detector(), MemoryState()
    channels = [Chan("sms", silence_minutes=60), Chan("ivr", quiet=True), Chan("voice")]
    tick(d, state, T0, channels)
    found = tick(d, state, T0 + 30 * MIN, channels)
    assert [f.actor for f in found] == ["channel:voice"]
    [sms] = tick(d, state, T0 + 61 * MIN, channels)
    assert sms.actor == "channel:sms" and sms.severity == 3


def test_watched_channels_quiet_hours_apply_in_event_time() -> None:
    d, state = detector(), MemoryState()
    d.watch([Chan("chat", quiet=True)])
    run(d, state, [on("voice", 1, T0), on("chat", 2, T0)])
    assert run(d, state, [on("voice", 3, T0 + 30 * MIN)]) == []


def test_reported_silence_never_reads_below_a_fractional_period() -> None:
    d, state = detector(silence_minutes=0.25), MemoryState()
    channels = [Chan("sms")]
    tick(d, state, T0, channels)
    [finding] = tick(d, state, T0 + 15_000, channels)  # exactly 0.25 min: one decimal said 0.2
    assert finding.evidence["silent_minutes"] == 0.25 == finding.threshold


DAY = 86_400_000
HOUR = 3_600_000
D0 = T0 // DAY * DAY  # a UTC midnight


def daytime_traffic(d: ChannelSilence, state: MemoryState, days: int) -> None:
    """sms sends every 5 minutes from 08:00 to 20:00 UTC, for `days` days from D0."""
    for day in range(days):
        start = D0 + day * DAY + 8 * HOUR
        run(d, state, [on("sms", day * 1000 + k, start + k * 5 * MIN) for k in range(144)])


def test_a_usual_night_gap_does_not_page_but_a_daytime_silence_does() -> None:
    d, state = detector(), MemoryState()
    daytime_traffic(d, state, 5)
    assert tick(d, state, D0 + 5 * DAY + 3 * HOUR, [Chan("sms")]) == []  # never busy at 3 a.m.
    [finding] = tick(d, state, D0 + 5 * DAY + 12 * HOUR, [Chan("sms")])  # busy at noon daily
    assert finding.actor == "channel:sms"
    assert (finding.evidence["busy_days"], finding.evidence["usual_days"]) == (5, 5)
    assert tick(d, state, D0 + 5 * DAY + 13 * HOUR, [Chan("sms")]) == []  # same episode


def test_without_enough_history_or_with_the_rule_off_any_silence_pages() -> None:
    young, state = detector(), MemoryState()
    tick(young, state, D0, [Chan("sms")])  # the worker watches from the start
    daytime_traffic(young, state, 2)  # two days < usual_min_days
    [finding] = tick(young, state, D0 + 2 * DAY + 3 * HOUR, [Chan("sms")])
    assert finding.evidence["usual_days"] == 2 and finding.evidence["busy_days"] == 0
    off, state = detector(usual_share=0.0), MemoryState()
    tick(off, state, D0, [Chan("sms")])
    daytime_traffic(off, state, 5)
    assert len(tick(off, state, D0 + 5 * DAY + 3 * HOUR, [Chan("sms")])) == 1


def test_usual_rule_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="usual_share"):
        ChannelSilenceConfig(usual_share=1.5)


def test_a_weekly_closure_seen_a_week_before_does_not_page() -> None:
    d, state = detector(), MemoryState()
    run(d, state, [on("sms", 90_000 + k, D0 + 8 * HOUR + k * 5 * MIN) for k in range(24)])
    for day in range(1, 7):  # day 0 closes at 10:00; days 1-6 are open 08:00-20:00
        start = D0 + day * DAY + 8 * HOUR
        run(d, state, [on("sms", day * 1000 + k, start + k * 5 * MIN) for k in range(144)])
    run(d, state, [on("sms", 99_000, D0 + 7 * DAY + 9 * HOUR)])
    assert tick(d, state, D0 + 7 * DAY + 12 * HOUR, [Chan("sms")]) == []  # 6 of 7, but day 0
    [finding] = tick(d, state, D0 + 8 * DAY + 12 * HOUR, [Chan("sms")])  # a week after day 1
    assert finding.evidence["busy_days"] >= 6  # the span: the whole silence, up to a day


def test_a_restarted_worker_waits_a_full_period_before_paging() -> None:
    state = MemoryState()
    before = detector(usual_share=0.0)
    run(before, state, [on("sms", 1, T0)])
    restarted = detector(usual_share=0.0)  # down for two hours: it cannot tell what it missed
    assert tick(restarted, state, T0 + 120 * MIN, [Chan("sms")]) == []
    assert tick(restarted, state, T0 + 129 * MIN, [Chan("sms")]) == []
    [finding] = tick(restarted, state, T0 + 130 * MIN, [Chan("sms")])
    assert finding.window_start_ms == T0 + 120 * MIN


def test_a_low_volume_channel_pages_once_its_silence_is_long_for_its_rate() -> None:
    """sms sends every 5 minutes in the daytime: 10 or 40 quiet minutes are ordinary there
    (2 or 8 busy minutes on earlier days, fewer than usual_busy_minutes: 10), and so is an
    hour (one busy minute in five: an hour's silence is a chance of e^-13.4, above
    e^-usual_surprise); an hour and a half is not (e^-20.3)."""
    d, state = detector(), MemoryState()
    tick(d, state, D0, [Chan("sms")])  # the worker watches from the start
    daytime_traffic(d, state, 5)
    last = D0 + 5 * DAY + 11 * HOUR
    run(d, state, [on("sms", 50_000, last)])
    assert tick(d, state, last + 11 * MIN, [Chan("sms")]) == []
    assert tick(d, state, last + 40 * MIN, [Chan("sms")]) == []
    assert tick(d, state, last + 60 * MIN, [Chan("sms")]) == []
    [finding] = tick(d, state, last + 95 * MIN, [Chan("sms")])
    assert finding.evidence["silent_minutes"] == 95


class Watched:
    def __init__(self, name: str) -> None:
        self.name = name


def channel_event(n: int, ts: int, channel: str) -> Event:
    return Event(f"c-{n}", ts, "acme", channel, "agent-1", "record.search")


def silence(prefix: str) -> ChannelSilence:
    detector = ChannelSilence(Tuning(ChannelSilenceConfig(silence_minutes=5)), prefix, lambda: T0)
    detector.watch([Watched("voice"), Watched("chat")])
    return detector


def exactness_case(tmp: Path) -> Case:
    return (
        silence,
        [[channel_event(0, T0, "voice"), channel_event(1, T0, "chat")],
         [channel_event(2, T0 + 3 * MIN, "voice")],
         [channel_event(3, T0 + 6 * MIN, "voice")]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> ChannelSilence:
    return ChannelSilence(Tuning(ChannelSilenceConfig(silence_minutes=4.0)), prefix, clock)


def batches_of(docs: list[dict], minutes: int = 1) -> list[list[Event]]:
    """Simulated contract events as detector events, one batch a minute of event time."""
    batches: dict[int, list[Event]] = {}
    for doc in docs:
        event = Event(doc["event_id"], doc["ts"], doc["tenant"], doc["channel"],
                      doc["actor"]["id"], doc["action"])  # fmt: skip
        batches.setdefault(doc["ts"] // (minutes * MIN), []).append(event)
    return [batches[k] for k in sorted(batches)]


def silent_channels(docs: list[dict]) -> dict[str, list[int]]:
    """Channel -> the window starts of its pages, replaying `docs` in event time (the
    state's clock at the first event)."""
    d, state = detector([docs[0]["ts"]]), MemoryState()
    pages: dict[str, list[int]] = {}
    for batch in batches_of(docs):
        for finding in run(d, state, batch):
            pages.setdefault(finding.actor, []).append(finding.window_start_ms)
    return pages


def test_the_folders_scenario_silences_a_busy_channel_and_it_pages() -> None:
    """The simulator's silence (scenario.py): a channel that carried traffic goes quiet
    for a while; replayed, the channel pages in the silence, and not without it."""
    from random import Random

    from detectors.scenarios import SILENCE_DETECTORS, SILENCES
    from simulator.population import Population
    from simulator.traffic import Simulator

    population = Population(4, agents=200)
    start = 1_772_460_000_000  # a Monday, 14:00 UTC: most teams on shift
    quiet = SILENCES["channel_silence"](population, Random(2), start + 90 * MIN)
    assert SILENCE_DETECTORS["channel_silence"] == "channel_silence"
    assert quiet.label["actor"] == f"channel:{quiet.channel}" and quiet.label["tenant"] == "*"
    normal = list(Simulator(population, 4).events(start, 3 * 3600))
    assert sum(1 for e in normal if e["channel"] == quiet.channel and
               quiet.start_ms <= e["ts"] < quiet.end_ms) > 20  # fmt: skip
    silenced = list(quiet.apply(normal))
    assert all(e["channel"] != quiet.channel or not quiet.start_ms <= e["ts"] < quiet.end_ms
               for e in silenced)  # fmt: skip
    pages = silent_channels(silenced).get(quiet.label["actor"], [])
    assert pages and all(quiet.start_ms - 10 * MIN <= p < quiet.end_ms for p in pages), pages
    assert quiet.label["actor"] not in silent_channels(normal)
