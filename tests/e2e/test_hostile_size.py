"""Issue 12, size and produce failures, on the real Kafka and Redis with a real worker:
input topics take what default producers send (issue 20: their limit is raised, never
lowered), an oversized message that arrives becomes one bounded dead letter, a dead
letter Kafka refuses is re-sent smaller, and an alert Kafka refuses holds its input
(nothing acked) with /health degraded until Kafka takes it."""

from __future__ import annotations

import base64
import hashlib
import os
import time

import orjson
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from monitor.service import deadletter
from monitor.service.kafka_io import (
    TopicSpec,
    client_config,
    enforce_configs,
    ensure_topics,
    topic_config,
)
from monitor.service.settings import INPUT_MAX_MESSAGE_BYTES, Settings
from tests.faults.workload import committed_behind, wait_all_committed
from tests.harness import (
    TopicReader,
    WorkerProcess,
    blindar,
    drop_namespace,
    isolated_settings,
    produce,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]


def set_limit(settings: Settings, topic: str, limit: int) -> None:
    admin = AdminClient(client_config(settings))
    enforce_configs(admin, [TopicSpec(topic, enforced=(("max.message.bytes", str(limit)),))], 30)
    wait_until(
        lambda: topic_config(settings, topic)["max.message.bytes"] == str(limit),
        30,
        what=f"{topic} max.message.bytes={limit}",
    )


def limit_of(settings: Settings, topic: str) -> str:
    """The topic's max.message.bytes, once the broker describes the (new) topic."""

    def described() -> str | None:
        try:
            return topic_config(settings, topic)["max.message.bytes"]
        except KafkaException:  # created a moment ago: not in the metadata yet
            return None

    return wait_until(described, 30, 0.2, f"config of {topic}")


def export(n: int, records: int = 300, actor: str = "agent-9") -> dict:
    return {
        "event_id": f"x-{actor}-{n}",
        "ts": int(time.time() * 1000) - 1000,
        "tenant": "acme",
        "action": "record.export",
        "actor": {"id": actor},
        "records": records,
    }


def test_topics_raises_input_limits_and_never_lowers_one(services: Settings) -> None:
    """`blindar topics` gives new input topics Kafka's default limit, raises an existing
    topic's lower limit (as older blindar set it) and leaves a higher one, with a warning."""
    settings = isolated_settings()
    chat, voice, sms = (settings.topic(f"interactions.{c}") for c in ("chat", "voice", "sms"))
    try:
        ensure_topics(
            settings,
            [
                TopicSpec(chat, 1, (("max.message.bytes", "69632"),)),
                TopicSpec(voice, 1, (("max.message.bytes", "5000000"),)),
            ],
        )
        assert limit_of(settings, chat) == "69632" and limit_of(settings, voice) == "5000000"
        result = blindar(settings, "topics")
        assert result.returncode == 0, result.stderr
        assert limit_of(settings, chat) == str(INPUT_MAX_MESSAGE_BYTES) == "1048588"
        assert limit_of(settings, voice) == "5000000"
        assert limit_of(settings, sms) == "1048588"  # created by it
        assert f"{chat}: max.message.bytes 69632 raised to 1048588" in result.stderr
        warning = f"WARNING monitor.service.kafka_io: {voice}: max.message.bytes is 5000000, above"
        assert warning in result.stderr and "left unchanged" in result.stderr
        assert sum(line.count("left unchanged") for line in result.stderr.splitlines()) == 1
        again = blindar(settings, "topics")  # nothing left to raise: quiet, same limits
        assert "raised" not in again.stderr and limit_of(settings, chat) == "1048588"
    finally:
        drop_namespace(settings)


