"""Private Kafka (KRaft) and Redis servers for fault and security tests.

Fault tests stop, kill and wipe their servers, so they never touch the shared ones:
each server here runs on free loopback ports with its own data directory. The Kafka
broker uses the jars `deploy/local/kafka-fetch.sh` puts in `.cache/`; Redis is
Debian's `redis-server`. A secure broker adds a SASL_SSL listener (SCRAM-SHA-512 user
created at format time) with a keystore signed by a throwaway CA (`tls.py`).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis
from confluent_kafka.admin import AdminClient

from monitor.service.settings import REPO_ROOT
from tests.faults.tls import Keystore
from tests.harness import free_port, wait_until

KAFKA_VERSION = "4.4.0"
KAFKA_LIBS = REPO_ROOT / ".cache" / f"kafka-{KAFKA_VERSION}" / "libs"
KAFKA_TEMPLATE = REPO_ROOT / "deploy" / "local" / "kafka.properties"
KAFKA_LOG4J = REPO_ROOT / "deploy" / "local" / "kafka-log4j2.yaml"


def ensure_kafka_jars() -> None:
    if not (KAFKA_LIBS / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        subprocess.run([str(REPO_ROOT / "deploy" / "local" / "kafka-fetch.sh")], check=True)


def _stop(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@dataclass
class SaslUser:
    name: str
    password: str


class KafkaServer:
    """A single-node KRaft broker+controller on free loopback ports.

    `secure` (a throwaway-CA keystore) adds a SASL_SSL listener on `secure_port` with the
    SCRAM-SHA-512 user `user`; the PLAINTEXT listener stays for the test's own admin use.
    """

    def __init__(self, root: Path, secure: Keystore | None = None, user: SaslUser | None = None):
        ensure_kafka_jars()
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.controller_port = free_port()
        self.secure = secure
        self.user = user
        self.secure_port = free_port() if secure else 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._write_config()
        self._format()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def secure_bootstrap(self) -> str:
        return f"127.0.0.1:{self.secure_port}"

    def _write_config(self) -> None:
        text = (
            KAFKA_TEMPLATE.read_text()
            .replace("@DATA@", str(self.dir / "data"))
            .replace("@CONTROLLER_PORT@", str(self.controller_port))
            .replace("@PORT@", str(self.port))
        )
        if self.secure is not None:
            ks = self.secure
            text = text.replace(
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"SASL_SSL://127.0.0.1:{self.secure_port},",
            )
            text = text.replace(
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"SASL_SSL://127.0.0.1:{self.secure_port}",
            )
            text = text.replace(
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,",
            )
            text += (
                "sasl.enabled.mechanisms=SCRAM-SHA-512\n"
                f"ssl.keystore.location={ks.keystore}\n"
                f"ssl.keystore.password={ks.password}\n"
                "ssl.keystore.type=PKCS12\n"
                "ssl.client.auth=none\n"
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;\n"
            )
        (self.dir / "server.properties").write_text(text)
        (self.dir / "log4j2.yaml").write_text(KAFKA_LOG4J.read_text())

    def _java(self, *args: str) -> list[str]:
        return ["java", "-cp", f"{KAFKA_LIBS}/*", *args]

    def _format(self) -> None:
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            # one argument: a random id may start with "-", which the tool reads as an option
            f"--cluster-id={base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip('=')}",
            "-c",
            str(self.dir / "server.properties"),
        )
        if self.user is not None:
            cmd += [
                "--add-scram",
                f"SCRAM-SHA-512=[name={self.user.name},password={self.user.password}]",
            ]
        failure = b""
        for attempt in range(2):  # once more if it failed (it did once, on a busy machine)
            done = subprocess.run(
                cmd + (["--ignore-formatted"] if attempt else []), capture_output=True, timeout=120
            )
            if done.returncode == 0:
                return
            failure = done.stdout + done.stderr
        raise RuntimeError(f"kafka storage format failed: {failure.decode()[-2000:]}")

    def start(self) -> KafkaServer:
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "java",
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
                f"-Dkafka.logs.dir={self.dir}",
                "-Xms128m",
                "-Xmx512m",
                "-XX:+UseG1GC",
                "-cp",
                f"{KAFKA_LIBS}/*",
                "kafka.Kafka",
                str(self.dir / "server.properties"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})

        def answers() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"kafka exited:\n{self.log_tail()}")
            try:
                admin.list_topics(timeout=2)
                return True
            except Exception:
                return False

        wait_until(answers, timeout, 0.5, "private kafka to answer")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        _stop(self.proc, sig, timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        path = self.dir / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class RedisServer:
    """redis-server on a free loopback port with its own data dir (AOF on, like production).

    `extra` adds command-line options (ACL users, TLS ports); `tls_port` is 0 unless the
    caller configures one.
    """

    def __init__(
        self,
        root: Path,
        extra: list[str] | None = None,
        tls_port: int = 0,
        admin_auth: tuple[str, str] | None = None,
    ) -> None:
        self.admin_auth = admin_auth
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_port = tls_port
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = (self.dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--maxmemory-policy",
                "noeviction",
                *self.extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._answers, 30, 0.1, "private redis to answer")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError("redis exited: " + (self.dir / "redis.log").read_text()[-2000:])
        try:
            self.admin().ping()
            return True
        except redis.RedisError:
            return False

    def admin(self) -> redis.Redis:
        """A plain-TCP client as `admin_auth` (default: the `default` user)."""
        user, password = self.admin_auth or (None, None)
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            username=user,
            password=password,
            socket_connect_timeout=2,
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _stop(self.proc, sig, 30)

    def wipe(self) -> None:
        """Kill it and delete its data: it comes back empty, like a replica that lost data."""
        self.stop(signal.SIGKILL)
        for path in self.dir.rglob("*"):
            if path.is_file() and path.name != "redis.log":
                path.unlink()


class RedisClusterServer:
    """Three redis-server nodes on free loopback ports made one Redis Cluster (no
    replicas), each with its own data dir; `reshard` moves slots while it serves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes = self._new_nodes(0)

    def _new_nodes(self, attempt: int) -> list[RedisServer]:
        nodes = []
        for n in range(3):
            folder = self.root / f"try{attempt}-node{n}"
            node = RedisServer(folder, extra=self._cluster_options(folder))
            while node.port > 55_000:  # the cluster bus listens 10,000 ports higher
                node.port = free_port()
            nodes.append(node)
        return nodes

    @staticmethod
    def _cluster_options(folder: Path) -> list[str]:
        return ["--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf")]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self, attempts: int = 3) -> RedisClusterServer:
        """Start the nodes and make them a cluster; a port taken meanwhile by another
        process (a node's, or its bus port) fails the creation: new ports, again."""
        failure = ""
        for attempt in range(attempts):
            if attempt:
                self.stop()
                self.nodes = self._new_nodes(attempt)
            try:
                for node in self.nodes:
                    node.start()
            except AssertionError as exc:  # a node could not listen on its port
                failure = str(exc)
                continue
            addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
            created = subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0",
                 "--cluster-yes"],
                capture_output=True,
                text=True,
            )  # fmt: skip
            if created.returncode == 0:
                wait_until(self._ready, 30, 0.2, "private redis cluster to be ok")
                return self
            failure = created.stdout + created.stderr
        self.stop()
        raise RuntimeError(f"private redis cluster not made in {attempts} attempts: {failure}")

    def _ready(self) -> bool:
        info = self.nodes[0].admin().execute_command("CLUSTER", "INFO").decode()
        return "cluster_state:ok" in info

    def node_id(self, n: int) -> str:
        return str(self.nodes[n].admin().execute_command("CLUSTER", "MYID").decode())

    def reshard(self, source: int, target: int, slots: int) -> subprocess.CompletedProcess:
        """Move `slots` slots (and their keys) from node `source` to node `target`."""
        return subprocess.run(
            ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{self.nodes[0].port}",
             "--cluster-from", self.node_id(source), "--cluster-to", self.node_id(target),
             "--cluster-slots", str(slots), "--cluster-yes", "--cluster-pipeline", "10"],
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
