"""blindar's Grafana dashboards as code (grafana-foundation-sdk, pinned in pyproject).

`make dashboards` writes deploy/grafana/dashboards/*.json; the committed JSON is what
Grafana provisions, and a test checks it matches this file. It is the classic dashboard
JSON model (the SDK's v2 schema warnings are silenced by the make target), which file
provisioning loads in every current Grafana. Queries use only
blindar's own metrics (monitor/service/metrics.py) and bounded labels.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders.common import VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DatasourceVariable,
    QueryVariable,
    Row,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import DataSourceRef, LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import VariableRefresh

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "[$__rate_interval]"
LEGEND = (
    VizLegendOptions()
    .show_legend(True)
    .display_mode(LegendDisplayMode.LIST)
    .placement(LegendPlacement.BOTTOM)
)


def query(expr: str, legend: str = "", ref: str = "A") -> Dataquery:
    return Dataquery().expr(expr).legend_format(legend or "__auto").ref_id(ref)


def timeseries(
    title: str, description: str, unit: str, *targets: Dataquery, width: int = 12
) -> Timeseries:
    panel = Timeseries().title(title).description(description).unit(unit).min(0)
    panel = panel.datasource(DATASOURCE).height(8).span(width).legend(LEGEND)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def stat(title: str, description: str, unit: str, target: Dataquery, width: int = 6) -> Stat:
    panel = Stat().title(title).description(description).unit(unit).datasource(DATASOURCE)
    return panel.height(4).span(width).with_target(target)


def datasource_variable() -> DatasourceVariable:
    return DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def label_variable(name: str, label: str, metric: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {name})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def quantile(q: float, metric: str, by: str, selector: str = "") -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{selector}{RATE})))"


def overview() -> Dashboard:
    ch = '{channel=~"$channel"}'
    return (
        Dashboard("blindar / Overview")
        .uid("blindar-overview")
        .description("Is blindar seeing every channel, keeping up, and getting alerts out?")
        .tags(["blindar"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(datasource_variable())
        .with_variable(label_variable("channel", "Channel", "blindar_events_total"))
        .with_row(Row("Traffic"))
        .with_panel(
            timeseries(
                "Events/s by channel",
                "Valid events decided per second, per channel.",
                "ops",
                query(f"sum by (channel) (rate(blindar_events_total{ch}{RATE}))", "{{channel}}"),
            )
        )
        .with_panel(
            timeseries(
                "Invalid events/s by reason",
                "Messages or batch elements sent to dlp.deadletter, by reason.",
                "ops",
                query(
                    f"sum by (reason) (rate(blindar_invalid_events_total{ch}{RATE}))", "{{reason}}"
                ),
            )
        )
        .with_row(Row("Lag"))
        .with_panel(
            timeseries(
                "Processing lag by channel",
                "Event time to decision time (p50 and p99).",
                "s",
                query(
                    quantile(0.5, "blindar_processing_lag_seconds", "channel", ch),
                    "p50 {{channel}}",
                ),
                query(
                    quantile(0.99, "blindar_processing_lag_seconds", "channel", ch),
                    "p99 {{channel}}",
                    "B",
                ),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Consumer lag by topic",
                "Messages waiting in Kafka, summed over partitions.",
                "short",
                query("sum by (topic) (blindar_consumer_lag_messages)", "{{topic}}"),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Time since the last event by channel",
                "A channel that goes silent leaves blindar blind on it.",
                "s",
                query(
                    f"time() - max by (channel) (blindar_channel_last_event_timestamp_seconds{ch})",
                    "{{channel}}",
                ),
                width=8,
            )
        )
        .with_row(Row("Event time"))
        .with_panel(
            timeseries(
                "Event-time lag by topic",
                "How far each input topic's slowest partition trails the leading topic, in "
                "event time. Past the allowed lateness its events go to the late lane.",
                "s",
                query("max by (topic) (blindar_event_time_lag_seconds)", "{{topic}}"),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Watermark behind the wall clock",
                "The slowest active partition's event time against now: a backlog being "
                "caught up, or producers stamping late.",
                "s",
                query("time() - min(blindar_watermark_seconds)", "watermark"),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Late arrivals and paused partitions",
                "Events judged in the late lane (per channel, per second), events too late "
                "even for it, and partitions paused for running ahead of the watermark.",
                "short",
                query(
                    f"sum by (channel) (rate(blindar_late_events_total{ch}{RATE}))",
                    "late {{channel}}",
                ),
                query(
                    f"sum(rate(blindar_dropped_late_events_total{RATE}))",
                    "dropped",
                    "B",
                ),
                query("sum(blindar_paused_partitions)", "paused partitions", "C"),
                width=8,
            )
        )
        .with_row(Row("Alerts"))
        .with_panel(
            stat(
                "Pages in range",
                "New alerts (pages) in the selected time range.",
                "short",
                query('sum(increase(blindar_alerts_total{kind="new"}[$__range]))'),
            )
        )
        .with_panel(
            stat(
                "Workers up / healthy",
                "Workers whose stream runs, and those whose /health is ok.",
                "short",
                query("sum(blindar_worker_up)", "up"),
            ).with_target(query("sum(blindar_worker_healthy)", "healthy", "B"))
        )
        .with_panel(
            stat(
                "Alerts firing in Alertmanager",
                "Alerts the workers keep firing in Alertmanager.",
                "short",
                query("sum(blindar_alertmanager_active_alerts)"),
            )
        )
        .with_panel(
            stat(
                "Undelivered alert requests in range",
                "Requests given up after retries or dropped (queue full); the alerts stay on"
                " dlp.alerts.",
                "short",
                query(
                    "sum(increase(blindar_alert_delivery_failures_total[$__range]))"
                    " + sum(increase(blindar_alert_delivery_dropped_total[$__range]))"
                ),
            )
        )
        .with_panel(
            timeseries(
                "Alerts by detector and severity",
                "Alerts published to dlp.alerts (new pages and updates).",
                "short",
                query(
                    f"sum by (detector, severity) (increase(blindar_alerts_total{RATE}))",
                    "{{detector}} sev {{severity}}",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Findings/s by detector",
                "Detector findings before suppression.",
                "ops",
                query(f"sum by (detector) (rate(blindar_findings_total{RATE}))", "{{detector}}"),
            )
        )
        .with_row(Row("Canaries"))
        .with_panel(
            stat(
                "Canaries missed in range",
                "Canary leaks (blindar canary) not caught within their deadline: each is a"
                " coverage gap on its channel (rule BlindarCanaryMissed).",
                "short",
                query("sum(increase(blindar_canary_missed_total[$__range]))"),
            )
        )
        .with_panel(
            timeseries(
                "Canaries detected and missed by channel",
                "Canary leaks decided per channel and detector in the last hour.",
                "short",
                query(
                    "sum by (channel, detector) (increase(blindar_canary_detected_total[1h]))",
                    "detected {{channel}} {{detector}}",
                ),
                query(
                    "sum by (channel, detector) (increase(blindar_canary_missed_total[1h]))",
                    "missed {{channel}} {{detector}}",
                    "B",
                ),
                width=9,
            )
        )
        .with_panel(
            timeseries(
                "Canary detection latency by channel",
                "Canary produce time to its alert decision in the worker, last 2 h (p50 and"
                " the max bucket).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le, channel)"
                    " (increase(blindar_canary_latency_seconds_bucket[2h])))",
                    "p50 {{channel}}",
                ),
                query(
                    "histogram_quantile(1, sum by (le, channel)"
                    " (increase(blindar_canary_latency_seconds_bucket[2h])))",
                    "max {{channel}}",
                    "B",
                ),
                width=9,
            )
        )
        .with_row(Row("Dependencies and delivery"))
        .with_panel(
            timeseries(
                "Redis round trip and errors",
                "p99 latency of the one Redis call per batch, by call; errors per second.",
                "s",
                query(quantile(0.99, "blindar_redis_roundtrip_seconds", "call"), "p99 {{call}}"),
                query(
                    f"sum by (kind) (rate(blindar_redis_errors_total{RATE}))",
                    "errors/s {{kind}}",
                    "B",
                ),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Alert delivery by sink",
                "Requests delivered, given up after retries, and dropped (queue full) per second.",
                "ops",
                query(
                    f"sum by (sink) (rate(blindar_alert_deliveries_total{RATE}))",
                    "delivered {{sink}}",
                ),
                query(
                    f"sum by (sink) (rate(blindar_alert_delivery_failures_total{RATE}))",
                    "failed {{sink}}",
                    "B",
                ),
                query(
                    f"sum by (sink) (rate(blindar_alert_delivery_dropped_total{RATE}))",
                    "dropped {{sink}}",
                    "C",
                ),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Delivery queue depth by sink",
                "Requests waiting per sink; a growing queue means a slow or dead endpoint.",
                "short",
                query("sum by (sink) (blindar_alert_delivery_queue_depth)", "{{sink}}"),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Batches",
                "Events per batch (p50) and batch duration (p99).",
                "short",
                query(
                    quantile(0.5, "blindar_batch_size_events", "instance"), "size p50 {{instance}}"
                ),
                query(
                    quantile(0.99, "blindar_batch_duration_seconds", "instance"),
                    "seconds p99 {{instance}}",
                    "B",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Output produce errors/s",
                "Failed writes to dlp.alerts and dlp.deadletter (retried).",
                "ops",
                query(f"sum by (topic) (rate(blindar_produce_errors_total{RATE}))", "{{topic}}"),
            )
        )
    )


def detector_view() -> Dashboard:
    det = '{detector=~"$detector"}'
    new = '{detector=~"$detector", kind="new"}'
    return (
        Dashboard("blindar / Detectors")
        .uid("blindar-detectors")
        .description("What each detector finds, how much of it pages, and at which severity.")
        .tags(["blindar"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(datasource_variable())
        .with_variable(label_variable("detector", "Detector", "blindar_findings_total"))
        .with_panel(
            stat(
                "Findings in range",
                "Findings before suppression.",
                "short",
                query(f"sum(increase(blindar_findings_total{det}[$__range]))"),
                width=8,
            )
        )
        .with_panel(
            stat(
                "Pages in range",
                "New alerts: what reached the on-call.",
                "short",
                query(f"sum(increase(blindar_alerts_total{new}[$__range]))"),
                width=8,
            )
        )
        .with_panel(
            stat(
                "Pages per finding",
                "How much suppression saves the on-call (lower is quieter).",
                "percentunit",
                query(
                    f"sum(increase(blindar_alerts_total{new}[$__range]))"
                    f" / sum(increase(blindar_findings_total{det}[$__range]))"
                ),
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Findings/s by detector and severity",
                "Before suppression.",
                "ops",
                query(
                    f"sum by (detector, severity) (rate(blindar_findings_total{det}{RATE}))",
                    "{{detector}} sev {{severity}}",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Alerts by detector and kind",
                "new = page; update = the open alert grew (published, no page).",
                "short",
                query(
                    f"sum by (detector, kind) (increase(blindar_alerts_total{det}{RATE}))",
                    "{{detector}} {{kind}}",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Pages by severity",
                "New alerts in the selected range, by severity.",
                "short",
                query(
                    f"sum by (severity) (increase(blindar_alerts_total{new}[$__range]))",
                    "sev {{severity}}",
                ),
                width=24,
            )
        )
    )


DASHBOARDS = {"overview.json": overview, "detectors.json": detector_view}


def render(builder: Dashboard) -> str:
    """Stable JSON: sorted keys and panel ids numbered in order."""
    doc = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    for number, panel in enumerate(doc["panels"], start=1):
        panel["id"] = number
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def write(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in DASHBOARDS.items():
        path = out_dir / name
        path.write_text(render(make()))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "dashboards"
    for path in write(target):
        print(f"wrote {path}")
