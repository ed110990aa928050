"""Worker health as /health reports it: ok, or degraded with the reasons."""

from __future__ import annotations

import time


class Health:
    """Named problems that are currently true; empty means healthy. Controls not in force
    (no trusted source for them, monitor/service/controls.py) are reported apart: a deployment
    that runs without them is not degraded, but must be told."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}
        self.since: dict[str, float] = {}
        self.not_in_force: list[dict[str, str]] = []

    def set(self, name: str, detail: str) -> None:
        self.problems[name] = detail
        self.since.setdefault(name, time.time())

    def clear(self, name: str) -> None:
        self.problems.pop(name, None)
        self.since.pop(name, None)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "degraded",
            "problems": [
                {"name": name, "detail": detail, "since": self.since.get(name)}
                for name, detail in sorted(self.problems.items())
            ],
            "controls_not_in_force": self.not_in_force,
        }
