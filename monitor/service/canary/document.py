"""How a canary's alert document is flagged on dlp.alerts: OCSF `is_alert: false` and
"canary" in `metadata.labels`, what a SIEM filters on and the sinks' feeds skip."""

from __future__ import annotations

from typing import Any

import orjson

LABEL = "canary"


def mark(doc: dict[str, Any]) -> dict[str, Any]:
    """Flag an OCSF document as a canary's (not an alert for the SOC)."""
    doc["is_alert"] = False
    metadata = doc.setdefault("metadata", {})
    metadata["labels"] = [*metadata.get("labels", []), LABEL]
    return doc


def is_canary_document(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("is_alert") is not False:
        return False
    metadata = doc.get("metadata")
    return isinstance(metadata, dict) and LABEL in (metadata.get("labels") or ())


def is_canary_record(value: bytes) -> bool:
    """Whether a dlp.alerts record is a canary's (what the sinks' feeds skip)."""
    if b'"is_alert":false' not in value:
        return False
    try:
        return is_canary_document(orjson.loads(value))
    except orjson.JSONDecodeError:
        return False
