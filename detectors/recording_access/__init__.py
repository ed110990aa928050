"""recording_access: an actor plays or downloads call recordings and transcripts outside
their own interactions, or far more than they usually do."""

from detectors.recording_access.config import NAME, RecordingAccessConfig
from detectors.recording_access.detector import RULES, RecordingAccess

CONFIG, DETECTOR = RecordingAccessConfig, RecordingAccess  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "RecordingAccess", "RecordingAccessConfig"]
