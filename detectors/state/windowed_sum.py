"""Windowed sum: amounts per time bucket, and the largest total of any window of buckets.

Used where a detector counts something in a sliding event-time window (records
exported, failed logins, off-shift events). Buckets below the floor are dropped and
amounts for them are ignored, so memory stays bounded by the window and lateness.
"""

from __future__ import annotations

from typing import Any

from detectors.state.flat import dump_flat, load_flat


class WindowedSum:
    """Per-bucket amounts above a floor."""

    __slots__ = ("buckets", "floor")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.floor = -1

    def add(self, bucket: int, amount: int) -> None:
        """Add `amount` to `bucket` (ignored below the floor: that window is closed)."""
        if bucket >= self.floor:
            self.buckets[bucket] = self.buckets.get(bucket, 0) + amount

    def max_window(self, end_lo: int, end_hi: int, width: int, keep_from: int) -> int:
        """The largest total of `width` consecutive buckets over windows ending in
        [end_lo, end_hi]; the floor rises to `keep_from`, dropping older buckets."""
        buckets = self.buckets
        if keep_from > self.floor:
            self.floor = keep_from
            for bucket in [b for b in buckets if b < keep_from]:
                del buckets[bucket]
        best = 0
        for end in range(end_lo, end_hi + 1):
            total = 0
            for bucket in range(end - width + 1, end + 1):
                total += buckets.get(bucket, 0)
            if total > best:
                best = total
        return best

    def dump(self) -> list[Any]:
        return dump_flat(self.buckets, self.floor)

    @classmethod
    def load(cls, data: list[Any]) -> WindowedSum:
        new = cls()
        new.floor, new.buckets = data[0], load_flat(data)
        return new
