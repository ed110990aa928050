"""The assurance report as one self-contained HTML page: the JSON twin's numbers in tables,
and charts drawn by pygal as inline SVG (no script, no external asset; prints on white).

pygal was chosen over matplotlib's SVG backend and leather (docs/report.md, "Charts"): it
installs in under 2 MB with no compiled dependency, draws the stacked bars the report
needs, and renders a chart in tens of milliseconds.

The page is written by Jinja2 templates (monitor/tools/templates/report: page.html.j2 with one
block per section, each section its own template), autoescaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import pygal
from pygal.style import Style

# Okabe-Ito: distinguishable with colour-blindness and in grey print.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222222",
    foreground_strong="#000000",
    foreground_subtle="#bbbbbb",
    colors=PALETTE,
    font_family="DejaVu Sans, Arial, Helvetica, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=16,
    value_font_size=12,
    no_data_font_size=18,
    opacity="1",
    opacity_hover="1",
    transition="0s",
)
CHART_OPTIONS: dict[str, Any] = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "width": 960,
    "height": 340,
    "legend_at_bottom": True,
    "legend_at_bottom_columns": 6,
    "x_label_rotation": 30,
    "truncate_label": -1,
    "truncate_legend": -1,
    "no_data_text": "none in this period",
    "print_zeroes": False,
}
# pygal always adds a config script (for its optional tooltips) and credit comments.
UNUSED = re.compile(r"<script\b[^>]*>.*?</script>|<!--.*?-->", re.DOTALL)
MAX_ALERT_ROWS = 500  # alerts listed in the HTML; the JSON twin lists them all
PAGE_DELAY_BUCKETS_S = (1, 5, 15, 60, 300)


def svg(chart: Any) -> str:
    """A pygal chart as inline SVG, without its script and comments."""
    return UNUSED.sub("", chart.render(is_unicode=True))


def day_labels(days: Sequence[str]) -> dict[str, Any]:
    """x labels for a run of days: all when few, else every week's first."""
    labels = list(days)
    options: dict[str, Any] = {"x_labels": labels}
    if len(labels) > 14:
        options.update(x_labels_major_every=7, show_minor_x_labels=False)
    return options


