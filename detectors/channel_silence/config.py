"""Settings of channel_silence (detectors.yaml → detectors.channel_silence), with their
defaults. A channel's own silence_minutes and quiet hours in channels.yaml win."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import MINUTE_MS
from detectors.tuning import param

NAME = "channel_silence"


@dataclass(frozen=True)
class ChannelSilenceConfig:
    """Settings for channel_silence."""

    silence_minutes: float = param(
        10.0, "a registered channel with no event for this long pages once (fractions allowed)"
    )
    remember_days: int = param(7, "how long last-seen times are kept")
    tenant: str = param("*", "tenant of the finding (its actor is channel:<name>); * = the monitor")
    channels: frozenset[str] = param(
        frozenset(), "channels judged in replay before their first event (the worker: all)"
    )
    usual_days: int = param(
        7, "past days with traffic compared (7 or more: the week-before veto applies)"
    )
    usual_min_days: int = param(3, "fewer days of traffic than this: any silence pages")
    usual_share: float = param(
        0.8,
        "share of those days on which the same clock span was busy; 0 turns the rule off",
    )
    usual_busy_minutes: int = param(
        10, "minutes with events in the span that a day needs at least to be busy there",
    )  # fmt: skip
    usual_surprise: float = param(
        20.0, "a day is busy in the span only if, at its share of minutes with events, a "
        "silence that long would be a chance below e^-this there (a sparse channel pages "
        "once its silence is long for its own rate)",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if not 0 <= self.usual_share <= 1:
            raise ValueError("usual_share must be between 0 and 1")

    @property
    def silence_ms(self) -> int:
        return int(self.silence_minutes * MINUTE_MS)

    @property
    def usual(self) -> list[float]:
        """The usual-traffic rule as the silence query takes it:
        [days, min_days, share, busy minutes, surprise]."""
        return [
            self.usual_days,
            self.usual_min_days,
            self.usual_share,
            self.usual_busy_minutes,
            self.usual_surprise,
        ]
