"""Exceptions shared by stages that must not import each other."""

from __future__ import annotations


class StateUnavailable(Exception):
    """The state store cannot answer now (an outage: OOM, READONLY, LOADING, BUSY, failover…).

    Never a reason to dead-letter: the whole batch is retried with backoff until the store
    answers, and its input stays unacknowledged meanwhile.
    """
