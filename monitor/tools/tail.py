"""`blindar alerts tail`: follow dlp.alerts with one readable, coloured line per alert."""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

import orjson
from confluent_kafka import Consumer

from monitor.service.canary.document import is_canary_document
from monitor.service.kafka_io import client_config
from monitor.service.settings import Settings
from monitor.service.text import strip_terminal

COLOURS = {
    1: "\033[37m",
    2: "\033[36m",
    3: "\033[33m",
    4: "\033[31m",
    5: "\033[1;31m",
    6: "\033[1;35m",
}
RESET = "\033[0m"


def format_alert(doc: dict[str, Any], colour: bool) -> str:
    """One line: time, kind, severity, detector, tenant/actor, title, count, uid."""
    info = doc.get("finding_info", {})
    sev = int(doc.get("severity_id", 0))
    when = time.strftime("%H:%M:%S", time.localtime(doc.get("time", 0) / 1000))
    kind = "NEW   " if doc.get("type_uid") == 200401 else "UPDATE"
    if is_canary_document(doc):  # a canary's (blindar canary): never paged
        kind = "CANARY"
    detector = info.get("analytic", {}).get("name", "?")
    tenant = doc.get("metadata", {}).get("tenant_uid", "?")
    actor = doc.get("actor", {}).get("user", {}).get("uid", "?")
    line = (
        f"{when} {kind} {doc.get('severity', '?'):<8} {detector:<14} {tenant}/{actor}"
        f"  {info.get('title', '')}  x{doc.get('count', 1)}  uid={info.get('uid', '')[:12]}"
    )
    line = strip_terminal(line)  # the topic may hold anything: no escape reaches the terminal
    return f"{COLOURS.get(sev, '')}{line}{RESET}" if colour else line


def tail_alerts(
    settings: Settings,
    tenant: str | None,
    detector: str | None,
    min_severity: int,
    from_beginning: bool,
) -> int:
    consumer = Consumer(
        client_config(
            settings,
            **{
                "group.id": f"blindar-tail-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest" if from_beginning else "latest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([settings.alerts_topic])
    colour = sys.stdout.isatty()
    try:
        while True:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            try:
                doc = orjson.loads(msg.value())
            except orjson.JSONDecodeError:
                continue
            if _wanted(doc, tenant, detector, min_severity):
                print(format_alert(doc, colour), flush=True)
    except KeyboardInterrupt:
        return 0
    finally:
        consumer.close()


def _wanted(
    doc: dict[str, Any], tenant: str | None, detector: str | None, min_severity: int
) -> bool:
    if tenant and doc.get("metadata", {}).get("tenant_uid") != tenant:
        return False
    if detector and doc.get("finding_info", {}).get("analytic", {}).get("name") != detector:
        return False
    return int(doc.get("severity_id", 0)) >= min_severity
