"""The cyclic garbage collector's settings for a worker process."""

from __future__ import annotations

import gc

# A batch allocates thousands of short-lived containers (decoded events, each detector's
# per-batch groups, the plan, the writes) that reference counting frees; with the default
# young-generation threshold (700) the cyclic collector runs dozens of times per batch and
# walks them while they are alive. Raised, it runs a few times per batch: in-process
# (bench/pipeline_profile.py, realistic regime) 287 -> 230 µs of worker CPU per event.
# The actors' cached states, long-lived, are frozen once a minute (monitor/service/app.py).
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Apply GC_THRESHOLDS (the worker, and the benchmark's peers that stand for it)."""
    gc.set_threshold(*GC_THRESHOLDS)
