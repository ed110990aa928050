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
from typing import Any, Protocol

# family -> the keys an op or query of that family touches besides its own key (item[1]);
# the store declares them all to Redis (a Redis Cluster requires it)
EXTRA_KEYS: dict[str, Callable[[list[Any]], list[str]]] = {}


class Reply(Protocol):
    """The typed answer of one query, filled from the raw store answer."""

    def fill(self, raw: Any) -> None: ...


class Plan:
    """Shared updates and queries of one batch. `ops[i] = [family, key, *args]`."""

    __slots__ = ("ops", "queries", "replies")

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []
        self.queries: list[list[Any]] = []
        self.replies: list[Reply] = []

    def op(self, family: str, key: str, *args: Any) -> None:
        self.ops.append([family, key, *args])

    def ask(self, reply: Reply, family: str, key: str, *args: Any) -> None:
        """Queue a query; `reply` is filled once the plan has been applied."""
        self.queries.append([family, key, *args])
        self.replies.append(reply)

    def keys(self) -> list[str]:
        """Every key the plan touches (its items' own keys and their families' extra keys)."""
        found: list[str] = []
        for item in (*self.ops, *self.queries):
            found.append(item[1])
            extra = EXTRA_KEYS.get(item[0])
            if extra is not None:
                found.extend(extra(item))
        return found

    def fill(self, answers: list[Any]) -> None:
        for reply, raw in zip(self.replies, answers, strict=True):
            reply.fill(raw)

    def __bool__(self) -> bool:
        return bool(self.ops or self.queries)
