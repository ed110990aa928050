"""Processes under measurement: start them with an environment, read CPU and RSS from
/proc, stop them by their own process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from monitor.service.settings import REPO_ROOT, Settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def env_for(settings: Settings, group: str, redis_prefix: str, port: int) -> dict[str, str]:
    """A blindar worker's environment: its namespace, group, Redis prefix and web port."""
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "REDIS_URL": settings.redis_url,
            "BLINDAR_NAMESPACE": settings.namespace,
            "BLINDAR_GROUP_ID": group,
            "BLINDAR_REDIS_PREFIX": redis_prefix,
            "BLINDAR_WEB_PORT": str(port),
            "BLINDAR_CONFIG_DIR": str(settings.config_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start(
    args: list[str], env: dict[str, str], log: Path, python: str | Path = sys.executable
) -> subprocess.Popen[bytes]:
    """`python ARGS` from the repository root, in a process group of its own."""
    return subprocess.Popen(
        [str(python), *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def worker(
    settings: Settings, group: str, port: int, log: Path, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A `blindar worker` in consumer group `group`, its Redis keys under "<group>.", its
    /metrics on `port`."""
    env = env_for(settings, group, f"{group}.", port)
    env.update(extra or {})
    return start(["-m", "monitor.cli", "worker"], env, log)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu_seconds(pid: int, by_id: bool = False) -> dict[str, float]:
    """User + system CPU so far of each thread of a process, summed by thread name, or
    per thread as "name/tid" (/proc/PID/task/*/stat; a thread that ended is no longer
    counted). Threads a process starts inherit its name unless they set their own."""
    spent: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            head, _, tail = (task / "stat").read_text().rpartition(")")
        except OSError:  # the thread ended
            continue
        name = head.split("(", 1)[1] + (f"/{task.name}" if by_id else "")
        fields = tail.split()
        spent[name] = spent.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return spent


def rocksdb_cpu_seconds(pid: int) -> float:
    """CPU so far of a process's RocksDB background threads (flush and compaction, named
    rocksdb:…): the store's own work, as Redis's process is blindar's."""
    spent = thread_cpu_seconds(pid)
    return sum(cpu for name, cpu in spent.items() if name.lower().startswith("rocksdb"))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
