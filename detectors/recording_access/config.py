"""Settings of recording_access (detectors.yaml → detectors.recording_access), with their
defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import MINUTE_MS
from detectors.stats import RobustThreshold
from detectors.tuning import param
from detectors.uncovered import InteractionsConfig

NAME = "recording_access"


@dataclass(frozen=True)
class RecordingAccessConfig(InteractionsConfig, RobustThreshold):
    """Thresholds for recording_access: accesses outside the actor's own interactions, and
    the actor's own hourly baseline of accesses."""

    threshold_outside: int = param(
        10, "recordings and transcripts reached outside the actor's interactions, in the "
        "window, that fire",
    )  # fmt: skip
    window_minutes: int = param(60, "window length (sliding for outside accesses, tumbling "
                                    "for the baseline)")  # fmt: skip
    min_observed: int = param(15, "smallest count in a window the baseline rule judges")
    history_windows: int = param(200, "active windows (with an access) kept per actor")
    warmup_windows: int = param(8, "active windows before the baseline rule judges")
    max_accesses: int = param(
        20_000, "accesses waiting for their grace period, and those outside, per actor"
    )
    exempt_actor_types: frozenset[str] = param(
        frozenset({"supervisor"}),
        "trusted actor types (assignments file, or a channel trusted for type) whose work "
        "is listening to others' calls (QA reviews): not judged",
    )
    resource_types: frozenset[str] = param(
        frozenset({"recording", "transcript"}), "`resource.type` values that count"
    )
    actions: frozenset[str] = param(
        frozenset({"record.view", "record.export", "file.download"}),
        "plays, exports and downloads that count",
    )

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS
