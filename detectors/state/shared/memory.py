"""The in-process twin of the shared families: the same answers as their Lua side, for
unit tests, replays without Redis and the parity test (tests/integration)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from detectors.state.shared import protocol
from detectors.state.shared.plan import Plan

OpHandler = Callable[["SharedMemory", Any], None]
QueryHandler = Callable[["SharedMemory", Any], Any]
OPS: dict[str, OpHandler] = {}
QUERIES: dict[str, QueryHandler] = {}


def handles_op(args: type) -> Callable[[OpHandler], OpHandler]:
    """Register the twin of the op whose arguments are `args` (protocol.py): it receives
    them typed."""

    def register(handler: OpHandler) -> OpHandler:
        OPS[protocol.NAME[args]] = handler
        return handler

    return register


def handles_query(args: type) -> Callable[[QueryHandler], QueryHandler]:
    def register(handler: QueryHandler) -> QueryHandler:
        QUERIES[protocol.NAME[args]] = handler
        return handler

    return register


def slack(cap: int) -> int:
    """write.lua's slack: how far past its cap a capped family may grow before trimming."""
    return max(1, cap // 4)


def keep_newest(fields: dict[str, Any], cap: int, over: int, order: Callable[[Any], Any]) -> None:
    """write.lua's keep_newest: once the hash holds more than `cap + over` fields, only the
    `cap` whose `order(value)` is largest stay (ties: the larger field name stays)."""
    if len(fields) <= cap + over:
        return
    for stale in sorted(fields, key=lambda f: (order(fields[f]), f))[: len(fields) - cap]:
        del fields[stale]


def pair(text: str) -> tuple[int, int]:
    """write.lua's pair: a field's value "<time>:<value>" (team_totals, team_rates) as two
    integers."""
    first, second = text.split(":")
    return int(first), int(second)


def time_of(text: str) -> int:
    """write.lua's time_of: the time of a "<time>:<value>" field's value."""
    return pair(text)[0]


class SharedMemory:
    """Shared state in process: one value per key, shaped by its family."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.status: Mapping[str, str] = {}  # owner key -> how its write went in this call

    def apply(self, plan: Plan, status: Mapping[str, str] | None = None) -> list[Any]:
        """Apply the plan's updates, then answer its queries (raw answers, in order).
        `status`: the owners written in the same call ("0" written, "c" conflict), as
        write.lua's STATUS."""
        self.status = status or {}
        for op in plan.ops:
            OPS[op[0]](self, protocol.read_op(op))
        return [QUERIES[q[0]](self, protocol.read_query(q)) for q in plan.queries]
