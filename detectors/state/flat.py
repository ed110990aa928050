"""The snapshot layout the actor state families share: a few head values (a floor, …),
then a mapping's keys and values in turn: `[head…, key1, value1, key2, value2, …]`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def dump_flat(mapping: Mapping[Any, Any], *head: Any) -> list[Any]:
    """The head values, then the mapping's items, flat."""
    return [*head, *(x for item in mapping.items() for x in item)]


def load_flat(data: Sequence[Any], heads: int = 1) -> dict[Any, Any]:
    """The mapping back from a `dump_flat` list with `heads` head values."""
    return dict(zip(data[heads::2], data[heads + 1 :: 2], strict=True))
