"""The store's in-process twin: the same answers as the Redis scripts (write.lua,
load.lua, confirm.lua) for replays without Redis and for tests of the detection flow.
tests/integration/test_store_parity.py runs both side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from detectors.state.shared.memory import SharedMemory
from monitor.state.requests import (
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
            version = int(fields.get("v", 0))
            if owner.expected >= 0 and version != owner.expected:
                statuses.append("c")
                continue
            statuses.append("0")
            if owner.expected >= 0 and owner.state:
                write_state(fields, owner, version)
            for decision in owner.decisions:
                record = decide(fields, decision, request)
                if record is not None:
                    repeats.append(Repeat(owner.key, decision.field, decision.tenant,
                                          record["u"], record["c"], record["f"], record["l"],
                                          record["s"]))  # fmt: skip
            pending += pending_of(owner.key, fields)
        written = dict(zip((owner.key for owner in request.owners), statuses, strict=True))
        answers = self.shared.apply(request.plan, written)
        return WriteReply(statuses, pending, answers, repeats=repeats)

    async def confirm(self, pending: Sequence[Pending]) -> None:
        for item in pending:
            fields = self.data.get(item.key, {})
            record = fields.get(item.field)
            if not (record and record.get("p") and record["u"] == item.uid):
                continue
            if record["p"]["t"] == item.decided_ms:
                record["p"] = None
                if item.kind == "new":
                    record["d"] = 1
                if "#" in item.field:  # a page set aside (decide)
                    del fields[item.field]
                kept = [f for f in fields.get("P", []) if f != item.field]
                if kept:
                    fields["P"] = kept
                else:
                    fields.pop("P", None)


def _stored(field: str) -> bool:
    return field in ("v", "n", "s") or field.startswith("e")


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def write_state(fields: dict[str, Any], owner: OwnerWrite, version: int) -> None:
    entries = int(fields.get("n", 0))
    if owner.snapshot:
        for n in range(1, entries + 1):
            fields.pop(f"e{n}", None)
        fields.update(v=version + 1, n=0, s=owner.state)
    else:
        fields.update({"v": version + 1, "n": entries + 1, f"e{entries + 1}": owner.state})


def decide(fields: dict[str, Any], d: Decision, request: WriteRequest) -> dict[str, Any] | None:
    """write.lua's decide(): one page per alert field until it is quiet for a whole window
    of event time; the record when the finding was folded into it without a page."""
    now, supp = request.now_ms, request.suppression_ms
    if d.claim:
        if fields.get(d.claim) == d.episode:
            return None
        fields[d.claim] = d.episode
    record = fields.get(d.field)
    if record is not None and now - record["n"] >= request.alert_ttl_ms:
        record = None
    kind = None
    wend = d.window_end_ms
    start, first = d.window_start_ms, record and record.get("w", record["f"])
    if record is None or start - record["l"] >= supp or first - wend >= supp:
        if record is not None and record.get("p"):  # an earlier page not yet confirmed
            aside = f"{d.field}#{record['u']}"
            fields[aside] = record
            fields.setdefault("P", []).append(aside)
        record = {"u": d.uid, "f": d.window_end_ms, "l": d.window_end_ms, "c": 1,
                  "w": d.window_start_ms,
                  "r": d.observed, "s": d.severity, "n": now, "d": 0, "p": None}  # fmt: skip
        kind = "new"
    elif d.window_end_ms > record["l"] or d.observed > record["r"]:
        record["c"] += 1
        record["l"] = max(record["l"], d.window_end_ms)
        record["n"] = now
        if d.observed >= 2 * record["r"] or d.severity > record["s"]:
            record["r"], record["s"] = d.observed, d.severity
            kind = "new" if record["d"] == 0 else "update"
    else:
        return None
    if kind:
        record["p"] = {"k": kind, "x": d.payload, "t": now, "c": record["c"], "f": record["f"]}
        if d.field not in fields.setdefault("P", []):
            fields["P"].append(d.field)
    fields[d.field] = record
    return None if kind else record


def pending_of(key: str, fields: dict[str, Any]) -> list[Pending]:
    out = []
    for field in sorted(fields.get("P", [])):
        record = fields.get(field)
        if record and record.get("p"):
            p = record["p"]
            out.append(Pending(key, field, p["k"], record["u"], p["c"], p["f"], p["x"], p["t"]))
    return out
