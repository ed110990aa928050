"""Security against real servers: a private broker with a SASL_SSL listener (SCRAM-SHA-512,
certificate from a throwaway CA) and a private Redis with an ACL user over TLS. The
worker runs over both; the test's own confluent-kafka clients use the same settings.
Then: no raw customer or record id reaches dlp.alerts, the log or /metrics; no secret
appears in the output; /metrics needs the bearer token; a wrong password stops start-up."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.service.security import KafkaSecurity
from monitor.service.settings import REPO_ROOT, Settings
from tests.faults.servers import KafkaServer, RedisServer, SaslUser
from tests.faults.tls import Keystore, make_keystore
from tests.faults.workload import build, produce_stream, wait_all_committed
from tests.harness import TopicReader, WorkerProcess, free_port, isolated_settings, provision

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

KAFKA_PASSWORD = "kafka-" + secrets.token_hex(10)
REDIS_PASSWORD = "redis-" + secrets.token_hex(10)
WEB_TOKEN = "web-" + secrets.token_hex(10)
PSEUDONYM_KEY = "key-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Keystore:
    return make_keystore(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory, tls: Keystore) -> Iterator[KafkaServer]:
    server = KafkaServer(
        tmp_path_factory.mktemp("kafka"), secure=tls, user=SaslUser("blindar", KAFKA_PASSWORD)
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secure_redis(tmp_path_factory: pytest.TempPathFactory, tls: Keystore) -> Iterator[RedisServer]:
    tls_port = free_port()
    server = RedisServer(
        tmp_path_factory.mktemp("redis"),
        extra=[
            "--tls-port", str(tls_port),
            "--tls-cert-file", str(tls.cert),
            "--tls-key-file", str(tls.key),
            "--tls-ca-cert-file", str(tls.ca),
            "--tls-auth-clients", "no",
            "--user", "default", "off",
            # The least-privilege ACL docs/operations.md recommends.
            "--user", "blindar", "on", f">{REDIS_PASSWORD}", "~*", "-@all",
            "+@read", "+@write", "+@scripting", "+@connection",
        ],
        tls_port=tls_port,
        admin_auth=("blindar", REDIS_PASSWORD),
    ).start()  # fmt: skip
    yield server
    server.stop()


def secure_env(kafka: KafkaServer, redis_server: RedisServer, tls: Keystore) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "blindar",
        "KAFKA_SASL_PASSWORD": KAFKA_PASSWORD,
        "KAFKA_SSL_CAFILE": str(tls.ca),
        "REDIS_USERNAME": "blindar",
        "REDIS_PASSWORD": REDIS_PASSWORD,
        "REDIS_TLS_CA_FILE": str(tls.ca),
        "BLINDAR_WEB_TOKEN": WEB_TOKEN,
        "BLINDAR_ENV": "production",
        "BLINDAR_PSEUDONYM_KEY": PSEUDONYM_KEY,
    }


@pytest.fixture
def secure_settings(
    secure_kafka: KafkaServer, secure_redis: RedisServer, tls: Keystore
) -> Settings:
    """Settings for the test's own clients: SASL_SSL to Kafka, like the worker's."""
    security = KafkaSecurity(
        protocol="SASL_SSL", username="blindar", password=KAFKA_PASSWORD, ca_file=str(tls.ca)
    )
    settings = isolated_settings(
        kafka_bootstrap=secure_kafka.secure_bootstrap,
        redis_url=f"rediss://127.0.0.1:{secure_redis.tls_port}/0",
        kafka_security=security,
    )
    provision(settings)
    return settings


def test_worker_runs_over_sasl_ssl_and_redis_acl_tls_and_leaks_nothing(
    secure_settings: Settings,
    secure_kafka: KafkaServer,
    secure_redis: RedisServer,
    tls: Keystore,
    tmp_path: Path,
) -> None:
    env = secure_env(secure_kafka, secure_redis, tls)
    work = build(seed=7, agents=60)
    alerts = TopicReader(secure_settings, secure_settings.alerts_topic)
    worker = WorkerProcess(secure_settings, tmp_path / "worker.log", env).start()
    worker.wait_ready()
    produce_stream(secure_settings, work.stream)
    wait_all_committed(secure_settings)
    found = alerts.wait_for(len(work.labels), timeout=60, settle=2.0)
    pages = {
        (
            a["finding_info"]["analytic"]["name"],
            a["metadata"]["tenant_uid"],
            a["actor"]["user"]["uid"],
        )
        for a in found
        if a["type_uid"] == 200401
    }
    assert work.expected_pages <= pages, "every injected leak paged over TLS/SASL"
    # State went to the TLS Redis as the ACL user.
    keys = secure_redis.admin().keys(f"{secure_settings.redis_prefix}*")
    assert keys, "the worker wrote its state to the secured Redis"

    # The bearer token guards /metrics and /health.
    anonymous = WorkerProcess(secure_settings, tmp_path / "unused.log")
    assert anonymous.get("/metrics")[0] == 401
    assert anonymous.get("/health")[0] == 401
    status, metrics_body = worker.get("/metrics")
    assert status == 200 and b"blindar_events_total" in metrics_body

    # No raw customer or record id in alerts, the log or /metrics.
    alert_bytes = b"\n".join(m.value() for m in alerts.messages)
    log_bytes = worker.log_path.read_bytes()
    raw_ids = {e["customer_id"] for e in work.events if e.get("customer_id")}
    raw_ids |= {e["resource"]["id"] for e in work.events if e.get("resource", {}).get("id")}
    assert len(raw_ids) > 100
    for where, blob in (("alerts", alert_bytes), ("log", log_bytes), ("metrics", metrics_body)):
        leaked = [i for i in raw_ids if i.encode() in blob]
        assert not leaked, f"raw ids in {where}: {leaked[:5]}"
    assert b"ps_" in alert_bytes, "record ids appear pseudonymized in alerts"

    # No secret anywhere in the worker's whole output, shutdown included.
    worker.stop()
    output = worker.log_path.read_bytes()
    for secret in (KAFKA_PASSWORD, REDIS_PASSWORD, WEB_TOKEN, PSEUDONYM_KEY):
        assert secret.encode() not in output
    print(
        f"\n[security] events={len(work.events)} pages={len(pages)} raw_ids_checked={len(raw_ids)}"
    )


@pytest.mark.parametrize("which", ["kafka", "redis"])
def test_wrong_password_stops_start_up_with_a_clear_message(
    secure_settings: Settings,
    secure_kafka: KafkaServer,
    secure_redis: RedisServer,
    tls: Keystore,
    which: str,
) -> None:
    env = secure_env(secure_kafka, secure_redis, tls)
    wrong = "wrong-" + secrets.token_hex(8)
    env["KAFKA_SASL_PASSWORD" if which == "kafka" else "REDIS_PASSWORD"] = wrong
    proc_env = WorkerProcess(replace(secure_settings, web_port=free_port()), Path("/dev/null"))
    from tests.harness import worker_env

    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "worker"],
        cwd=REPO_ROOT,
        env=worker_env(proc_env.settings, env),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    expected = {
        "kafka": "SASL authentication failed: check KAFKA_SASL_USERNAME",
        "redis": "authentication failed: check REDIS_USERNAME and REDIS_PASSWORD",
    }[which]
    assert expected in result.stderr
    output = result.stdout + result.stderr
    for secret in (wrong, KAFKA_PASSWORD, REDIS_PASSWORD, WEB_TOKEN, PSEUDONYM_KEY):
        assert secret not in output
