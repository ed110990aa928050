"""State families for the context detectors (orphan_access, new_device, unusual_location,
cross_tenant, exfil_sequence, channel_silence): Plan helpers and in-process handlers.

Each family has a twin in `monitor/lua/b_<family>.lua`; the two must give the same
answers (tests/integration/test_context_state.py compares them on a real Redis).
Kinds start with `B`. Every write is idempotent: min/max of timestamps, set members
keyed by event id, or "keep the newest" values.

- BI op: an interaction boundary of (actor, customer): start keeps the earliest and the
  latest start, end keeps the latest end.
- BP op / BO query: views waiting for their grace period; the query judges those at or
  before `cutoff` against the interactions, records orphans (by event id) and returns
  the largest orphan count of any window ending or starting at a newly found orphan.
- BN query: first-seen check of several members (device, IP, country) with warm-up, cap
  and TTL; answers 0 known, 1 new during warm-up, 2 new after warm-up.
- BL query: swap the actor's last located point for a newer one; answers the old one.
- BA op / BX query: an actor's assigned tenants (newest wins); the query judges accesses
  against them and counts violations in a window.
- BE op / query: timed members (sensitive views, exits); the query finds the exit in a
  range preceded by the most views within the window.
- BC op / query: per channel latest event and processing time; the query claims channels
  silent for their silence period, once per silence episode, when that silence is unusual
  for the clock span (see BM).
- BM op: per channel and UTC day, the minutes that had traffic (a bitmap in Redis).
"""

from __future__ import annotations

from typing import Any

from detectors.state import MemoryState, memory_op, memory_query

SEP = "\x1f"  # field separator inside stored members and values


def _hash(state: MemoryState, key: str) -> dict[str, Any]:
    return state.data.setdefault(key, {})


def _zset(state: MemoryState, key: str) -> dict[str, int]:
    return state.data.setdefault(key, {})


def _range(zset: dict[str, int], lo: float, hi: float) -> list[tuple[str, int]]:
    """Members with lo <= score <= hi, ordered like ZRANGEBYSCORE (score, then member)."""
    return sorted(((m, s) for m, s in zset.items() if lo <= s <= hi), key=lambda x: (x[1], x[0]))


def _trim(zset: dict[str, int], below: float) -> None:
    for member in [m for m, s in zset.items() if s < below]:
        del zset[member]


# ---------------------------------------------------------------- BI / BP / BO: orphan views


@memory_op("BI")
def _interaction(state: MemoryState, op: list[Any]) -> None:
    _, key, customer, phase, ts, _ttl = op
    fields = _hash(state, key)
    if phase == "s":
        fields[f"s:{customer}"] = min(fields.get(f"s:{customer}", ts), ts)
        fields[f"l:{customer}"] = max(fields.get(f"l:{customer}", ts), ts)
    else:
        fields[f"e:{customer}"] = max(fields.get(f"e:{customer}", ts), ts)


@memory_op("BP")
def _pending(state: MemoryState, op: list[Any]) -> None:
    _, key, member, ts, _ttl = op
    _zset(state, key).setdefault(member, ts)


def covered(fields: dict[str, Any], customer: str, ts: int, recent_ms: int, skew_ms: int) -> bool:
    """Whether an interaction with `customer` was open at ts, or ended at most recent_ms before."""
    first = fields.get(f"s:{customer}")
    if first is None or first > ts + skew_ms:
        return False
    end = fields.get(f"e:{customer}")
    return end is None or fields[f"l:{customer}"] > end or end >= ts - recent_ms


@memory_query("BO")
def _judge_orphans(state: MemoryState, q: list[Any]) -> list[Any]:
    _, ixkey, pendkey, orphkey, cutoff, recent_ms, skew_ms, window_ms, _ttl = q
    pending = _zset(state, pendkey)
    due = _range(pending, float("-inf"), cutoff)
    for member, _ in due:
        del pending[member]
    fields = _hash(state, ixkey)
    orphans = _zset(state, orphkey)
    found: list[tuple[int, str]] = []
    for member, ts in due:
        event_id, customer, record = member.split(SEP)
        if not covered(fields, customer, ts, recent_ms, skew_ms):
            orphans.setdefault(event_id + SEP + record, ts)
            found.append((ts, event_id + SEP + record))
    _trim(orphans, cutoff - window_ms)
    return _best_window(orphans, found, window_ms)


def _best_window(orphans: dict[str, int], found: list[tuple[int, str]], window_ms: int) -> list:
    best, best_end = 0, 0
    for ts, _ in found:  # windows ending and starting at each new orphan
        for lo, hi in ((ts - window_ms, ts), (ts, ts + window_ms)):
            count = len(_range(orphans, lo, hi))
            if count > best:
                best, best_end = count, hi
    return [best, best_end, *[member for _, member in found[:5]]]


# ---------------------------------------------------------------- BN: first-seen sets


@memory_query("BN")
def _first_seen(state: MemoryState, q: list[Any]) -> list[int]:
    _, setkey, firstkey, warmup_ms, cap, ttl_ms, items = q
    seen = _zset(state, setkey)
    newest = max(ts for _, ts in items)
    oldest = min(ts for _, ts in items)
    first = state.data.get(firstkey)
    if first is None or oldest < first:
        first = state.data[firstkey] = oldest
    _trim(seen, newest - ttl_ms)
    statuses = []
    for member, ts in items:
        if member in seen:
            seen[member] = max(seen[member], ts)
            statuses.append(0)
        else:
            seen[member] = ts
            statuses.append(2 if ts - first >= warmup_ms else 1)
    if len(seen) > cap:
        for member, _ in sorted(seen.items(), key=lambda x: (x[1], x[0]))[: len(seen) - cap]:
            del seen[member]
    return statuses


