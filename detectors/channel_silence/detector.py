"""channel_silence: a registered channel sends nothing for `silence_minutes`.

When a channel's producer breaks (a connector down, a credential expired, a topic
renamed) the monitor goes blind on that channel and leaks there go unseen; nobody
notices because no alert is what a quiet day looks like too. This detector pages once
per silence episode.

Two clocks:
- live (the worker): a periodic `tick(now_ms, channels)` judges every registered channel
  against the wall clock and the later of its last event time, its last processing time
  and this detector's first tick, so a backlog being worked off is not silence, and a
  restarted worker (blind while it was down) waits a full period before it pages. A
  channel that never sent anything counts from when it was first watched. Per-channel
  last-seen lives in the shared state, and a silence episode is claimed there once, so
  several workers raise one page.
- event time (replay, tests): each batch's latest event time is the clock; channels seen
  before (and `channels` from config, and channels given to `watch`) are judged against
  it. Once `tick` has been called the detector judges by the tick only.

Usual traffic: per channel and UTC day, a bitmap of the minutes that had events. A
silence pages only if, on at least `usual_share` of the channel's last `usual_days` days
with traffic, the channel was busy during the same clock span: events in at least
`usual_busy_minutes` of its minutes, and in enough of them that a silence as long would
be a chance below e^-`usual_surprise` there (a minute quiet with the day's share of quiet
minutes). A night shift's normal gaps do not page, a channel that is busy at this hour
every day does within minutes, and a channel carrying an event every few minutes pages
once its silence is long for its own rate (70 minutes at one busy minute in four).
The same weekday a week before, if it had traffic but none in that span, vetoes the page
(a channel closed on Sunday afternoons). A channel with fewer than `usual_min_days` days
of traffic (new, or just onboarded) is judged by the period alone; `usual_share: 0` turns
the rule off.

A channel's own `silence_minutes` and quiet hours (`is_quiet(ts_ms)`), when the channel
registry provides them, override the default; in quiet hours the channel is not judged.
The finding's actor is `channel:<name>` and its tenant the configured `tenant` ("*":
the monitor itself, not a client).

Tuning. Replay a week and list silences per channel and hour. Pages at hours a channel
is only sometimes busy: raise `usual_share` (towards 1: only spans busy every day page)
or give the channel quiet hours or a longer `silence_minutes` in `channels.yaml`. A
broken channel must page within minutes at its busy hours: keep `silence_minutes` short
rather than a longer default for all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from detectors.base import MINUTE_MS, Finding, Tuned, severity_for
from detectors.channel_silence.config import NAME, ChannelSilenceConfig
from detectors.event import Event
from detectors.state.keys import channel_tag, claim_field
from detectors.state.shared import channel_traffic
from detectors.state.shared.channel_traffic import Silence
from detectors.state.shared.plan import Plan
from detectors.tuning import Tuning

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "silence": "a channel silent for its period, at a clock span that is busy on its usual days",
}


DAY_MS = 86_400_000


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class ChannelSilence(Tuned[ChannelSilenceConfig]):
    """Keeps each channel's last-seen times and reports channels gone quiet."""

    name = NAME

    def __init__(
        self,
        tuning: Tuning[ChannelSilenceConfig],
        key_prefix: str = "",
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(tuning, key_prefix)
        self.clock = clock
        self.live = False
        self.live_since = 0  # wall clock of the first tick: silence counts from there at most
        self.watched: list[Any] = []
        self.seen: set[str] = set()  # channels seen in events (event-time mode judges them)

    def watch(self, channels: Sequence[Any]) -> None:
        """Registered channels (objects with `name`, optionally `silence_minutes` and
        `is_quiet(ts_ms)`): their periods and quiet hours apply in event time too."""
        self.watched = list(channels)

    def key(self, channel: str) -> str:
        """The channel's owner hash (its traffic, and its alerts)."""
        return f"{self.prefix}{channel_tag(channel)}"

    def plan_shared(self, events: Sequence[Event], plan: Plan, horizon_ms: int) -> SilencePending:
        cfg = self.tuning.default
        latest: dict[str, int] = {}
        minutes: dict[str, set[int]] = {}
        for event in events:
            if event.ts_ms > latest.get(event.channel, -1):
                latest[event.channel] = event.ts_ms
            minutes.setdefault(event.channel, set()).add(event.ts_ms // MINUTE_MS)
        now = self.clock()
        ttl = cfg.remember_days * DAY_MS
        bitmap_ttl = (cfg.usual_days + 1) * DAY_MS  # a day's bitmap outlives its last use
        for channel, ts in latest.items():
            channel_traffic.seen(plan, self.key(channel), ts, now, ttl)
            channel_traffic.minutes(plan, self.key(channel), sorted(minutes[channel]), bitmap_ttl)
        self.seen.update(latest)
        if self.live or not latest:
            return SilencePending(cfg, "e")
        clock = max(latest.values())
        periods = {name: cfg.silence_ms for name in sorted(cfg.channels | self.seen)}
        periods.update({c.name: silence_ms(c, cfg, clock) for c in self.watched})
        return self.ask(plan, cfg, "e", clock, periods)

    def ask(
        self, plan: Plan, cfg: ChannelSilenceConfig, mode: str, now_ms: int, periods: dict
    ) -> SilencePending:
        since = self.live_since if mode == "p" else 0
        pending = SilencePending(cfg, mode, now_ms)
        for channel in sorted(periods):
            claim = claim_field(NAME, cfg.tenant)
            reply = channel_traffic.silence(
                plan,
                self.key(channel),
                mode,
                now_ms,
                periods[channel],
                cfg.usual,
                since,
                claim,
                cfg.remember_days * DAY_MS,
            )
            pending.asked.append((channel, periods[channel], reply, self.key(channel)))
        return pending

    def tick(self, now_ms: int, channels: Sequence[Any], plan: Plan) -> SilencePending:
        """Judge registered channels (objects with `name`, optionally `silence_minutes` and
        `is_quiet(ts_ms)`) against the wall clock; the worker calls this periodically."""
        self.live = True
        self.live_since = self.live_since or now_ms
        self.watched = list(channels)
        cfg = self.tuning.default
        periods = {channel.name: silence_ms(channel, cfg, now_ms) for channel in channels}
        return self.ask(plan, cfg, "p", now_ms, periods)


def silence_ms(channel: Any, cfg: ChannelSilenceConfig, now_ms: int) -> int:
    """The channel's silence period in ms; 0 (not judged) during its quiet hours."""
    is_quiet = getattr(channel, "is_quiet", None)
    if callable(is_quiet) and is_quiet(now_ms):
        return 0
    minutes = getattr(channel, "silence_minutes", None)
    if isinstance(minutes, int | float) and minutes > 0:
        return int(minutes * MINUTE_MS)
    return cfg.silence_ms


class SilencePending:
    """The channels asked about, and their answers once the store has applied the plan."""

    def __init__(self, cfg: ChannelSilenceConfig, mode: str, now_ms: int = 0) -> None:
        self.cfg = cfg
        self.mode = mode
        self.now_ms = now_ms
        self.asked: list[tuple[str, int, Silence, str]] = []

    def owners(self) -> list[str]:
        return [key for _, _, _, key in self.asked]

    def findings(self) -> list[Finding]:
        return [
            describe(self.cfg, channel, reply, self.now_ms, self.mode, limit, key)
            for channel, limit, reply, key in self.asked
            if reply.silent
        ]


def describe(
    cfg: ChannelSilenceConfig,
    channel: str,
    silence: Silence,
    now: int,
    mode: str,
    limit_ms: int,
    owner: str,
) -> Finding:
    """The finding for one silence (claimed once per episode: its last-seen time)."""
    limit = limit_ms / MINUTE_MS
    last = silence.last_ms
    # Two decimals: a period of 0.25 min must not read "silent for 0.2 min" (one decimal
    # rounded a just-reached period below itself).
    silent_minutes = round((now - last) / MINUTE_MS, 2)
    return Finding(
        detector=NAME,
        tenant=cfg.tenant,
        actor=f"channel:{channel}",
        severity=severity_for(silent_minutes, limit),
        title=f"Channel {channel} silent for {silent_minutes} min: the monitor is blind there",
        window_start_ms=last,
        window_end_ms=now,
        observed=silent_minutes,
        threshold=limit,
        evidence={
            "channel": channel,
            "silent_minutes": silent_minutes,
            "silence_minutes": limit,
            "last_seen_ms": last,
            "clock": "event_time" if mode == "e" else "wall_clock",
            "rule": "silence",
            "busy_days": silence.busy_days,
            "usual_days": silence.usual_days,
        },
        channels=(channel,),
        owner=owner,
        episode=str(last),
    )
