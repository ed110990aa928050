"""Prometheus metrics of every stage. Labels are bounded: never actor, customer or record ids."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.75,
    1,
    1.5,
    2,
    2.5,
    5,
    10,
    30,
    60,
    300,
    900,
    3600,
)
REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

EVENTS = Counter(
    "blindar_events_total",
    "Valid events processed, by channel and action",
    ["channel", "action"],
    registry=REGISTRY,
)
MESSAGES = Counter(
    "blindar_messages_total",
    "Kafka messages consumed, by channel",
    ["channel"],
    registry=REGISTRY,
)
UNREGISTERED_CHANNEL = Counter(
    "blindar_unregistered_channel_events_total",
    "Events naming a channel that is not registered; they count for their topic's channel",
    ["channel"],
    registry=REGISTRY,
)
INVALID = Counter(
    "blindar_invalid_events_total",
    "Messages or batch elements sent to the dead-letter topic",
    ["channel", "reason"],
    registry=REGISTRY,
)
FINDINGS = Counter(
    "blindar_findings_total",
    "Detector findings before suppression",
    ["detector", "severity"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "blindar_alerts_total",
    "Alerts published (kind: new or update)",
    ["detector", "severity", "kind"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "blindar_batch_size_events",
    "Events per processed batch",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 50000),
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "blindar_batch_duration_seconds",
    "Time to process one batch end to end",
    buckets=(*REDIS_BUCKETS, 5, 10),
    registry=REGISTRY,
)
PROCESSING_LAG = Histogram(
    "blindar_processing_lag_seconds",
    "Event time to decision time",
    ["channel"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
REDIS_SECONDS = Histogram(
    "blindar_redis_roundtrip_seconds",
    "Redis round-trip time per call",
    ["call"],
    buckets=REDIS_BUCKETS,
    registry=REGISTRY,
)
REDIS_ERRORS = Counter(
    "blindar_redis_errors_total",
    "Failed Redis calls (retried)",
    ["kind"],
    registry=REGISTRY,
)
REDIS_STATE_LOST = Counter(
    "blindar_redis_state_lost_total",
    "Times the worker found Redis had lost its state (restarted empty, failover without data)",
    registry=REGISTRY,
)
ACTOR_LOADS = Counter(
    "blindar_actor_loads_total",
    "Actors read from Redis into memory (first sight, or after another writer moved them on)",
    registry=REGISTRY,
)
ACTORS_IN_MEMORY = Gauge(
    "blindar_actors_in_memory",
    "Actors whose state this worker keeps in memory",
    registry=REGISTRY,
)
STATE_CONFLICTS = Counter(
    "blindar_state_conflicts_total",
    "Actor writes refused because another writer moved the actor on (loaded and applied again)",
    registry=REGISTRY,
)
DUPLICATE_EVENTS = Counter(
    "blindar_duplicate_events_total",
    "Events dropped because their id and content were already applied (re-deliveries)",
    registry=REGISTRY,
)
EVENT_ID_REUSED = Counter(
    "blindar_event_id_reused_total",
    "Events judged although their id was seen before with other content (a producer "
    "reusing event ids within the dedup horizon)",
    ["channel"],
    registry=REGISTRY,
)
LATE_EVENTS = Counter(
    "blindar_late_events_total",
    "Events later than the allowed lateness behind the watermark, judged in the late lane",
    ["channel"],
    registry=REGISTRY,
)
DROPPED_LATE_EVENTS = Counter(
    "blindar_dropped_late_events_total",
    "Events too late even for their actor's late lane (older than its own clock less the "
    "allowed lateness): dropped unjudged",
    ["channel"],
    registry=REGISTRY,
)
WATERMARK = Gauge(
    "blindar_watermark_seconds",
    "The worker's event-time watermark: the slowest active input partition's newest event",
    registry=REGISTRY,
)
EVENT_TIME_LAG = Gauge(
    "blindar_event_time_lag_seconds",
    "Per input topic, how far its slowest partition's event time is behind the leading one",
    ["topic"],
    registry=REGISTRY,
)
PAUSED_PARTITIONS = Gauge(
    "blindar_paused_partitions",
    "Input partitions paused because their event time ran ahead of the watermark",
    registry=REGISTRY,
)
BATCH_IN_FLIGHT = Gauge(
    "blindar_batch_in_flight_messages",
    "Messages the agent has taken from Kafka and not yet decided: 0 between batches, held "
    "while a batch waits (on Redis, or behind the periodic silence check)",
    registry=REGISTRY,
)
PRODUCE_ERRORS = Counter(
    "blindar_produce_errors_total",
    "Failed deliveries to output topics, by kind: retriable, too_large (a dead letter is "
    "re-sent smaller), refused or fatal (the input is held and the delivery retried)",
    ["topic", "kind"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "blindar_consumer_lag_messages",
    "Messages behind the end of each input partition",
    ["topic", "partition"],
    registry=REGISTRY,
)
LAST_EVENT = Gauge(
    "blindar_channel_last_event_timestamp_seconds",
    "Event time of the latest event per channel (the worker's start until its first event)",
    ["channel"],
    registry=REGISTRY,
)
UP = Gauge("blindar_worker_up", "1 while the worker's stream is running", registry=REGISTRY)
HEALTHY = Gauge("blindar_worker_healthy", "1 when /health reports ok", registry=REGISTRY)
ASSIGNMENT_RELOADS = Counter(
    "blindar_assignment_reloads_total",
    "Reloads of the assignments file after it changed (result: ok or error)",
    ["result"],
    registry=REGISTRY,
)
CHANNEL_RELOADS = Counter(
    "blindar_channel_reloads_total",
    "Reloads of the channel registry after its files changed (result: ok or error)",
    ["result"],
    registry=REGISTRY,
)

# Alert delivery to the optional sinks (label `sink`: alertmanager, webhook).
DELIVERY_QUEUE = Gauge(
    "blindar_alert_delivery_queue_depth",
    "Requests waiting to be posted, per sink",
    ["sink"],
    registry=REGISTRY,
)
DELIVERED = Counter(
    "blindar_alert_deliveries_total",
    "Requests a sink accepted (2xx)",
    ["sink"],
    registry=REGISTRY,
)
DELIVERY_RETRIES = Counter(
    "blindar_alert_delivery_retries_total",
    "Failed attempts that were retried",
    ["sink"],
    registry=REGISTRY,
)
DELIVERY_FAILURES = Counter(
    "blindar_alert_delivery_failures_total",
    "Requests given up after every retry (the alerts stay on dlp.alerts)",
    ["sink"],
    registry=REGISTRY,
)
DELIVERY_DROPPED = Counter(
    "blindar_alert_delivery_dropped_total",
    "Requests not queued because the sink's queue was full (the alerts stay on dlp.alerts)",
    ["sink"],
    registry=REGISTRY,
)
FEED_RESTARTS = Counter(
    "blindar_alert_feed_restarts_total",
    "Times a sink's reader of dlp.alerts failed and started over with a new consumer",
    ["sink"],
    registry=REGISTRY,
)
ALERTMANAGER_ACTIVE = Gauge(
    "blindar_alertmanager_active_alerts",
    "Alerts this worker keeps firing in Alertmanager",
    registry=REGISTRY,
)

# Canaries (monitor/service/canary/): the worker counts forged claims and measures each canary
# from its produce time to its alert decision; `blindar canary` decides detected or missed.
CANARY_FORGED = Counter(
    "blindar_canary_forged_total",
    "Events claiming to be canaries without a valid signature (judged as normal events)",
    ["channel"],
    registry=REGISTRY,
)
CANARY_LATENCY = Histogram(
    "blindar_canary_latency_seconds",
    "Canary produce time to its alert decision in the worker",
    ["channel", "detector"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
CANARY_FINDINGS = Counter(
    "blindar_canary_alerts_total",
    "Canary alerts decided by the worker (flagged on dlp.alerts, never sent to the sinks)",
    ["channel", "detector"],
    registry=REGISTRY,
)

# Error kinds that exist before the first error, so rates and panels show 0, not nothing.
for _kind in ("ConnectionError", "TimeoutError", "script"):
    REDIS_ERRORS.labels(kind=_kind)


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """Observe every value of a batch at once: the same bucket counts, count and sum as one
    `observe` per value, one increment per bucket touched and one of the sum instead of two
    per value. `histogram` is a histogram without labels or one labelled child. It reads
    prometheus_client's Histogram internals (its bounds, bucket and sum values): the
    locked version's, checked by tests/unit/test_metrics_batch.py against `observe`."""
    if not values:
        return
    bounds = histogram._upper_bounds
    buckets = histogram._buckets
    for index, count in Tally(bisect_left(bounds, value) for value in values).items():
        buckets[index].inc(count)
    histogram._sum.inc(sum(values))
