"""The store's in-process twin: the same answers as the Redis scripts (write.lua,
load.lua, confirm.lua) for replays without Redis and for tests of the detection flow.
Owner hashes hold the same short keys (detectors/state/shared/protocol.py), alert records
as dicts. tests/integration/test_state_parity.py runs both side by side,
tests/integration/test_decide_parity.py checks decide() against write.lua's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from detectors.state.shared.memory import SharedMemory
from detectors.state.shared.protocol import ALERT, ASIDE, OWNER, PAGE, STATUS, compact, expand
from monitor.service.state.requests import (
    Decision,
    OwnerWrite,
    Pending,
    Repeat,
    WriteReply,
    WriteRequest,
)


class MemoryStore:
    """Owner hashes and shared state in one dict of keys, as Redis holds them."""

    def __init__(self) -> None:
        self.shared = SharedMemory()
        self.data = self.shared.data

    async def load(self, keys: Sequence[str]) -> list[dict[bytes, bytes]]:
        out = []
        for key in keys:
            fields = self.data.get(key, {})
            out.append({k.encode(): _bytes(v) for k, v in fields.items() if _stored(k)})
        return out

    async def write(self, request: WriteRequest) -> WriteReply:
        statuses: list[str] = []
        pending: list[Pending] = []
        repeats: list[Repeat] = []
        for owner in request.owners:
            fields = self.data.setdefault(owner.key, {})
            version = int(fields.get(OWNER.version, 0))
            if owner.expected >= 0 and version != owner.expected:
                statuses.append(STATUS.conflict)
                continue
            statuses.append(STATUS.written)
            if owner.expected >= 0 and owner.state:
                write_state(fields, owner, version)
            for decision in owner.decisions:
                record = decide(fields, decision, request)
                if record is not None:
                    repeats.append(Repeat(owner.key, decision.field, decision.tenant,
                                          record["uid"], record["count"], record["first"],
                                          record["last"], record["severity"]))  # fmt: skip
            if owner.decisions and OWNER.pending in fields:  # a sorted set, as write.lua's
                fields[OWNER.pending] = sorted(set(fields[OWNER.pending]))
            pending += pending_of(owner.key, fields)
        written = dict(zip((owner.key for owner in request.owners), statuses, strict=True))
        answers = self.shared.apply(request.plan, written)
        return WriteReply(statuses, pending, answers, repeats=repeats)

    async def confirm(self, pending: Sequence[Pending]) -> None:
        for item in pending:
            fields = self.data.get(item.key, {})
            stored = fields.get(item.field)
            record = expand(stored, ALERT) if stored else None
            if not (record and record.get("page") and record["uid"] == item.uid):
                continue
            if record["page"][PAGE.at] == item.decided_ms:
                del stored[ALERT.page]
                if item.kind == "new":
                    stored[ALERT.delivered] = 1
                if ASIDE in item.field:  # a page set aside (decide)
                    del fields[item.field]
                kept = [f for f in fields.get(OWNER.pending, []) if f != item.field]
                if kept:
                    fields[OWNER.pending] = kept
                else:
                    fields.pop(OWNER.pending, None)


def _stored(field: str) -> bool:
    return field in (OWNER.version, OWNER.entries, OWNER.snapshot) or field.startswith(OWNER.entry)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def write_state(fields: dict[str, Any], owner: OwnerWrite, version: int) -> None:
    entries = int(fields.get(OWNER.entries, 0))
    if owner.snapshot:
        for n in range(1, entries + 1):
            fields.pop(f"{OWNER.entry}{n}", None)
        fields.update({OWNER.version: version + 1, OWNER.entries: 0, OWNER.snapshot: owner.state})
    else:
        fields.update({OWNER.version: version + 1, OWNER.entries: entries + 1,
                       f"{OWNER.entry}{entries + 1}": owner.state})  # fmt: skip


def read_alert(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """An alert record by name (its page too), as write.lua's read_alert."""
    if stored is None:
        return None
    record = expand(stored, ALERT)
    if record.get("page"):
        record["page"] = expand(record["page"], PAGE)
    return record


def alert_of(record: dict[str, Any]) -> dict[str, Any]:
    """An alert record by name as stored (short keys)."""
    stored = compact(record, ALERT)
    if record.get("page"):
        stored[ALERT.page] = compact(record["page"], PAGE)
    return stored


def decide(fields: dict[str, Any], d: Decision, request: WriteRequest) -> dict[str, Any] | None:
    """write.lua's decide(): one page per alert field until it is quiet for a whole window
    of event time; the record (by name) when the finding was folded into it without a page."""
    now, supp = request.now_ms, request.suppression_ms
    if d.claim:
        if fields.get(d.claim) == d.episode:
            return None
        fields[d.claim] = d.episode
    record = read_alert(fields.get(d.field))
    if record is not None and now - record["decided"] >= request.alert_ttl_ms:
        record = None
    kind = None
    wend = d.window_end_ms
    if (
        record is None
        or d.window_start_ms - record["last"] >= supp
        or record.get("window_start", record["first"]) - wend >= supp
    ):
        if record is not None and record.get("page"):  # an earlier page not yet confirmed
            aside = f"{d.field}{ASIDE}{record['uid']}"
            fields[aside] = alert_of(record)
            fields.setdefault(OWNER.pending, []).append(aside)
        record = {"uid": d.uid, "first": wend, "last": wend, "count": 1,
                  "observed": d.observed, "severity": d.severity, "decided": now,
                  "delivered": 0, "window_start": d.window_start_ms}  # fmt: skip
        kind = "new"
    elif wend > record["last"] or d.observed > record["observed"]:
        record["count"] += 1
        record["last"] = max(record["last"], wend)
        record["decided"] = now
        if d.observed >= 2 * record["observed"] or d.severity > record["severity"]:
            record["observed"], record["severity"] = d.observed, d.severity
            kind = "new" if record["delivered"] == 0 else "update"
    else:
        return None
    if kind:
        record["page"] = {"kind": kind, "payload": d.payload, "at": now,
                          "count": record["count"], "first": record["first"]}  # fmt: skip
        if d.field not in fields.setdefault(OWNER.pending, []):
            fields[OWNER.pending].append(d.field)
    fields[d.field] = alert_of(record)
    return None if kind else record


def pending_of(key: str, fields: dict[str, Any]) -> list[Pending]:
    out = []
    for field in sorted(fields.get(OWNER.pending, [])):
        record = read_alert(fields.get(field))
        if record and record.get("page"):
            page = record["page"]
            out.append(Pending(key, field, page["kind"], record["uid"], page["count"],
                               page["first"], page["payload"], page["at"]))  # fmt: skip
    return out
