"""Text from events made safe to print: escaped in log lines, stripped on terminals.

The contract already rejects control characters in id-like fields; these guard every
other way event text reaches a log or a screen (titles, details, foreign alert topics).
"""

from __future__ import annotations

import logging
import re

from monitor.service.contract import FORBIDDEN_RE

# ANSI/VT escape sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ST), and 2-byte ESC x.
TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b.?")
# Loggers whose messages can carry event data: blindar's own.
OWN_LOGGERS = ("blindar", "monitor", "detectors", "simulator")


def escape_controls(text: str) -> str:
    """Every forbidden character (contract.FORBIDDEN_CHARS) as a visible \\xNN / \\uNNNN."""
    if text.isprintable():
        return text
    return FORBIDDEN_RE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def strip_terminal(text: str) -> str:
    """`text` with terminal escape sequences removed and other control characters escaped."""
    return escape_controls(TERMINAL_ESCAPE.sub("", text))


class EscapedRecord(logging.LogRecord):
    """A log record of blindar's loggers whose message cannot break its line or a terminal."""

    def getMessage(self) -> str:
        message = super().getMessage()
        return escape_controls(message) if self.name.startswith(OWN_LOGGERS) else message


def escape_logs() -> None:
    """Make every record created from now on an EscapedRecord (whatever the handlers)."""
    logging.setLogRecordFactory(EscapedRecord)
