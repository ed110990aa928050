"""Run (a): what the machine can read. A plain confluent-kafka consumer, `consume(1000)` and
an orjson decode of every message, nothing else.

`python -m bench.raw_consume` with BENCH_TOPICS (comma-separated), BENCH_GROUP,
BENCH_PROGRESS (counter file, see bench/progress.py) and KAFKA_BOOTSTRAP; runs until killed.
"""

from __future__ import annotations

import os

import orjson
from confluent_kafka import Consumer

from bench.progress import ProgressWriter


def main() -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": os.environ["KAFKA_BOOTSTRAP"],
            "group.id": os.environ["BENCH_GROUP"],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "fetch.max.bytes": 52428800,
        }
    )
    consumer.subscribe(os.environ["BENCH_TOPICS"].split(","))
    progress = ProgressWriter(os.environ["BENCH_PROGRESS"], every=1)
    while True:
        events = 0
        for message in consumer.consume(1000, 0.5):
            if message.error():
                continue
            doc = orjson.loads(message.value())
            events += len(doc) if isinstance(doc, list) else 1
        if events:
            progress.add(events)


if __name__ == "__main__":
    main()
