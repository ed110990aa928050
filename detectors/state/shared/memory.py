"""The in-process twin of the shared families: the same answers as their Lua side, for
unit tests, replays without Redis and the parity test (tests/integration)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from detectors.state.shared.plan import Plan

OpHandler = Callable[["SharedMemory", list[Any]], None]
QueryHandler = Callable[["SharedMemory", list[Any]], Any]
OPS: dict[str, OpHandler] = {}
QUERIES: dict[str, QueryHandler] = {}


def handles_op(family: str) -> Callable[[OpHandler], OpHandler]:
    def register(handler: OpHandler) -> OpHandler:
        OPS[family] = handler
        return handler

    return register


def handles_query(family: str) -> Callable[[QueryHandler], QueryHandler]:
    def register(handler: QueryHandler) -> QueryHandler:
        QUERIES[family] = handler
        return handler

    return register


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
            OPS[op[0]](self, op)
        return [QUERIES[query[0]](self, query) for query in plan.queries]
