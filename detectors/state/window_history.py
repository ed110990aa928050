"""Window history: an actor's counts per tumbling window, and a capped history of the
windows that closed (only windows with activity exist, so the history describes the
actor at work). Closed windows are handed back so a detector can share them with its
team's sample (a shared family, see detectors/state/shared/team_sample.py)."""

from __future__ import annotations

from typing import Any

from detectors.state.flat import dump_flat, load_flat
from detectors.stats import Stats


class WindowHistory:
    """Open windows (window number -> count) above a floor; closed counts, newest first."""

    __slots__ = ("_stats", "floor", "history", "windows")

    def __init__(self) -> None:
        self.windows: dict[int, int] = {}
        self.floor = -1
        self.history: list[int] = []
        self._stats: Stats | None = None  # of the history, until it changes

    def stats(self) -> Stats:
        """Size, median and MAD of the closed windows' counts (kept until one closes)."""
        if self._stats is None:
            self._stats = Stats.of(self.history)
        return self._stats

    def add(self, window: int, amount: int) -> None:
        """Count `amount` in `window` (ignored once the window has closed)."""
        if window >= self.floor:
            self.windows[window] = self.windows.get(window, 0) + amount

    def busiest(self, lo: int, hi: int) -> tuple[int, int]:
        """(largest count, its window) among windows lo..hi (lo when all are empty)."""
        current, at = 0, lo
        windows = self.windows
        for window in range(lo, hi + 1):
            count = windows.get(window, 0)
            if count > current:
                current, at = count, window
        return current, at

    def close_below(self, floor: int, cap: int) -> list[tuple[int, int]]:
        """Close windows below `floor`: their counts join the history (capped at `cap`);
        returns the closed (window, count) pairs, oldest first."""
        if floor <= self.floor:
            return []
        self.floor = floor
        closed = sorted((w, c) for w, c in self.windows.items() if w < floor)
        for window, count in closed:
            del self.windows[window]
            self.history.insert(0, count)
        del self.history[cap:]
        self._stats = None
        return closed

    def dump(self) -> list[Any]:
        return dump_flat(self.windows, self.floor, self.history)

    @classmethod
    def load(cls, data: list[Any]) -> WindowHistory:
        new = cls()
        new.floor, new.history = data[0], list(data[1])
        new.windows = load_flat(data, heads=2)
        return new