# ---------------------------------------------------------------- BL: last located point


def _ts_of(value: str) -> int:
    return int(value.split(SEP, 1)[0])


@memory_query("BL")
def _swap_location(state: MemoryState, q: list[Any]) -> str | None:
    _, key, ts, value, _ttl = q
    old = state.data.get(key)
    if old is None or ts >= _ts_of(old):
        state.data[key] = value
    return old


# ---------------------------------------------------------------- BA / BX: assigned tenants


@memory_op("BA")
def _assign(state: MemoryState, op: list[Any]) -> None:
    _, key, ts, tenants, _ttl = op
    old = state.data.get(key)
    if old is None or ts >= _ts_of(old):
        state.data[key] = f"{ts}{SEP}{tenants}"


@memory_query("BX")
def _foreign_access(state: MemoryState, q: list[Any]) -> list[Any]:
    _, akey, vkey, window_ms, _ttl, known, candidates = q
    stored = state.data.get(akey)
    violations = list(known)
    if stored is not None:
        assigned = set(stored.split(SEP)[1:])
        violations += [[m, ts] for m, ts, tenant in candidates if tenant not in assigned]
    zset = _zset(state, vkey)
    for member, ts in violations:
        zset.setdefault(member, ts)
    if not violations:
        return [0, 0, stored]
    end = max(ts for _, ts in violations)
    _trim(zset, end - window_ms)
    count = len(_range(zset, end - window_ms, end))
    return [count, end, stored]


# ---------------------------------------------------------------- BE: sequences


@memory_op("BE")
def _timed_member(state: MemoryState, op: list[Any]) -> None:
    _, key, member, ts, _ttl = op
    _zset(state, key).setdefault(member, ts)


@memory_query("BE")
def _sequence(state: MemoryState, q: list[Any]) -> list[Any]:
    _, viewkey, exitkey, lo, hi, window_ms, keep_from = q
    views, exits = _zset(state, viewkey), _zset(state, exitkey)
    _trim(views, keep_from)
    _trim(exits, keep_from)
    best: list[Any] = [0]
    for member, ts in _range(exits, lo, hi):
        before = _range(views, ts - window_ms, ts)
        if len(before) > best[0]:
            best = [len(before), ts, member, *[m for m, _ in before[-5:]]]
    return best


# ---------------------------------------------------------------- BC: channel silence


@memory_op("BC")
def _channel_seen(state: MemoryState, op: list[Any]) -> None:
    _, key, channel, event_ts, now_ms, _ttl = op
    fields = _hash(state, key)
    fields[f"e:{channel}"] = max(fields.get(f"e:{channel}", event_ts), event_ts)
    fields[f"p:{channel}"] = max(fields.get(f"p:{channel}", now_ms), now_ms)


DAY_MIN = 1440
WEEK_DAYS = 7


@memory_op("BM")
def _channel_minutes(state: MemoryState, op: list[Any]) -> None:
    _, base, channel, minutes, _ttl = op
    for minute in minutes:
        state.data.setdefault(f"{base}{channel}:{minute // DAY_MIN}", set()).add(minute % DAY_MIN)


def _any_traffic(state: MemoryState, base: str, channel: str, lo: int, hi: int) -> bool:
    """Whether any minute in [lo, hi] (minutes since the epoch) had traffic."""
    for minute in range(lo, hi + 1):
        if minute % DAY_MIN in state.data.get(f"{base}{channel}:{minute // DAY_MIN}", ()):
            return True
    return False


def _usual(
    state: MemoryState, base: str, channel: str, now: int, silence_ms: int, rule: list[float]
) -> tuple[int, int, bool]:
    """(busy days, days with traffic, usual?) for the span [now - silence, now]; the same
    weekday a week before, with traffic but none in the span, vetoes."""
    days, min_days, share = rule
    if share <= 0:
        return 0, 0, True
    now_min, span = now // 60_000, -(-silence_ms // 60_000)
    busy = seen = 0
    week_quiet = False
    for d in range(1, int(days) + 1):
        hi = now_min - d * DAY_MIN
        if f"{base}{channel}:{hi // DAY_MIN}" in state.data:
            seen += 1
            if _any_traffic(state, base, channel, hi - span, hi):
                busy += 1
            elif d == WEEK_DAYS:
                week_quiet = True
    return busy, seen, seen < min_days or (busy >= share * seen and not week_quiet)


@memory_query("BC")
def _silent_channels(state: MemoryState, q: list[Any]) -> list[Any]:
    _, key, mode, now, default_ms, items, _ttl, base, rule, since = q
    fields = _hash(state, key)
    silence = {channel: ms for channel, ms in items}
    for name in sorted(fields):
        if name.startswith("e:"):
            silence.setdefault(name[2:], default_ms)
    out: list[Any] = []
    for channel in sorted(silence):
        last = _last_seen(fields, channel, mode, now)
        if last is not None and last < since:
            last = since
        if last is None or silence[channel] <= 0 or now - last < silence[channel]:
            continue
        if fields.get(f"a:{channel}") == str(last):
            continue
        busy, seen, usual = _usual(state, base, channel, now, silence[channel], rule)
        if usual:
            fields[f"a:{channel}"] = str(last)
            out += [channel, last, busy, seen]
    return out


def _last_seen(fields: dict[str, Any], channel: str, mode: str, now: int) -> int | None:
    """Event mode: the channel's latest event time. Live mode: the later of that and its
    latest processing time; a channel never seen counts from when it was first watched."""
    event = fields.get(f"e:{channel}")
    if mode == "e":
        return event
    processed = fields.get(f"p:{channel}")
    if event is None and processed is None:
        return fields.setdefault(f"w:{channel}", now)
    return max(v for v in (event, processed) if v is not None)
