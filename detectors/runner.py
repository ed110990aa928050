"""Runs the detectors over one batch: each actor's new events through the actor-side
detectors, the whole batch through the shared-side detectors.

Pure logic (no store): the worker, replay and the tests use it with different stores.
Actor by actor, events pass the actor's admission (no re-delivery, not too late) and go
only to the detectors that read their action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.base import ActorDetector, Context, Detector, Finding, SharedDetector, SharedPending
from detectors.event import Event
from detectors.state.actor import ActorState
from detectors.state.shared.plan import Plan

DEFAULT_LATE_MS = 3 * 3_600_000


@dataclass(slots=True)
class Observed:
    """What an actor's events did: those applied, the findings, and what was dropped."""

    fresh: list[Event] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    duplicates: int = 0
    late: int = 0


def allowlisted(detector: Any, finding: Finding) -> bool:
    """True when the finding's actor or team is on the detector's allowlist for the tenant."""
    tuning = getattr(detector, "tuning", None)
    if tuning is None:
        return False
    return bool(tuning.allows_actor(finding.tenant, finding.actor, finding.team))


class Runner:
    """The configured detectors, split by side, with an index of who reads which action."""

    def __init__(self, detectors: Sequence[Detector], late_ms: int = DEFAULT_LATE_MS) -> None:
        self.detectors = list(detectors)
        self.late_ms = late_ms
        self.actor_side: list[ActorDetector] = [d for d in detectors if hasattr(d, "observe")]
        self.shared_side: list[SharedDetector] = [d for d in detectors if hasattr(d, "plan_shared")]
        self.loaders = {d.name: d.load_slot for d in self.actor_side}
        self._readers: dict[str, list[ActorDetector]] = {}

    def readers(self, action: str) -> list[ActorDetector]:
        """The actor-side detectors that read `action`, in catalog order."""
        found = self._readers.get(action)
        if found is None:
            found = self._readers[action] = [
                d for d in self.actor_side if d.actions is None or action in d.actions
            ]
        return found

    def observe(self, state: ActorState, events: Sequence[Event], ctx: Context) -> Observed:
        """Admit the actor's events and run them through the detectors that read them."""
        fresh, duplicates, late = state.admit(events, self.late_ms)
        observed = Observed(fresh, [], duplicates, late)
        if not fresh:
            return observed
        if len(fresh) == 1:
            detectors = self.readers(fresh[0].action)
        else:
            wanted = {id(d) for e in fresh for d in self.readers(e.action)}
            detectors = [d for d in self.actor_side if id(d) in wanted]
        for detector in detectors:
            for finding in detector.observe(state, fresh, ctx):
                if not allowlisted(detector, finding):
                    observed.findings.append(finding)
        return observed

    def plan_shared(self, events: Sequence[Event], plan: Plan) -> list[tuple[Any, SharedPending]]:
        """Every shared-side detector plans the batch (re-delivered events too)."""
        return [(d, d.plan_shared(events, plan)) for d in self.shared_side]

    @staticmethod
    def shared_owners(pending: list[tuple[Any, SharedPending]]) -> list[str]:
        """Owner hashes the shared side asked about, once each."""
        return list(dict.fromkeys(key for _, p in pending for key in p.owners()))

    def shared_findings(self, pending: list[tuple[Any, SharedPending]]) -> list[Finding]:
        """Findings from the shared answers, once the plan has been applied."""
        return [f for d, p in pending for f in p.findings() if not allowlisted(d, f)]

    def load(self, actor: str, data: dict[str, Any]) -> ActorState:
        return ActorState.load(actor, data, self.loaders)