def test_oversized_and_batch_messages_get_one_bounded_dead_letter_each(
    settings: Settings, worker: WorkerProcess
) -> None:
    # the input topic as `blindar topics` made it: Kafka's default limit, so a message far
    # over the 64 KiB contract limit arrives and is the worker's to bound
    assert limit_of(settings, settings.topic("interactions.chat")) == "1048588"
    dead = TopicReader(settings, settings.deadletter_topic)
    huge = orjson.dumps({**export(0), "pad": "y" * 900_000})
    bad_batch = orjson.dumps([{"event_id": f"b{i}", "records": -1} for i in range(1000)])
    assert 30_000 < len(bad_batch) < 65_536
    produce(settings, "chat", [huge, bad_batch, orjson.dumps(export(1))], key=b"agent-9")
    letters = dead.wait_for(2, timeout=60, settle=2.0)
    assert len(letters) == 2
    big, batch = sorted(letters, key=lambda d: -d["size"])
    assert big["reason"] == "too_large" and big["size"] == len(huge)
    assert big["sha256"] == hashlib.sha256(huge).hexdigest() and big["value_b64"] is None
    assert base64.b64decode(big["value_head_b64"]) == huge[: deadletter.HEAD_BYTES]
    assert batch["errors_total"] == 1000 and len(batch["errors"]) == deadletter.MAX_LISTED
    assert [e["index"] for e in batch["errors"]] == list(range(deadletter.MAX_LISTED))
    assert base64.b64decode(batch["value_b64"]) == bad_batch
    assert sum(len(m.value()) for m in dead.messages) < 3 * (len(bad_batch) + 10_000)
    wait_until(
        lambda: worker.metric("blindar_events_total", channel="chat") == 1, 30, what="valid event"
    )
    assert worker.metric("blindar_invalid_events_total") == 1001
    assert worker.health()["status"] == "ok"
    wait_all_committed(settings)


def test_dead_letter_refused_for_its_size_is_resent_smaller(
    settings: Settings, worker: WorkerProcess
) -> None:
    set_limit(settings, settings.deadletter_topic, 12_000)
    dead = TopicReader(settings, settings.deadletter_topic)
    raw = orjson.dumps(
        {**export(0), "records": "many", "pad": os.urandom(25_000).hex()}
    )  # lz4 cannot shrink it
    produce(settings, "chat", [raw], key=b"agent-9")
    [letter] = dead.wait_for(1, timeout=60, settle=1.0)
    assert letter["reason"] == "wrong_type" and letter["value_b64"] is None
    assert letter["sha256"] == hashlib.sha256(raw).hexdigest() and letter["size"] == len(raw)
    assert worker.metric("blindar_produce_errors_total", kind="too_large") >= 1
    wait_all_committed(settings)
    assert worker.health()["status"] == "ok"


def test_alert_kafka_refuses_holds_its_input_until_kafka_takes_it(
    settings: Settings, worker: WorkerProcess
) -> None:
    set_limit(settings, settings.alerts_topic, 100)
    alerts = TopicReader(settings, settings.alerts_topic)
    # one message holding both exports (the batch envelope): the message whose alert
    # Kafka refuses is the one held, whatever batches the consumer makes
    produce(settings, "backoffice", [orjson.dumps([export(0), export(1)])], key=b"agent-9")
    wait_until(
        lambda: any(p["name"] == "output" for p in worker.health().get("problems", [])),
        60,
        what="/health degraded with problem output",
    )
    assert worker.get("/health")[0] == 503
    assert worker.metric("blindar_produce_errors_total", kind="too_large") >= 1
    assert "delivery to" in worker.log_tail(200) and "input held" in worker.log_tail(200)
    time.sleep(4)  # longer than faust's commit interval: nothing of the batch is committed
    assert committed_behind(settings) == 1
    assert alerts.poll(0.5) == []
    set_limit(settings, settings.alerts_topic, 1_048_576)
    [alert] = alerts.wait_for(1, timeout=60, settle=1.0)
    assert alert["finding_info"]["analytic"]["name"] == "bulk_export"
    wait_all_committed(settings)
    wait_until(lambda: worker.health().get("status") == "ok", 30, what="/health ok again")
