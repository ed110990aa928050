"""A sink's reader of `dlp.alerts` on real Kafka: an error of its consumer (here, the
first assignment's start offsets failing, as a broker too busy to answer them within
10 s makes them fail) never stops deliveries; the feed starts over and delivers."""

from __future__ import annotations

import asyncio

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from monitor.service.kafka_io import client_config
from monitor.service.settings import Settings
from monitor.service.sinks.feed import AlertFeed, Record

pytestmark = pytest.mark.services


class FailsFirstAssignment(AlertFeed):
    """The feed whose first assignment raises, as `committed(timeout=10)` does on a
    broker that does not answer in time."""

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.restarts == 0:
            raise KafkaException("committed offsets: timed out (injected)")
        super()._on_assign(consumer, partitions)


async def delivered_after_a_failed_assignment(settings: Settings) -> tuple[list[bytes], int]:
    loop = asyncio.get_running_loop()
    got: list[bytes] = []
    arrived = asyncio.Event()
    feed: AlertFeed

    def deliver(record: Record) -> None:
        got.append(record.value)
        feed.done(record)
        arrived.set()

    config = client_config(settings, **{"group.id": f"{settings.group_id}.sink.test"})
    feed = FailsFirstAssignment(config, settings.alerts_topic, deliver, loop, 10, "test")
    feed.start()
    try:
        producer = Producer(client_config(settings))
        producer.produce(settings.alerts_topic, b'{"alert": 1}')
        producer.flush(10)
        await asyncio.wait_for(arrived.wait(), 60)
    finally:
        await asyncio.to_thread(feed.stop)
    return got, feed.restarts


def test_a_failed_assignment_starts_the_feed_over_and_the_alert_is_delivered(
    settings: Settings,
) -> None:
    got, restarts = asyncio.run(delivered_after_a_failed_assignment(settings))
    assert got == [b'{"alert": 1}']
    assert restarts == 1
