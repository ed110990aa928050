"""A Redis of the benchmark's own on a free loopback port (durable like production:
append-only file, fsync every second), so its CPU and command counts are blindar's alone."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.harness import free_port, wait_until


@dataclass
class RedisServer:
    """A running private redis-server, its URL and its data folder (removed on stop)."""

    proc: subprocess.Popen[bytes]
    url: str
    folder: Path

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis(folder: Path) -> RedisServer:
    port = free_port()
    folder = folder / f"bench-redis-{port}"
    folder.mkdir(parents=True, exist_ok=True)
    args = ["--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)]
    args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    proc = subprocess.Popen(
        ["redis-server", *args],
        stdout=(folder / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = RedisServer(proc, f"redis://127.0.0.1:{port}/0", folder)
    wait_until(lambda: _pings(server), 30, 0.1, "the benchmark's redis-server")
    return server


def _pings(server: RedisServer) -> bool:
    try:
        return bool(server.client().ping())
    except redis.RedisError:
        return False


def redis_usage(client: redis.Redis) -> tuple[float, int]:
    """(CPU seconds, commands served) by Redis so far; the benchmark's own INFO calls are
    not counted."""
    cpu = client.info("cpu")
    stats = client.info("commandstats")
    commands = sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")
    return float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]), commands


def delete_keys(client: redis.Redis, prefix: str) -> int:
    """Delete every key under `prefix` (a run's namespace); returns how many."""
    if not prefix:
        raise ValueError("refusing to delete keys without a prefix")
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}*", count=5000):
        batch.append(key)
        if len(batch) == 5000:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted
