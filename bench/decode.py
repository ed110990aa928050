"""CPU cost of the contract validator: `decode_message` µs per event on simulated events
(one event per message), with RFC 3339 timestamps as most producers send them.

    .venv/bin/python -m bench.decode [N]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import orjson

from bench.data import REALISTIC, generate
from monitor.service.events import decode_message


def rfc3339(doc: dict) -> dict:
    moment = datetime.fromtimestamp(doc["ts"] / 1000, UTC)
    return {**doc, "ts": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def main(n: int = 20_000, rounds: int = 9) -> None:
    now = int(time.time() * 1000)
    raws = [orjson.dumps(rfc3339(doc)) for doc in generate(REALISTIC, n).events(now)][:n]
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for raw in raws:
            decode_message(raw, "chat", now)
        best = min(best, time.process_time() - started)
    per_event = best / len(raws) * 1e6
    print(f"decode_message: {per_event:.2f} µs/event (CPU time, best of {rounds}, {n} events)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
