"""Everything a batch touches, kept in process: actor states, the shared families' twin
and team statistics answered on the spot. For detector unit tests and quick replays;
the worker keeps the same actor states, made durable by the Redis store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from detectors.event import Event
from detectors.state.actor import NO_HORIZON, ActorState
from detectors.state.keys import claim_field
from detectors.state.shared.memory import SharedMemory
from detectors.state.shared.plan import Plan, Reply

R = TypeVar("R", bound=Reply)


class MemoryContext:
    """A detector's context in process: shared queries answered by the twin at once."""

    def __init__(self, shared: SharedMemory, plan: Plan) -> None:
        self.shared = shared
        self.plan = plan

    def cached(self, key: str, ask: Callable[[Plan], R]) -> R:
        probe = Plan()
        reply = ask(probe)
        probe.fill(self.shared.apply(probe))
        return reply


class MemoryState:
    """Actor states by actor id, and the shared state twin. Each actor is judged on its
    own clock: its watermark is the newest event time of its batches before, and its
    events older than that by more than the runner's allowed lateness are counted in
    `late` (the worker's watermark spans its partitions: monitor/service/watermarks.py)."""

    def __init__(self) -> None:
        self.actors: dict[str, ActorState] = {}
        self.shared = SharedMemory()
        self.watermarks: dict[str, int] = {}
        self.late = 0

    def actor(self, actor: str) -> ActorState:
        found = self.actors.get(actor)
        if found is None:
            found = self.actors[actor] = ActorState(actor)
        return found

    def run(self, runner: Any, events: Sequence[Event]) -> list[Any]:
        """One batch through `runner` (detectors.runner.Runner): findings, actors first."""
        plan = Plan()
        ctx = MemoryContext(self.shared, plan)
        findings = []
        by_actor: dict[str, list[Event]] = {}
        for event in events:
            by_actor.setdefault(event.actor_id, []).append(event)
        oldest = NO_HORIZON
        for actor, own in by_actor.items():
            watermark = self.watermarks.get(actor, NO_HORIZON)
            horizon = watermark - runner.lateness_ms
            oldest = horizon if oldest == NO_HORIZON else min(oldest, horizon)
            observed = runner.observe(self.actor(actor), own, ctx, horizon)
            findings += observed.findings
            self.late += len(observed.late)
            self.watermarks[actor] = max(watermark, max(e.ts_ms for e in own))
        pending = runner.plan_shared(events, plan, oldest)
        plan.fill(self.shared.apply(plan))
        return findings + self.claim(runner.shared_findings(pending))

    def tick(self, detector: Any, now_ms: int, channels: Sequence[Any]) -> list[Any]:
        """A periodic check of a detector that judges what did not arrive (channel_silence)."""
        plan = Plan()
        pending = detector.tick(now_ms, channels, plan)
        plan.fill(self.shared.apply(plan))
        return self.claim(pending.findings())

    def claim(self, findings: list[Any]) -> list[Any]:
        """What the alert engine does with episodes: the first finding of an episode claims
        it in its owner's hash; a finding of an episode already claimed is dropped."""
        kept = []
        for finding in findings:
            if finding.episode:
                fields = self.shared.data.setdefault(finding.owner, {})
                field = claim_field(finding.detector, finding.tenant)
                if fields.get(field) == finding.episode:
                    continue
                fields[field] = finding.episode
            kept.append(finding)
        return kept
