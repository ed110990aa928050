"""Topic provisioning: one topic per registered channel, plus alerts and dead letters."""

from __future__ import annotations

from monitor.channels import load_channels
from monitor.kafka_io import TopicSpec, ensure_topics
from monitor.settings import Settings

# Dead letters hold original bytes, which may contain personal data: keep them 7 days.
DEADLETTER_RETENTION_MS = str(7 * 24 * 3600 * 1000)
ALERTS_RETENTION_MS = str(90 * 24 * 3600 * 1000)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    registry = load_channels(settings.config_dir / "channels.yaml")
    specs = [TopicSpec(settings.topic(c.topic), c.partitions) for c in registry.channels]
    specs.append(TopicSpec(settings.alerts_topic, 6, (("retention.ms", ALERTS_RETENTION_MS),)))
    specs.append(
        TopicSpec(settings.deadletter_topic, 6, (("retention.ms", DEADLETTER_RETENTION_MS),))
    )
    return specs


def create_topics(settings: Settings) -> list[str]:
    """Create what is missing; returns the names created."""
    return ensure_topics(settings, topic_specs(settings))
