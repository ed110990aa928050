"""End to end: a platform team onboards a channel with a foreign event shape while the
worker runs (mapping file → check → add → events flow → alert and metrics), and the
existing channels lose nothing meanwhile. Real Kafka, real Redis, worker subprocess."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from monitor.service.kafka_io import client_config, producer_config
from monitor.service.settings import REPO_ROOT, Settings
from tests.harness import (
    TopicReader,
    WorkerProcess,
    blindar,
    free_port,
    produce,
    wait_until,
    worker_in_namespace,
)

pytestmark = pytest.mark.services
EXAMPLES = REPO_ROOT / "examples" / "channels"
VOICE_EVENTS = 1200


@pytest.fixture
def onboarding(services: Settings, tmp_path: Path) -> Iterator[tuple[Settings, WorkerProcess]]:
    config = tmp_path / "config"
    (config / "channels.d").mkdir(parents=True)
    for name in ("channels.yaml", "detectors.yaml"):
        shutil.copy(REPO_ROOT / "deploy" / "config" / name, config / name)
    with worker_in_namespace(tmp_path / "worker.log", config_dir=config) as running:
        yield running


def voice_traffic(settings: Settings, count: int, done: threading.Event) -> None:
    """Steady valid traffic on an existing channel, spread over several seconds."""
    producer = Producer(producer_config(settings, **{"linger.ms": 5}))
    topic = settings.topic("interactions.voice")
    now = int(time.time() * 1000)
    for n in range(count):
        event = {
            "event_id": f"voice-{n}",
            "ts": now + n,
            "tenant": "acme",
            "action": "record.view",
            "actor": {"id": f"agent-{n % 40}"},
            "resource": {"id": f"rec-{n}"},
        }
        producer.produce(topic, orjson.dumps(event), event["actor"]["id"].encode())
        producer.poll(0)
        if n % 100 == 99:
            producer.flush(10)
            time.sleep(0.5)  # paced traffic so onboarding happens while it flows
    assert producer.flush(30) == 0
    done.set()


def crm_line(n: int, op: str, rows: int) -> dict:
    when = datetime.now(ZoneInfo("Europe/Lisbon")).strftime("%d/%m/%Y %H:%M:%S")
    return {
        "audit_id": f"crm-{n}",
        "when": when,
        "org": "acme",
        "user": {"login": "jdoe", "group": "retention", "role": "AGT"},
        "op": op,
        "object": {"id": f"RPT-{n}", "sensitivity": "P"},
        "rows": str(rows),
        "status": "OK",
    }


def committed_everything(settings: Settings, topic: str) -> bool:
    consumer = Consumer(client_config(settings, **{"group.id": settings.group_id}))
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p) for p in meta.partitions]
        committed = consumer.committed(parts, timeout=10)
        ends = [consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts]
        return all(c.offset == end for c, end in zip(committed, ends, strict=True))
    finally:
        consumer.close()


def test_new_channel_is_onboarded_while_the_worker_runs(
    onboarding: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = onboarding
    alerts = TopicReader(settings, settings.alerts_topic)
    done = threading.Event()
    traffic = threading.Thread(target=voice_traffic, args=(settings, VOICE_EVENTS, done))
    traffic.start()
    wait_until(lambda: worker.metric("blindar_events_total", channel="voice") > 0, 60)

    # 1. The mapping file, checked against a good and a bad sample.
    shutil.copy(EXAMPLES / "crm-audit.yaml", settings.config_dir / "channels.d")
    # The running worker reloads the registry by itself; the topic does not exist yet.
    wait_until(
        lambda: worker.metric("blindar_channel_reloads_total", result="ok") >= 1,
        30,
        what="the worker to reload its channels",
    )
    good = blindar(
        settings,
        "channels",
        "check",
        "crm-audit",
        "--sample",
        str(EXAMPLES / "crm-audit.sample.jsonl"),
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert '"action":"file.download"' in good.stdout and '"records":250' in good.stdout
    bad = blindar(
        settings,
        "channels",
        "check",
        "crm-audit",
        "--sample",
        str(EXAMPLES / "crm-audit.bad.jsonl"),
    )
    assert bad.returncode == 1
    assert "line 3: dead-letter wrong_type: records: 'lots' is not an integer (from rows)" in (
        bad.stdout
    )

    # 2. add creates the topic with the configured partitions.
    added = blindar(settings, "channels", "add", "crm-audit")
    assert added.returncode == 0, added.stderr
    topic = settings.topic("interactions.crm-audit")
    assert f"created topic {topic} with 3 partitions" in added.stdout

    # 3. Events in the foreign shape flow; the worker subscribes on its own.
    started = time.monotonic()
    produce(settings, "crm-audit", [crm_line(n, "DL", 250) for n in range(3)], key=b"jdoe")
    wait_until(
        lambda: worker.metric("blindar_events_total", channel="crm-audit") >= 3,
        90,
        what="crm-audit events processed",
    )
    picked_up_s = time.monotonic() - started
    print(f"new channel picked up {picked_up_s:.1f}s after its topic was created")

    # 4. The alert carries the new channel.
    crm_alerts = lambda: [  # noqa: E731
        a
        for a in alerts.poll(0.3) and alerts.values()
        if "crm-audit" in a["evidences"][0]["data"]["channels"]
    ]
    [alert] = wait_until(crm_alerts, 60, what="bulk_export alert from crm-audit")
    assert alert["finding_info"]["analytic"]["name"] == "bulk_export"
    assert alert["actor"]["user"]["uid"] == "jdoe"
    assert alert["evidences"][0]["data"]["records_exported"] >= 500
    assert worker.metric("blindar_events_total", channel="crm-audit", action="file.download") == 3
    assert worker.metric("blindar_channel_last_event_timestamp_seconds", channel="crm-audit") > 0

    # 5. The existing channel lost nothing: every event counted, every offset committed.
    traffic.join(120)
    assert done.is_set()
    wait_until(
        lambda: worker.metric("blindar_events_total", channel="voice") >= VOICE_EVENTS,
        90,
        what=f"all {VOICE_EVENTS} voice events processed",
    )
    voice_topic = settings.topic("interactions.voice")
    wait_until(lambda: committed_everything(settings, voice_topic), 60, 1.0, "voice committed")
    assert worker.metric("blindar_invalid_events_total") == 0

    # 6. list shows the new channel from the running system.
    url = worker.url("/metrics")
    listed = blindar(settings, "channels", "list", "--metrics-url", url, "--interval", "0.5")
    assert listed.returncode == 0, listed.stderr
    [row] = [line.split() for line in listed.stdout.splitlines() if line.startswith("crm-audit")]
    assert row[1:3] == [topic, "3"] and row[4].endswith("Z")
    alerts.close()


def test_a_broken_file_keeps_the_running_config_and_any_topic_name_works(
    onboarding: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = onboarding
    broken = settings.config_dir / "channels.d" / "crm-audit.yaml"
    broken.write_text("mapping:\n  action: {from: op, map: DL}\n")
    wait_until(
        lambda: worker.metric("blindar_channel_reloads_total", result="error") >= 1,
        30,
        what="a failed reload",
    )
    assert "channels.d/crm-audit.yaml: mapping.action.map: must be a non-empty mapping" in (
        worker.log_path.read_text()
    )
    now = int(time.time() * 1000)
    event = {
        "event_id": "still-works",
        "ts": now,
        "tenant": "acme",
        "action": "record.view",
        "actor": {"id": "agent-1"},
        "resource": {"id": "rec-1"},
    }
    produce(settings, "voice", [event])
    wait_until(lambda: worker.metric("blindar_events_total", channel="voice") >= 1, 60)
    assert worker.health().get("ready") is True

    # The file fixed, with a topic outside interactions.*: subscribed once it exists.
    broken.write_text("topic: custom.crm-feed\npartitions: 2\n")
    wait_until(
        lambda: worker.metric("blindar_channel_reloads_total", result="ok") >= 1,
        30,
        what="the fixed file to load",
    )
    added = blindar(settings, "channels", "add", "crm-audit")
    assert added.returncode == 0, added.stderr
    producer = Producer(producer_config(settings))
    producer.produce(settings.topic("custom.crm-feed"), orjson.dumps({**event, "event_id": "c1"}))
    assert producer.flush(30) == 0
    wait_until(
        lambda: worker.metric("blindar_events_total", channel="crm-audit") >= 1,
        60,
        what="an event from the custom topic",
    )
    # Removing the channel drops its topic from the subscription.
    broken.unlink()
    wait_until(
        lambda: "removed ['" + settings.topic("custom.crm-feed") in worker.log_path.read_text(),
        30,
        what="the removed channel's topic to leave the subscription",
    )


@pytest.fixture
def prometheus(onboarding: tuple[Settings, WorkerProcess], tmp_path: Path) -> Iterator[str]:
    """A private Prometheus scraping the worker every second; yields its base URL."""
    _, worker = onboarding
    port = free_port()
    config = tmp_path / "prometheus.yml"
    target = f"127.0.0.1:{worker.settings.web_port}"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: blindar\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_json(f"{url}/-/ready") is not None, 60, 0.3, "Prometheus")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def http_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = resp.read()
    except OSError:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}


def test_prometheus_lists_the_new_channel_for_dashboards(
    onboarding: tuple[Settings, WorkerProcess], prometheus: str
) -> None:
    """Dashboards take channels from label_values(blindar_events_total, channel) and
    aggregate `by (channel)`: a new channel shows up there with no dashboard edit."""
    settings, worker = onboarding
    shutil.copy(EXAMPLES / "crm-audit.yaml", settings.config_dir / "channels.d")
    assert blindar(settings, "channels", "add", "crm-audit").returncode == 0
    produce(
        settings,
        "crm-audit",
        [crm_line(n, "VW", 1) | {"object": {"id": f"A-{n}"}} for n in range(5)],
        key=b"jdoe",
    )
    wait_until(lambda: worker.metric("blindar_events_total", channel="crm-audit") >= 5, 90)

    query = urllib.parse.urlencode({"match[]": "blindar_events_total"})
    labels = f"{prometheus}/api/v1/label/channel/values?{query}"
    wait_until(
        lambda: "crm-audit" in ((http_json(labels) or {}).get("data") or []),
        60,
        0.5,
        "crm-audit among Prometheus channel label values",
    )
    panel = urllib.parse.urlencode(
        {"query": 'sum by (channel) (blindar_events_total{channel=~".*"})'}
    )
    result = (http_json(f"{prometheus}/api/v1/query?{panel}") or {})["data"]["result"]
    by_channel = {r["metric"]["channel"]: float(r["value"][1]) for r in result}
    assert by_channel["crm-audit"] == 5
