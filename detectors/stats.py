"""Robust statistics of a sample: size, median and median absolute deviation (MAD), and
the settings of a threshold over them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from detectors.tuning import param

MAD_TO_SIGMA = 1.4826  # a normal distribution's sigma is 1.4826 x its MAD


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0.0
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True, slots=True)
class Stats:
    """Robust statistics of a sample: size, median and median absolute deviation."""

    n: int
    median: float
    mad: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats:
        sample = list(values)
        if not sample:
            return NO_STATS
        mid = median(sample)
        return cls(len(sample), mid, median([abs(v - mid) for v in sample]))

    def threshold(self, k: float, min_ratio: float, min_spread: float) -> float:
        """median + k·sigma (from the MAD, at least min_spread), at least min_ratio x median."""
        spread = max(self.mad * MAD_TO_SIGMA, min_spread)
        return max(self.median + k * spread, self.median * min_ratio)


NO_STATS = Stats(0, 0.0, 0.0)


@dataclass(frozen=True)
class RobustThreshold:
    """The settings of a robust threshold over a sample (`Stats.threshold`), for a
    detector's config to inherit (one that differs redeclares its own default)."""

    k: float = param(6.0, "robust standard deviations above the median")
    min_ratio: float = param(4.0, "and at least this many times the median")
    min_spread: float = param(2.0, "floor of the spread (a flat history is not a hair trigger)")

    def robust_threshold(self, sample: Stats) -> float:
        """The sample's threshold under these settings."""
        return sample.threshold(self.k, self.min_ratio, self.min_spread)
