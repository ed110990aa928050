"""How a reference consumer (raw, bare Faust, Quix Streams) tells the benchmark how many
events it has handled: an 8-byte counter rewritten in place in a small file.

Standard library only: the Quix Streams peer imports it from its own virtualenv.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

_COUNT = struct.Struct("<q")


class ProgressWriter:
    """Adds to the counter; writes it out at most every `every` events (and on `flush`)."""

    def __init__(self, path: str | Path, every: int = 1000) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.count = 0
        self.every = every
        self.unwritten = 0
        self.flush()

    def add(self, events: int) -> None:
        self.count += events
        self.unwritten += events
        if self.unwritten >= self.every:
            self.flush()

    def flush(self) -> None:
        os.pwrite(self.fd, _COUNT.pack(self.count), 0)
        self.unwritten = 0

    def flush_every(self, seconds: float) -> None:
        """Write the counter from a daemon thread every `seconds` as well, for a consumer
        that counts one event at a time and cannot tell when the input ends."""

        def loop() -> None:
            while True:
                time.sleep(seconds)
                self.flush()

        threading.Thread(target=loop, name="progress", daemon=True).start()


def read_progress(path: str | Path) -> int:
    """The counter's last written value (0 while the file is missing or still empty)."""
    try:
        with open(path, "rb") as file:
            raw = file.read(_COUNT.size)
    except FileNotFoundError:
        return 0
    return _COUNT.unpack(raw)[0] if len(raw) == _COUNT.size else 0
