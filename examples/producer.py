"""A channel producer a platform team can copy: sends interaction events to blindar.

- Key = actor id: all of one agent's events land on one partition, in order, on one
  worker (the detectors keep per-actor state).
- Value = one JSON object per event, UTF-8, at most 64 KiB (contract v1,
  docs/event-schema.json), or your own shape plus a channel mapping (docs/channels.md).
- Delivery reports: every message is confirmed by Kafka or reported as failed; nothing
  is dropped silently. Idempotence avoids duplicates from producer retries (and blindar
  counts a re-sent event_id only once anyway).

    pip install confluent-kafka
    python examples/producer.py --bootstrap 127.0.0.1:9092 --topic interactions.crm-audit \
        events.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from confluent_kafka import KafkaError, Message, Producer


def make_producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,  # retries never duplicate or reorder
            "acks": "all",
            "linger.ms": 20,  # small batches: better throughput, little delay
            "compression.type": "lz4",
            "message.timeout.ms": 120_000,  # give up (and report) after 2 minutes
        }
    )


class DeliveryReport:
    """Counts confirmed and failed deliveries; failures are printed with the reason."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed += 1
            print(f"delivery failed ({err.name()}): key={msg.key()!r}", file=sys.stderr)
        else:
            self.delivered += 1


def actor_of(event: dict[str, Any], key_path: str) -> bytes:
    """The partition key: the actor id found at a dotted path of the event."""
    value: Any = event
    for part in key_path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise ValueError(f"event has no actor id at {key_path!r}")
    return value.encode()


def send(producer: Producer, topic: str, event: dict[str, Any], key: bytes, report: Any) -> None:
    value = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=report)
            break
        except BufferError:  # local queue full: serve delivery reports, then retry
            producer.poll(0.5)
    producer.poll(0)  # serve delivery reports of earlier messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--key-path", default="actor.id", help="dotted path of the actor id")
    parser.add_argument("file", help="JSON lines, one event per line")
    args = parser.parse_args()
    producer = make_producer(args.bootstrap)
    report = DeliveryReport()
    with open(args.file, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                event = json.loads(line)
                send(producer, args.topic, event, actor_of(event, args.key_path), report)
    remaining = producer.flush(60)
    print(f"delivered {report.delivered}, failed {report.failed}, unconfirmed {remaining}")
    return 0 if report.failed == 0 and remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
