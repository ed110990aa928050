"""The store of detector state: Redis (a single node or a Redis Cluster) for the worker,
an in-process twin for replays and tests."""

from monitor.state.memory_store import MemoryStore
from monitor.state.store import RedisStore, connect

__all__ = ["MemoryStore", "RedisStore", "connect", "redact_url"]


def redact_url(url: str) -> str:
    """`url` without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}" if user else f"{scheme}{sep}***@{host}"
