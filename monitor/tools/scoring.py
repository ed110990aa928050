"""Backtest scoring: pages from a replay against the labels of injected scenarios.

A label says one actor of one tenant leaked data in a way one detector should catch,
between `start_ms` and `end_ms`. A page (an alert of kind "new") by that detector for
that tenant and actor whose window overlaps [start_ms - slack, end_ms + window] is a
true positive; every other page of the detector is a false positive; a label no page
matched is a false negative. False positives on the actor of another detector's
scenario are counted apart too (`fp_on_scenarios`): one leak often looks like several
kinds of trouble, and that is not the noise an analyst pays for on normal traffic; pages
on agents that no label names (`fp_normal`) are that noise. Pages about the monitor's own
inputs (a silent channel: actor `channel:<name>`) page no agent: they are counted apart
(`fp_channels`), per channel-day. For each detected label, the time from its start to the
first matching page says how fast the leak was caught.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

DAY_MS = 86_400_000
DEFAULT_SLACK_MS = 5 * 60_000
CHANNEL_ACTOR = "channel:"  # the actor of a finding about a channel (channel_silence)


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth for one injected scenario."""

    scenario: str
    detector: str
    tenant: str
    actor: str
    start_ms: int
    end_ms: int

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Label:
        return cls(
            scenario=str(doc.get("scenario", "")),
            detector=str(doc["detector"]),
            tenant=str(doc["tenant"]),
            actor=str(doc["actor"]),
            start_ms=int(doc["start_ms"]),
            end_ms=int(doc["end_ms"]),
        )


SOURCE_PREFIX = "source_ip:"


@dataclass(frozen=True, slots=True)
class Page:
    """One page (alert of kind "new") raised during a replay."""

    detector: str
    tenant: str
    actor: str
    window_start_ms: int
    window_end_ms: int

    def matches(self, label: Label, slack_ms: int) -> bool:
        """Same detector, tenant and actor, and the page's window overlaps the label's span.
        A page about a source address (`source_ip:…`, no actor) matches any label of its
        detector and tenant: labels name the leaking agent, not the address used."""
        if (self.detector, self.tenant) != (label.detector, label.tenant):
            return False
        if self.actor != label.actor and not self.actor.startswith(SOURCE_PREFIX):
            return False
        window = self.window_end_ms - self.window_start_ms
        return (
            self.window_end_ms >= label.start_ms - slack_ms
            and self.window_start_ms <= label.end_ms + window
        )

    def touches(self, label: Label, slack_ms: int) -> bool:
        """Same tenant and actor as another scenario's label, overlapping it in time."""
        other = Page(
            label.detector, self.tenant, self.actor, self.window_start_ms, self.window_end_ms
        )
        return other.matches(label, slack_ms)


@dataclass
class DetectorScore:
    """Backtest figures of one detector."""

    detector: str
    labels: int = 0
    pages: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fp_on_scenarios: int = 0
    fp_normal: int = 0
    fp_channels: int = 0
    detected: int = 0
    missed: list[str] = field(default_factory=list)
    first_page_days: list[float] = field(default_factory=list)  # per detected label

    @property
    def precision(self) -> float | None:
        return self.tp / self.pages if self.pages else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.labels if self.labels else None

    def false_per_1000_agent_days(self, agent_days: float) -> float | None:
        return 1000 * self.fp / agent_days if agent_days > 0 else None

    def normal_per_1000_agent_days(self, agent_days: float) -> float | None:
        """Pages on actors no label names, per 1,000 agent-days."""
        return 1000 * self.fp_normal / agent_days if agent_days > 0 else None

    @property
    def worst_first_page_days(self) -> float | None:
        """The longest wait from a detected leak's start to its first page."""
        return max(self.first_page_days) if self.first_page_days else None

    def as_dict(self, agent_days: float) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "labels": self.labels,
            "pages": self.pages,
            "tp": self.tp,
            "fp": self.fp,
            "fp_on_scenarios": self.fp_on_scenarios,
            "fp_normal": self.fp_normal,
            "fp_channels": self.fp_channels,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "false_alerts_per_1000_agent_days": self.false_per_1000_agent_days(agent_days),
            "normal_pages_per_1000_agent_days": self.normal_per_1000_agent_days(agent_days),
            "first_page_days": self.first_page_days,
            "missed": self.missed,
        }


def score(
    detectors: Iterable[str],
    labels: Sequence[Label],
    pages: Sequence[Page],
    slack_ms: int = DEFAULT_SLACK_MS,
) -> dict[str, DetectorScore]:
    """Per-detector figures for the detectors that ran; labels of others are left out."""
    scores = {name: DetectorScore(name) for name in detectors}
    first_page: dict[int, int] = {}  # label index -> end of its earliest matching page
    leaking = {label.actor for label in labels}
    for page in pages:
        result = scores.get(page.detector)
        if result is None:
            continue
        result.pages += 1
        hits = [i for i, label in enumerate(labels) if page.matches(label, slack_ms)]
        if hits:
            result.tp += 1
            for i in hits:
                first_page[i] = min(first_page.get(i, page.window_end_ms), page.window_end_ms)
            continue
        result.fp += 1
        if any(page.touches(label, slack_ms) for label in labels):
            result.fp_on_scenarios += 1
        if page.actor.startswith(CHANNEL_ACTOR):
            result.fp_channels += 1
        elif page.actor not in leaking:
            result.fp_normal += 1
    for i, label in enumerate(labels):
        result = scores.get(label.detector)
        if result is None:
            continue
        result.labels += 1
        if i in first_page:
            result.detected += 1
            wait = max(0, first_page[i] - label.start_ms) / DAY_MS
            result.first_page_days.append(round(wait, 3))
        else:
            result.fn += 1
            result.missed.append(f"{label.scenario} {label.tenant}/{label.actor}")
    return scores


def agent_days(actors: int, first_ms: int | None, last_ms: int | None) -> float:
    """Distinct actors times the days the file spans."""
    if first_ms is None or last_ms is None or last_ms <= first_ms:
        return 0.0
    return actors * (last_ms - first_ms) / DAY_MS


def read_labels(path: str | Path) -> list[Label]:
    """Labels from JSON lines (one label per line) or, for older files, one JSON array."""
    raw = Path(path).read_bytes()
    if raw.lstrip().startswith(b"["):
        docs = orjson.loads(raw)
    else:
        docs = [orjson.loads(line) for line in raw.splitlines() if line.strip()]
    return [Label.from_dict(doc) for doc in docs]


def format_table(scores: dict[str, DetectorScore], days: float) -> str:
    """The per-detector backtest table as text."""
    head = (
        f"{'detector':<20}{'labels':>7}{'pages':>7}{'TP':>5}{'FP':>5}{'(scen.)':>8}"
        f"{'FN':>5}{'precision':>11}{'recall':>8}{'FP/1k agent-days':>18}"
        f"{'normal/1k':>11}{'1st page (d)':>14}"
    )
    lines = [head, "-" * len(head)]
    for s in scores.values():
        lines.append(
            f"{s.detector:<20}{s.labels:>7}{s.pages:>7}{s.tp:>5}{s.fp:>5}{s.fp_on_scenarios:>8}"
            f"{s.fn:>5}{_ratio(s.precision):>11}{_ratio(s.recall):>8}"
            f"{_ratio(s.false_per_1000_agent_days(days)):>18}"
            f"{_ratio(s.normal_per_1000_agent_days(days)):>11}"
            f"{_ratio(s.worst_first_page_days):>14}"
        )
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    """A ratio, rate or number of days with two decimals; n/a when there is none."""
    return "n/a" if value is None else f"{value:.2f}"
