"""Tells the operator which controls are not in force: the worker's start-up log (one
WARNING line naming them) and `/health` (`controls_not_in_force`), again whenever a
reloaded assignments file or channel registry changes what is trusted."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from monitor.service.config import DetectorSettings
from monitor.service.controls import not_in_force_anywhere, not_in_force_text, snapshot
from monitor.service.health import Health

log = logging.getLogger("blindar.worker")

HOW = (
    "give a trusted source: an assignments file (BLINDAR_ASSIGNMENTS_FILE or "
    "assignments.yaml in the config directory) or a channel with `trusted:` "
    "(docs/operations.md, Controls not in force)"
)


class TrustStatus:
    """The controls of one detector configuration that lack their trusted source."""

    def __init__(self, detectors: DetectorSettings, health: Health) -> None:
        self.snap = snapshot(detectors)
        self.health = health
        self.known = False

    def update(self, trusted: Iterable[str]) -> list[dict[str, str]]:
        """Judge the controls against the kinds of trusted value now given; logs when the
        answer changes (and at the first call), sets /health's list."""
        missing = not_in_force_anywhere(self.snap, trusted)
        if missing and (missing != self.health.not_in_force or not self.known):
            log.warning("controls NOT in force, no trusted source: %s; %s",
                        not_in_force_text(missing), HOW)  # fmt: skip
        elif self.known and self.health.not_in_force and not missing:
            log.info("every control is in force: trusted sources give tenants, team and type")
        self.health.not_in_force = missing
        self.known = True
        return missing
