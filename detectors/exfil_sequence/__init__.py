"""exfil_sequence: sensitive records viewed, then data leaves within minutes."""

from detectors.exfil_sequence.detector import NAME, ExfilSequence, ExfilSequenceConfig

__all__ = ["NAME", "ExfilSequence", "ExfilSequenceConfig"]
