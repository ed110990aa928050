"""Real Alertmanager and Prometheus processes (Debian binaries) and a local HTTP receiver,
each on a free loopback port with its own temporary storage, for tests."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.harness import free_port, wait_until


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def binary(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not installed; deploy/local/packages.sh installs it"
    return path


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A local HTTP server recording every POST. `hold` makes it keep requests unanswered
    until `release()`; `status` is what it answers."""

    def __init__(self, status: int = 200, hold: bool = False, port: int | None = None) -> None:
        self.requests: list[Request] = []
        self.status = status
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(Request(self.path, dict(self.headers), body))
                receiver.released.wait(120)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def received(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def json(self, path: str | None = None) -> list[Any]:
        return [json.loads(r.body) for r in self.received(path)]

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class Daemon:
    """A server subprocess with a readiness URL, stopped by its pid."""

    def __init__(self, args: list[str], log_path: Path, ready_url: str) -> None:
        self.log_path = log_path
        self.ready_url = ready_url
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.proc.args[0]} exited:\n{self.log_path.read_text()}")
            return http_get(self.ready_url)[0] == 200

        wait_until(ready, timeout, 0.2, f"{self.ready_url}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Alertmanager(Daemon):
    """`prometheus-alertmanager` notifying `webhook_url` quickly (group_wait 0s)."""

    def __init__(self, workdir: Path, webhook_url: str, port: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = {
            "route": {
                "receiver": "hook",
                "group_by": ["alertname", "tenant", "actor"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {"name": "hook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
            ],
        }
        (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        super().__init__(
            [
                binary("prometheus-alertmanager"),
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            workdir / "alertmanager.log",
            f"{self.base}/-/ready",
        )

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join("filter=" + urllib.parse.quote(f'{k}="{v}"') for k, v in filters.items())
        status, body = http_get(f"{self.base}/api/v2/alerts?{query}")
        assert status == 200, body
        return json.loads(body)


class Prometheus(Daemon):
    """`prometheus` scraping `targets` every second, with its own TSDB directory."""

    def __init__(self, workdir: Path, targets: list[str], rule_files: Sequence[Path] = ()) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [{"job_name": "blindar", "static_configs": [{"targets": targets}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        super().__init__(
            [
                binary("prometheus"),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            workdir / "prometheus.log",
            f"{self.base}/-/ready",
        )

    def rules(self) -> list[dict[str, Any]]:
        status, body = http_get(f"{self.base}/api/v1/rules")
        assert status == 200, body
        return [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]

    def query(self, expr: str) -> list[dict[str, Any]]:
        status, body = http_get(f"{self.base}/api/v1/query?query={urllib.parse.quote(expr)}")
        assert status == 200, f"{expr}: {body[:300]!r}"
        return json.loads(body)["data"]["result"]


@contextmanager
def running(daemon: Daemon) -> Iterator[Daemon]:
    try:
        daemon.wait_ready()
        yield daemon
    finally:
        daemon.stop()
