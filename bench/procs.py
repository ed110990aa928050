"""Processes under measurement: start with the worker's environment, read CPU and RSS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from monitor.settings import REPO_ROOT, Settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def env_for(settings: Settings, group: str, redis_prefix: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "REDIS_URL": settings.redis_url,
            "BLINDAR_NAMESPACE": settings.namespace,
            "BLINDAR_GROUP_ID": group,
            "BLINDAR_REDIS_PREFIX": redis_prefix,
            "BLINDAR_WEB_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def worker(settings: Settings, group: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """A `blindar worker` in consumer group `group`, its Redis keys under "<group>.", its
    /metrics on `port`."""
    return start(["-m", "monitor.cli", "worker"], env_for(settings, group, f"{group}.", port), log)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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


def wait_line(log: Path, prefix: str, proc: subprocess.Popen[bytes], timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if prefix in line:
                return line[line.index(prefix) :].strip()
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name}: process exited early")
        time.sleep(0.2)
    raise RuntimeError(f"{log.name}: no '{prefix}' line after {timeout_s}s")
