"""Settings of orphan_access (detectors.yaml → detectors.orphan_access), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import MINUTE_MS
from detectors.tuning import param
from detectors.uncovered import InteractionsConfig

NAME = "orphan_access"


@dataclass(frozen=True)
class OrphanAccessConfig(InteractionsConfig):
    """Thresholds for orphan_access, and the judgement of views against interactions."""

    threshold_views: int = param(5, "orphan views per actor in the window that fire")
    window_minutes: int = param(60, "sliding window length")
    max_views: int = param(20_000, "views waiting for their grace period, and orphans, per actor")
    exempt_actor_types: frozenset[str] = param(
        frozenset({"supervisor", "service"}),
        "trusted actor types (assignments file, or a channel trusted for type) whose work "
        "is customers they do not serve (QA reviews, callbacks): not judged; allowlist "
        "back-office teams",
    )
    actions: frozenset[str] = param(
        frozenset({"record.view", "pii.unmask"}), "what counts as a view"
    )

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS
