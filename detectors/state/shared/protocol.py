"""The state protocol, declared once: every list the store sends to its Lua scripts or reads
back from them, field by field and by name, and the short keys of what Redis keeps.

- Shared-family ops and queries (`Plan`): `[name, key, *args]`, the fields of one
  NamedTuple below each. The plan helpers give them in that order (`Plan.op(kind,
  ...)`, its arity checked), the in-process twin receives them typed, and each Lua
  function reads them with `local <fields> = unpack(op, 2)`.
- The write call (monitor/service/state/store.py, write.lua): owner rows and their finding rows,
  its reply rows; the confirm call's rows. Lua reads a row with `local <fields> =
  unpack(row)` and builds a reply row as `{<fields>}`.
- Short keys (they save memory in Redis and bytes on the wire): the write envelope, an
  owner's hash fields, an alert record and its page, the owner statuses. The Lua scripts
  get them as constants (`lua_prelude`); the twin and the codec read the same tables.

tests/unit/test_state_protocol.py checks the Lua sources against these declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

# ---------------------------------------------------------------- ops and queries

OPS: dict[str, type] = {}  # op name -> its arguments
QUERIES: dict[str, type] = {}  # query name -> its arguments
NAME: dict[type, str] = {}  # arguments -> the op's or query's name


def op(name: str) -> Callable[[type[T]], type[T]]:
    """Declare the arguments of shared op `name` (a NamedTuple; its first field the key)."""

    def register(args: type[T]) -> type[T]:
        OPS[name], NAME[args] = args, name
        return args

    return register


def query(name: str) -> Callable[[type[T]], type[T]]:
    """Declare the arguments of shared query `name` (a NamedTuple; its first field the key)."""

    def register(args: type[T]) -> type[T]:
        QUERIES[name], NAME[args] = args, name
        return args

    return register


def at(kind: type, field: str) -> int:
    """Where `field` of `kind` sits in its item `[name, key, *args]` (for the hot path)."""
    return 1 + kind._fields.index(field)  # type: ignore[attr-defined]


def read_op(row: list[Any]) -> Any:
    """An op's arguments, by name, from `[name, key, *args]`."""
    return OPS[row[0]]._make(row[1:])  # type: ignore[attr-defined]


def read_query(row: list[Any]) -> Any:
    return QUERIES[row[0]]._make(row[1:])  # type: ignore[attr-defined]


@op("guarded_sum")
class GuardedSumAdd(NamedTuple):
    key: str
    bucket: int
    member: str
    amount: int
    ts_ms: int
    ttl_ms: int


@query("guarded_sum")
class GuardedSumMax(NamedTuple):
    key: str
    end_lo: int
    end_hi: int
    width: int
    keep_from: int
    bucket_ms: int


@op("team_sample")
class TeamSampleAdd(NamedTuple):
    key: str
    field: str
    count: int
    cap: int
    ttl_ms: int


@query("team_sample")
class TeamSampleStats(NamedTuple):
    key: str
    cap: int


@op("team_totals")
class TeamTotalsSet(NamedTuple):
    key: str
    who: str
    day: int
    value: int
    cap: int
    ttl_ms: int


@query("team_totals")
class TeamTotalsPeers(NamedTuple):
    key: str
    since_day: int


@op("team_rates")
class TeamRatesAdd(NamedTuple):
    key: str
    field: str
    end_ms: int
    value: int
    cap: int
    ttl_ms: int


@query("team_rates")
class TeamRatesRecent(NamedTuple):
    key: str
    since_ms: int


@op("team_devices")
class TeamDevicesUsed(NamedTuple):
    key: str
    device: str
    ts_ms: int
    cap: int
    ttl_ms: int


@query("team_devices")
class TeamDevicesSince(NamedTuple):
    key: str
    since_ms: int


@op("channel_seen")
class ChannelSeen(NamedTuple):
    key: str
    event_ms: int
    now_ms: int
    ttl_ms: int


@op("channel_minutes")
class ChannelMinutes(NamedTuple):
    key: str
    minutes: list[int]
    ttl_ms: int


@query("channel_silence")
class ChannelSilence(NamedTuple):
    key: str
    mode: str
    now_ms: int
    silence_ms: int
    rule: list[float]
    since: int
    claim: str
    ttl_ms: int


@op("ledger_events")
class LedgerEvents(NamedTuple):
    key: str
    calls: str
    calls_ttl_ms: int
    calls_cap: int
    expire_at_ms: int
    fields: list[Any]
    bounds: list[int]
    rows: list[list[Any]]


@op("ledger_minutes")
class LedgerMinutes(NamedTuple):
    key: str
    expire_at_ms: int
    bits: list[int]


@op("ledger_dead")
class LedgerDead(NamedTuple):
    key: str
    guard: str
    guard_ttl_ms: int
    guard_cap: int
    expire_at_ms: int
    now_ms: int
    letters: list[list[Any]]


@op("ledger_alerts")
class LedgerAlerts(NamedTuple):
    key: str
    counters: str
    expire_at_ms: int
    max_rows: int
    rows: list[list[Any]]


@op("ledger_snapshot")
class LedgerSnapshot(NamedTuple):
    key: str
    value: str
    expire_at_ms: int


@query("ledger_day")
class LedgerDay(NamedTuple):
    key: str  # the day's counters
    alert_rows: str


@query("ledger_day_minutes")
class LedgerDayMinutes(NamedTuple):
    key: str


@query("ledger_config")
class LedgerConfig(NamedTuple):
    key: str


# ---------------------------------------------------------------- the write and confirm calls


class OwnerRow(NamedTuple):
    """One owner of a write call; its state sliced from the call's blob."""

    key: str
    expected: int  # the version read (-1: no state of its own)
    entry_offset: int  # 0: no state written
    entry_length: int
    snapshot: int  # 1: the entry is a snapshot (it replaces the log)
    ttl_ms: int  # 0: leave the owner's TTL
    findings: list[Any]  # FindingRow each


class FindingRow(NamedTuple):
    """A finding for the alert decision (write.lua's decide)."""

    field: str
    uid: str
    window_end_ms: int
    observed: float
    severity: int
    payload_offset: int
    payload_length: int
    claim: str  # "" for none
    episode: str
    window_start_ms: int


class WriteResult(NamedTuple):
    statuses: str  # one character per owner (STATUS)
    pending: list[Any]  # Pending each
    answers: list[Any]
    lost: int  # 1: the state marker was missing
    repeats: list[Any]  # RepeatRow each


class Pending(NamedTuple):
    """An alert decided and not yet confirmed: publish it, then confirm it."""

    key: str  # its owner
    field: str
    kind: str
    uid: str
    count: int
    first_seen_ms: int
    payload: bytes
    decided_ms: int


class RepeatRow(NamedTuple):
    """A finding folded into an open alert without a page."""

    owner: int
    finding: int  # the finding's index in its owner row, from 1
    uid: str
    count: int
    first_seen_ms: int
    last_seen_ms: int
    severity: int


class ConfirmRow(NamedTuple):
    """An alert Kafka acknowledged (confirm.lua)."""

    key: str
    field: str
    uid: str
    kind: str
    decided_ms: int


# ---------------------------------------------------------------- short keys


class Envelope(NamedTuple):
    token: str = "t"  # the write token of this batch
    now: str = "now"  # decision time (ms)
    suppression: str = "supp"  # (ms)
    alert_ttl: str = "attl"  # how long an alert record outlives its last repeat (ms)
    owners: str = "w"  # OwnerRow each
    ops: str = "s"
    queries: str = "q"
    marker: str = "m"  # the state marker key (optional)
    marker_token: str = "mt"
    keys: str = "k"  # every key the call touches (Redis Cluster)


class Owner(NamedTuple):
    """An owner's hash fields (its alert records are fields named by detector and tenant)."""

    version: str = "v"
    writer: str = "w"  # the token of the batch that wrote it last
    entries: str = "n"  # log entries since the snapshot
    snapshot: str = "s"
    entry: str = "e"  # + the entry's number, from 1
    pending: str = "P"  # the alert fields waiting for Kafka (a JSON list)


class Alert(NamedTuple):
    """An alert record (a JSON object in its owner's hash)."""

    uid: str = "u"
    first: str = "f"  # the first window's end (ms)
    last: str = "l"  # the last window's end
    count: str = "c"
    observed: str = "r"
    severity: str = "s"
    decided: str = "n"  # when last decided (wall clock, ms)
    delivered: str = "d"  # 1 once its first page was confirmed
    window_start: str = "w"  # the first window's start
    page: str = "p"  # the page waiting for Kafka (Page), if any


class Page(NamedTuple):
    kind: str = "k"  # new or update
    payload: str = "x"
    at: str = "t"  # decided at (ms)
    count: str = "c"
    first: str = "f"


class Status(NamedTuple):
    """How an owner's write went."""

    written: str = "0"
    replayed: str = "r"  # written before by this very batch
    conflict: str = "c"  # another writer moved the owner on: nothing done


ENVELOPE, OWNER, ALERT, PAGE, STATUS = Envelope(), Owner(), Alert(), Page(), Status()
ASIDE = "#"  # `<field>#<uid>`: a page set aside for a newer incident, still pending


def expand(record: Mapping[str, Any], keys: NamedTuple) -> dict[str, Any]:
    """A stored record with its fields by name (absent ones left out)."""
    return {name: record[short] for name, short in keys._asdict().items() if short in record}


def compact(record: Mapping[str, Any], keys: NamedTuple) -> dict[str, Any]:
    """A record by name as stored, with its short keys (None values left out)."""
    short = keys._asdict()
    return {short[name]: value for name, value in record.items() if value is not None}


# ---------------------------------------------------------------- for the Lua scripts


def _lua_table(keys: NamedTuple) -> str:
    return "{" + ", ".join(f"{name} = '{short}'" for name, short in keys._asdict().items()) + "}"


def lua_prelude() -> str:
    """The short keys as Lua constants, prepended to write.lua and confirm.lua."""
    return "\n".join(
        [
            "-- generated from detectors/state/shared/protocol.py",
            f"local ENVELOPE = {_lua_table(ENVELOPE)}",
            f"local OWNER = {_lua_table(OWNER)}",
            f"local ALERT = {_lua_table(ALERT)}",
            f"local PAGE = {_lua_table(PAGE)}",
            f"local WRITTEN, REPLAYED, CONFLICT = "
            f"'{STATUS.written}', '{STATUS.replayed}', '{STATUS.conflict}'",
            f"local ASIDE = '{ASIDE}'",
            "",
        ]
    )
