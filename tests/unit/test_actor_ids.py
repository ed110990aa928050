"""Dedup of an actor's events (detectors/state/actor.py): by event id together with a
digest of the event's content. A re-delivery is a duplicate; a reused id with other
content is a new event, applied and reported; the remembered ids have a count cap."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import orjson

from detectors.event import Event
from detectors.state.actor import ActorState, content_digest
from monitor.service.settings import REPO_ROOT

T0 = 1_780_000_000_000
HOUR = 3_600_000


def event(event_id: str, ts_ms: int = T0, **fields: object) -> Event:
    base: dict[str, object] = {
        "tenant": "acme",
        "channel": "chat",
        "actor_id": "agent-1",
        "action": "record.view",
        "resource_id": "r-1",
    }
    return Event(event_id=event_id, ts_ms=ts_ms, **{**base, **fields})  # type: ignore[arg-type]


def admit(state: ActorState, events: list[Event], max_ids: int = 50_000) -> tuple:
    reused: list[Event] = []
    fresh, duplicates, late = state.admit(events, T0 - HOUR, HOUR, max_ids, reused)
    return fresh, duplicates, late, reused


def reloaded(state: ActorState) -> ActorState:
    return ActorState.load(state.actor, orjson.loads(orjson.dumps(state.dump())), {})


def test_a_redelivery_is_a_duplicate() -> None:
    state = ActorState("agent-1")
    first = event("e-1")
    assert admit(state, [first]) == ([first], 0, [], [])
    assert admit(state, [first]) == ([], 1, [], [])
    # the same bytes decoded again are an equal event, even in another process
    assert admit(reloaded(state), [dataclasses.replace(first)]) == ([], 1, [], [])


def test_a_reused_id_with_other_content_is_applied_and_reported() -> None:
    state = ActorState("agent-1")
    first, other = event("e-1"), event("e-1", resource_id="r-2")
    admit(state, [first])
    assert admit(state, [other]) == ([other], 0, [], [other])


def test_both_contents_of_a_reused_id_stay_recognised_also_after_a_snapshot() -> None:
    state = ActorState("agent-1")
    first, other = event("e-1"), event("e-1", ts_ms=T0 + 5, records=40)
    admit(state, [first, other])
    for current in (state, reloaded(state)):
        assert admit(current, [other, first]) == ([], 2, [], [])


def test_a_trusted_value_changing_between_deliveries_is_still_a_redelivery() -> None:
    """Trusted values (team, tenants, type) replace the event's own at decode, and the
    assignments may be reloaded between two deliveries of the same message."""
    state = ActorState("agent-1")
    admit(state, [event("e-1", actor_team="t-1")])
    again = event("e-1", actor_team="t-2", trusted_team="t-2", assignment_source="file")
    assert admit(state, [again]) == ([], 1, [], [])


def test_a_snapshot_stored_before_digests_still_loads_and_dedups_by_id() -> None:
    old = {"horizon": T0 - HOUR, "ids": ["e-1", T0, "e-2", T0 + 1], "slots": {}}
    state = ActorState.load("agent-1", old, {})
    assert admit(state, [event("e-1"), event("e-2", resource_id="r-9")]) == ([], 2, [], [])
    fresh = event("e-3")
    assert admit(state, [fresh]) == ([fresh], 0, [], [])


def test_remembered_ids_are_capped_and_the_oldest_go_first() -> None:
    state = ActorState("agent-1")
    events = [event(f"e-{i}", ts_ms=T0 + i) for i in range(10)]
    for e in events:
        admit(state, [e], max_ids=4)
    assert len(state.ids) == 4
    assert list(state.ids) == ["e-6", "e-7", "e-8", "e-9"]
    # a remembered one is still a duplicate; a forgotten one counts again (documented)
    assert admit(state, [events[9]], max_ids=4)[1] == 1
    assert admit(state, [events[0]], max_ids=4)[0] == [events[0]]


def test_contents_kept_per_reused_id_are_bounded() -> None:
    state = ActorState("agent-1")
    for n in range(100):
        admit(state, [event("e-1", records=n)])
    assert len(state.ids["e-1"]) == 2 * 16


def test_the_digest_is_the_same_in_another_process() -> None:
    """Not Python's hash(): that one is salted per process."""
    probe = (
        "from tests.unit.test_actor_ids import event\n"
        "from detectors.state.actor import content_digest\n"
        "print(content_digest(event('e-1')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "random"},
    )
    assert int(out.stdout) == content_digest(event("e-1"))
    assert content_digest(event("e-1", bytes=1)) != content_digest(event("e-1"))


def replayed(snapshot: ActorState | None, batches: list[tuple[int, list[Event]]]) -> ActorState:
    """An actor as the store rebuilds it (monitor/detection.py restore): its snapshot,
    then each logged batch's applied events at the horizon they were applied at."""
    state = reloaded(snapshot) if snapshot else ActorState("agent-1")
    for horizon, fresh in batches:
        state.admit(fresh, horizon, HOUR)
    return state


def test_ids_read_back_from_the_log_are_remembered_in_the_same_order() -> None:
    """Events of one batch arriving out of event-time order (two sources of one actor
    with the same times): the log holds them in event-time order, and the ids kept in
    memory must be in that order too (the cap forgets the first ones)."""
    kept, log = ActorState("agent-1"), []
    for k in range(3):
        batch = [event(f"{v}-{n}", T0 + n) for v in ("a", "b") for n in range(4 * k, 4 * k + 4)]
        batch.append(event(f"a-{4 * k}", T0 + 4 * k + 9, records=7))  # a reused id, later
        fresh, _, _, _ = admit(kept, batch)
        log.append((T0 - HOUR, fresh))
    assert list(kept.ids)[:4] == ["a-0", "b-0", "a-1", "b-1"]
    assert orjson.dumps(replayed(None, log).dump()) == orjson.dumps(kept.dump())


def test_a_state_read_back_from_a_snapshot_forgets_ids_at_the_same_moment() -> None:
    """The count of events admitted since the ids were last pruned is in the snapshot:
    without it, the one read back prunes later than the one in memory."""
    kept = ActorState("agent-1")
    admit(kept, [event(f"a-{n}", T0 + n) for n in range(40)])
    snapshot = reloaded(kept)
    later = [event(f"b-{n}", T0 + 3 * HOUR + n) for n in range(30)]
    fresh, _, _ = kept.admit(later, T0 + 2 * HOUR, HOUR)
    assert len(kept.ids) == 30  # 70 admitted since the last pass: the a-ids are forgotten
    read_back = replayed(snapshot, [(T0 + 2 * HOUR, fresh)])
    assert orjson.dumps(read_back.dump()) == orjson.dumps(kept.dump())
