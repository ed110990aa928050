"""A plan of updates and queries on shared state (state no single actor owns: a team's
sample, a source address's failures, a channel's traffic), applied by the store in the
same call as the batch's actor states.

Shared updates must be idempotent (keyed by event id, or by actor and window), because
a re-delivered batch plans them again; queries never change what a later query of the
same data answers. A query returns a typed reply whose fields are filled when the plan
has been applied: detectors never read an answer by position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from detectors.state.shared.protocol import NAME

# op or query name -> the keys it touches besides its own (item[1], its `key`), from its item
# (fields found with protocol.at); the store declares them all to Redis (a Redis Cluster
# requires it)
EXTRA_KEYS: dict[str, Callable[[list[Any]], list[str]]] = {}


class Reply(Protocol):
    """The typed answer of one query, filled from the raw store answer."""

    def fill(self, raw: Any) -> None: ...


R = TypeVar("R", bound=Reply)


class Plan:
    """Shared updates and queries of one batch, as the store sends them: `[name, key,
    *args]` (protocol.item)."""

    __slots__ = ("ops", "queries", "replies")

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []
        self.queries: list[list[Any]] = []
        self.replies: list[Reply] = []

    def op(self, kind: type, *args: Any) -> None:
        """Queue an update: `kind` declares its arguments (protocol.py), given in its
        fields' order."""
        if len(args) != len(kind._fields):  # type: ignore[attr-defined]
            raise TypeError(f"{kind.__name__} takes {kind._fields}, got {args!r}")  # type: ignore[attr-defined]
        self.ops.append([NAME[kind], *args])

    def ask(self, reply: R, kind: type, *args: Any) -> R:
        """Queue a query (`kind`: as for op); `reply` (returned) is filled once the plan
        has been applied."""
        if len(args) != len(kind._fields):  # type: ignore[attr-defined]
            raise TypeError(f"{kind.__name__} takes {kind._fields}, got {args!r}")  # type: ignore[attr-defined]
        self.queries.append([NAME[kind], *args])
        self.replies.append(reply)
        return reply

    def fill(self, answers: list[Any]) -> None:
        for reply, raw in zip(self.replies, answers, strict=True):
            reply.fill(raw)

    def __bool__(self) -> bool:
        return bool(self.ops or self.queries)
