"""The store of detector state: Redis (a single node or a Redis Cluster) for the worker,
an in-process twin for replays and tests."""

from monitor.service.state.memory_store import MemoryStore
from monitor.service.state.store import RedisStore, connect

__all__ = ["MemoryStore", "RedisStore", "connect"]
