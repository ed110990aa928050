"""Accesses outside the actor's interactions: what orphan_access and recording_access share.

An access to a customer (a view, a download) waits in a pending set until the actor's own
event time is `grace_minutes` past it (its interaction.start may come later on another
channel); it is then outside when no interaction with that customer, started by the
actor, is open or ended less than `recent_minutes` before (a start up to
`start_skew_seconds` after it still counts). Accesses found outside are kept for the
detector's window and counted in its busiest window holding a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from detectors.base import HOUR_MS, MAX_SAMPLES, MINUTE_MS, ActorBatch
from detectors.event import Event
from detectors.state.actor import ActorState
from detectors.state.interactions import Interactions
from detectors.state.timed_members import Member, TimedMembers
from detectors.tuning import param

BOUNDARIES = frozenset({"interaction.start", "interaction.end"})


@dataclass(frozen=True)
class InteractionsConfig:
    """The settings of the judgement of accesses against the actor's interactions."""

    recent_minutes: int = param(
        30, "an interaction ended less than this before an access still covers it (wrap-up)"
    )
    grace_minutes: int = param(
        5,
        "out-of-order bound: an access is judged once the actor's event time is this far past "
        "it (its interaction.start may come later on another channel)",
    )
    start_skew_seconds: int = param(
        60, "an access this shortly before the interaction.start still belongs to it"
    )
    interaction_ttl_hours: int = param(
        12, "how long an interaction (open or ended) is remembered per actor and customer"
    )
    max_customers: int = param(5000, "interactions remembered per actor (least recent go)")

    @property
    def ttl_ms(self) -> int:
        return self.interaction_ttl_hours * HOUR_MS


class Uncovered:
    """One actor's interactions, accesses waiting for their grace period, and accesses
    found outside its interactions."""

    __slots__ = ("interactions", "outside", "pending")

    def __init__(self) -> None:
        self.interactions = Interactions()
        self.pending = TimedMembers()  # (event id, customer, resource)
        self.outside = TimedMembers()  # (event id, resource)

    def boundary(self, event: Event, cap: int) -> None:
        """An interaction.start or interaction.end of the actor (BOUNDARIES)."""
        customer = event.customer_id or ""
        if event.action == "interaction.start":
            self.interactions.start(customer, event.ts_ms, cap)
        else:
            self.interactions.end(customer, event.ts_ms, cap)

    def wait(self, event: Event, cap: int) -> None:
        """An access with a customer waits for its grace period."""
        member = (event.event_id, event.customer_id or "", event.resource_id or "")
        self.pending.add(member, event.ts_ms, cap)

    def judge(
        self, state: ActorState, cfg: InteractionsConfig, window_ms: int, cap: int
    ) -> tuple[int, int, list[Member]]:
        """Accesses past their grace period on the actor's clock are judged (also those
        read after its later events) and those outside are kept (`cap` at most, from the
        horizon on); interactions older than their ttl are forgotten. The busiest window
        holding a new outside access: (its count, its end, the first new ones); (0, 0, [])
        when none is new."""
        cutoff = state.clock - cfg.grace_minutes * MINUTE_MS
        recent, skew = cfg.recent_minutes * MINUTE_MS, cfg.start_skew_seconds * 1000
        found: list[tuple[int, Member]] = []
        for (event_id, customer, resource), ts in self.pending.pop_until(cutoff):
            if not self.interactions.covered(customer, ts, recent, skew):
                self.outside.add((event_id, resource), ts, cap)
                found.append((ts, (event_id, resource)))
        self.outside.trim(min(cutoff, state.horizon) - window_ms)
        self.interactions.forget_before(min(state.clock, state.horizon) - cfg.ttl_ms)
        if not found:
            return 0, 0, []
        times = [ts for ts, _ in found]
        best, best_end = self.outside.busiest(min(times), max(times) + window_ms, window_ms)
        return best, best_end, [m for _, m in found[:MAX_SAMPLES]]

    def dump(self) -> list[Any]:
        return [self.interactions.dump(), self.pending.dump(), self.outside.dump()]

    @classmethod
    def load(cls, data: list[Any]) -> Self:
        new = cls()
        new.interactions = Interactions.load(data[0])
        new.pending = TimedMembers.load(data[1])
        new.outside = TimedMembers.load(data[2])
        return new


def outside_shown(group: ActorBatch, members: list[Member]) -> dict[str, Any]:
    """What a finding about outside accesses shows: the first new ones' event ids and
    resources, and the batch's channels and team."""
    return {
        "sample_event_ids": tuple(event_id for event_id, _ in members),
        "channels": tuple(sorted(group.channels)),
        "team": group.team,
        "sample_records": tuple(resource for _, resource in members if resource),
    }
