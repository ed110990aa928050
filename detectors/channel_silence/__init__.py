"""channel_silence: a registered channel sends nothing for `silence_minutes`."""

from detectors.channel_silence.detector import NAME, ChannelSilence, ChannelSilenceConfig

__all__ = ["NAME", "ChannelSilence", "ChannelSilenceConfig"]