def count_axis(largest: int, ticks: int = 6) -> list[int]:
    """Whole-number y labels from 0 to at least `largest` (counts have no fractions)."""
    step = 1
    while largest > ticks * step:
        step *= 10 if largest > ticks * step * 10 else (2 if largest <= ticks * step * 2 else 5)
    top = -(-max(largest, 1) // step) * step
    return list(range(0, top + 1, step))


def set_count_axis(chart: Any, largest: int) -> None:
    """Whole-number value labels; an empty chart keeps pygal's own ("none in this period")."""
    if largest > 0:
        chart.y_labels = count_axis(largest)


def stacked_per_day(title: str, rows: Sequence[Mapping[str, Any]], key: str, y_title: str) -> str:
    """A stacked bar per day, one series per name found in rows[i][key]."""
    days = [row["day"] for row in rows]
    names = sorted({name for row in rows for name in row[key]})
    chart = pygal.StackedBar(title=title, y_title=y_title, **CHART_OPTIONS, **day_labels(days))
    set_count_axis(chart, max((sum(row[key].values()) for row in rows), default=0))
    for name in names:
        chart.add(name, [row[key].get(name) or None for row in rows])
    return svg(chart)


def events_chart(report: Mapping[str, Any]) -> str:
    rows = report["coverage"]["events_per_day"]
    return stacked_per_day("Events per day by channel", rows, "channels", "events")


def alerts_chart(report: Mapping[str, Any]) -> str:
    rows = [
        {"day": row["day"], "by": alerts_by_detector(row["alerts"])}
        for row in report["detections"]["per_day"]
    ]
    return stacked_per_day("Alerts per day by detector", rows, "by", "alerts")


def alerts_by_detector(alerts: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, n in alerts.items():
        detector = name.partition("|")[0]
        out[detector] = out.get(detector, 0) + n
    return out


def dead_letters_chart(report: Mapping[str, Any]) -> str:
    totals: dict[str, int] = {}
    for reasons in report["coverage"]["dead_letters"]["by_channel_and_reason"].values():
        for reason, n in reasons.items():
            totals[reason] = totals.get(reason, 0) + n
    chart = pygal.HorizontalBar(title="Dead letters by reason", **CHART_OPTIONS)
    set_count_axis(chart, max(totals.values(), default=0))
    for reason, n in sorted(totals.items(), key=lambda kv: -kv[1]):
        chart.add(reason, n)
    return svg(chart)


def lag_chart(report: Mapping[str, Any]) -> str:
    rows = report["coverage"]["lag"]["per_day"]
    chart = pygal.Line(
        title="Processing lag per day (event time to decision)",
        y_title="seconds",
        **CHART_OPTIONS,
        **day_labels([row["day"] for row in rows]),
    )
    chart.add("average", [row["avg_s"] for row in rows])
    chart.add("p95 (at most)", [row["p95_at_most_s"] for row in rows])
    chart.add("maximum", [row["max_s"] for row in rows])
    return svg(chart)


def page_delay_chart(report: Mapping[str, Any]) -> str:
    delays = [a["time_to_page_s"] for a in report["detections"]["alerts"]]
    labels = [f"≤ {bucket_name(b)}" for b in PAGE_DELAY_BUCKETS_S]
    labels.append(f"> {bucket_name(PAGE_DELAY_BUCKETS_S[-1])}")
    counts = [0] * len(labels)
    for delay in delays:
        index = next((i for i, b in enumerate(PAGE_DELAY_BUCKETS_S) if delay <= b), len(labels) - 1)
        counts[index] += 1
    options = {**CHART_OPTIONS, "x_label_rotation": 0, "show_legend": False}
    chart = pygal.Bar(title="Time from the crossing event to the page", y_title="alerts", **options)
    chart.x_labels = labels
    set_count_axis(chart, max(counts))
    chart.add("alerts", counts if delays else [])
    return svg(chart)


def bucket_name(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


CHARTS = {
    "events": events_chart,
    "dead-letters": dead_letters_chart,
    "lag": lag_chart,
    "alerts": alerts_chart,
    "time-to-page": page_delay_chart,
}


# ---------------------------------------------------------------- HTML


def cell(value: Any) -> str | None:
    """A value's text (numbers with thousands separators), None for no value (the
    template's `show` writes an en dash); the template escapes it."""
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value) or None
    return str(value)


def figure(name: str, report: Mapping[str, Any]) -> str:
    """A chart as markup (pygal's SVG; the template takes it as is)."""
    return f'<figure class="chart" data-chart="{name}">{CHARTS[name](report)}</figure>'


def dead_letter_rows(by_channel: Mapping[str, Mapping[str, int]]) -> list[tuple[str, str, int]]:
    return [(c, r, n) for c, reasons in by_channel.items() for r, n in reasons.items()]


def severity(alert: Mapping[str, Any]) -> str:
    first, top = alert["severity"], alert["max_severity"]
    return f"{first}" if first == top else f"{first} → {top}"


def settings_text(d: Mapping[str, Any]) -> str:
    """A detector's settings in force, tenant overrides marked."""
    return "; ".join(
        f"{k}={setting(v)}" + (" (tenant override)" if k in d["overridden"] else "")
        for k, v in d["settings"].items()
    )


def allowlist_text(d: Mapping[str, Any]) -> str:
    """The tenant's own allowlist entries, and how many detector-wide ones applied too."""
    allow = "; ".join(f"{k}: {', '.join(v)}" for k, v in d["allowlist"].items() if v)
    shared = d.get("shared_allowlist_entries", 0)
    if shared:
        allow += f"{'; ' if allow else ''}{shared} detector-wide entries (not listed)"
    return allow or "none"


def setting(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#111;background:#fff;
 margin:2em auto;max-width:1000px;padding:0 1em;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;
 margin-top:1.6em}h3{margin-bottom:.3em}
.meta{color:#333}.summary{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}
.summary div{border:1px solid #999;padding:.4em .8em;min-width:9em}
.summary span{display:block;font-size:.85em;color:#333}.summary b{font-size:1.3em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}td{word-break:break-word}
figure.chart{margin:1em 0}figure.chart svg{width:100%;height:auto;display:block}
.empty,.note{color:#333;font-style:italic}
@media print{body{margin:0;max-width:none}h2{break-before:page}h2:first-of-type{break-before:auto}
 figure.chart,tr{break-inside:avoid}
 th{background:#eee;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def environment() -> jinja2.Environment:
    """The report's templates (monitor/tools/templates/report, shipped as package data), every
    value autoescaped; only the charts' SVG and the style sheet are taken as they are."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.tools", "templates/report"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cell=cell,
        dead_letter_rows=dead_letter_rows,
        list_items=lambda mapping: list(mapping.items()),
        severity=severity,
        settings_text=settings_text,
        allowlist_text=allowlist_text,
    )
    env.globals.update(figure=figure, max_alert_rows=MAX_ALERT_ROWS)
    return env


TEMPLATES = environment()


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML document; every number comes from `report` (the JSON twin)."""
    title = f"Assurance report: {report['tenant']}, {report['from']} to {report['to']}"
    page = TEMPLATES.get_template("page.html.j2")
    return page.render(r=report, title=title, css=CSS)
