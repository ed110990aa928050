"""Topic provisioning: one topic per registered channel, plus alerts and dead letters."""

from __future__ import annotations

from monitor.service.channels import Channel, load_channels
from monitor.service.kafka_io import TopicSpec, ensure_topics
from monitor.service.settings import Settings

# Dead letters hold original bytes, which may contain personal data: keep them 7 days.
DEADLETTER_RETENTION_MS = str(7 * 24 * 3600 * 1000)
ALERTS_RETENTION_MS = str(90 * 24 * 3600 * 1000)


def input_topic_spec(settings: Settings, channel: Channel) -> TopicSpec:
    """A channel's topic. Its `max.message.bytes` (BLINDAR_INPUT_MAX_MESSAGE_BYTES, Kafka's
    default 1,048,588) takes the record batches of producers left at their defaults: Kafka
    applies the limit to a whole batch. It is raised on an existing topic that has less,
    never lowered. A message over the 64 KiB contract limit is the worker's: one bounded
    dead letter (monitor/service/deadletter.py)."""
    limit = (("max.message.bytes", settings.input_max_message_bytes),)
    return TopicSpec(settings.topic(channel.topic), channel.partitions, floors=limit)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    registry = load_channels(settings.config_dir / "channels.yaml")
    specs = [input_topic_spec(settings, c) for c in registry.channels]
    specs.append(TopicSpec(settings.alerts_topic, 6, (("retention.ms", ALERTS_RETENTION_MS),)))
    specs.append(
        TopicSpec(settings.deadletter_topic, 6, (("retention.ms", DEADLETTER_RETENTION_MS),))
    )
    return specs


def create_topics(settings: Settings) -> list[str]:
    """Create what is missing; returns the names created."""
    return ensure_topics(settings, topic_specs(settings))
