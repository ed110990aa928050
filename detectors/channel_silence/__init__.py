"""channel_silence: a registered channel sends nothing for `silence_minutes`."""

from detectors.channel_silence.config import NAME, ChannelSilenceConfig
from detectors.channel_silence.detector import RULES, ChannelSilence

CONFIG, DETECTOR = ChannelSilenceConfig, ChannelSilence  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "ChannelSilence", "ChannelSilenceConfig"]
