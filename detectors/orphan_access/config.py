"""Settings of orphan_access (detectors.yaml → detectors.orphan_access), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import MINUTE_MS
from detectors.tuning import param

NAME = "orphan_access"


@dataclass(frozen=True)
class OrphanAccessConfig:
    """Thresholds for orphan_access."""

    threshold_views: int = param(5, "orphan views per actor in the window that fire")
    window_minutes: int = param(60, "sliding window length")
    recent_minutes: int = param(
        30, "an interaction ended less than this before a view still covers it (wrap-up)"
    )
    grace_minutes: int = param(
        5,
        "out-of-order bound: a view is judged once the actor's event time is this far past "
        "it (its interaction.start may come later on another channel)",
    )
    start_skew_seconds: int = param(
        60, "a view this shortly before the interaction.start still belongs to it"
    )
    interaction_ttl_hours: int = param(
        12, "how long an interaction (open or ended) is remembered per actor and customer"
    )
    max_customers: int = param(5000, "interactions remembered per actor (least recent go)")
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

    @property
    def ttl_ms(self) -> int:
        return self.interaction_ttl_hours * 60 * MINUTE_MS
