"""exfil_sequence: sensitive records viewed, then data leaves within minutes."""

from detectors.exfil_sequence.config import NAME, ExfilSequenceConfig
from detectors.exfil_sequence.detector import RULES, ExfilSequence

CONFIG, DETECTOR = ExfilSequenceConfig, ExfilSequence  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "ExfilSequence", "ExfilSequenceConfig"]
