"""The `channel` metric label stays bounded: registered channel names or "other"."""

from __future__ import annotations

import time

from prometheus_client import generate_latest

from detectors.event import Event
from monitor.service import metrics
from monitor.service.channels import Channel
from monitor.service.config import DetectorSettings
from monitor.service.detection import Outcome, build_detection
from monitor.service.pipeline import Pipeline
from monitor.service.state import MemoryStore


def pipeline(*channels: Channel) -> Pipeline:
    by_topic = {f"ns.{c.topic}": c for c in channels}
    detection = build_detection(DetectorSettings(), MemoryStore(), b"k" * 32)
    return Pipeline(by_topic, detection, None, "ns.dlp.alerts", "ns.dlp.deadletter")


def event(channel: str) -> Event:
    return Event("e", int(time.time() * 1000), "acme", channel, "agent-1", "record.view")


def test_unregistered_channel_names_are_counted_as_other() -> None:
    p = pipeline(Channel("crm-audit", "interactions.crm-audit"))
    assert p.channel_of("ns.interactions.crm-audit") == "crm-audit"
    assert p.channel_of("ns.interactions.unknown-feed") == "other"
    other = metrics.EVENTS.labels(channel="other", action="record.view")._value.get()
    started = time.time()
    events = [event("crm-audit"), event("customer-typed-anything-7f3a")]
    p.observe(events, Outcome(), started, int(started * 1000))
    assert metrics.EVENTS.labels(channel="other", action="record.view")._value.get() == other + 1
    assert b"customer-typed-anything" not in generate_latest(metrics.REGISTRY)


def test_reloaded_channels_become_labels() -> None:
    p = pipeline(Channel("voice", "interactions.voice"))
    assert p.label("chat-webhook") == "other"
    p.set_channels(
        {"ns.interactions.chat-webhook": Channel("chat-webhook", "interactions.chat-webhook")}
    )
    assert p.label("chat-webhook") == "chat-webhook" and p.label("voice") == "other"
    assert p.channel_of("ns.interactions.chat-webhook") == "chat-webhook"
