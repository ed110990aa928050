"""exfil_sequence on the in-process state: sensitive views, then data leaves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from detectors.event import Event
from detectors.exfil_sequence import ExfilSequence, ExfilSequenceConfig
from detectors.state import MemoryState
from detectors.tuning import Allowlist, Tuning
from tests.detectors.helpers import MIN, T0, Case, ev, run


def detector(allowlist: Allowlist | None = None, **overrides: Any) -> ExfilSequence:
    return ExfilSequence(
        Tuning(ExfilSequenceConfig(**overrides), allowlist=allowlist or Allowlist()), "t:"
    )


def view(n: int, ts: int, classification: str = "pci") -> Event:
    return ev(n, "record.view", ts, resource_id=f"rec-{n}", classification=classification)


def email(n: int, ts: int, domain: str = "gmail.com", external: bool = True) -> Event:
    return ev(
        n,
        "message.send",
        ts,
        destination_kind="email",
        destination_domain=domain,
        destination_external=external,
    )


def test_view_then_external_email_fires() -> None:
    d, state = detector(), MemoryState()
    [finding] = run(d, state, [view(1, T0), view(2, T0 + MIN), email(3, T0 + 5 * MIN)])
    assert finding.observed == 2 and finding.evidence["exit"] == "email:gmail.com"
    assert finding.severity == 5  # 2x the minimum, plus an external send
    assert finding.sample_event_ids[0] == "e-3"
    assert set(finding.sample_records) == {"rec-1", "rec-2"}
    assert finding.team == "t-1"


def test_clipboard_copy_and_usb_are_exits() -> None:
    d, state = detector(), MemoryState()
    [copy] = run(d, state, [view(1, T0), ev(2, "clipboard.copy", T0 + MIN)])
    assert copy.evidence["exit"] == "clipboard.copy" and copy.severity == 3
    d2, state2 = detector(), MemoryState()
    usb = ev(3, "file.download", T0 + MIN, destination_kind="usb")
    [found] = run(d2, state2, [view(1, T0), usb])
    assert found.evidence["exit"] == "usb" and found.severity == 4


def test_quiet_without_a_sensitive_view_or_outside_the_window() -> None:
    d, state = detector(), MemoryState()
    assert run(d, state, [view(1, T0, "internal"), email(2, T0 + MIN)]) == []
    assert run(d, state, [view(3, T0 + 20 * MIN), email(4, T0 + 31 * MIN)]) == []
    assert run(d, state, [email(5, T0 + 40 * MIN), view(6, T0 + 41 * MIN)]) == []  # wrong order


def test_internal_sends_and_allowlisted_domains_are_not_exits() -> None:
    d = detector(Allowlist(destination_domains=frozenset({"acme-bank.com"})))
    state = MemoryState()
    assert run(d, state, [view(1, T0), email(2, T0 + MIN, external=False)]) == []
    assert run(d, state, [view(3, T0), email(4, T0 + MIN, domain="mail.acme-bank.com")]) == []


def test_a_view_processed_after_the_exit_still_pairs() -> None:
    d, state = detector(), MemoryState()
    assert run(d, state, [email(2, T0 + 3 * MIN)]) == []
    [finding] = run(d, state, [view(1, T0)])
    assert finding.window_end_ms == T0 + 3 * MIN


def test_per_tenant_minimum_views() -> None:
    tuning = Tuning(ExfilSequenceConfig(), {"acme": ExfilSequenceConfig(min_sensitive_views=3)})
    d, state = ExfilSequence(tuning, "t:"), MemoryState()
    assert run(d, state, [view(1, T0), view(2, T0 + 1), email(3, T0 + MIN)]) == []
    assert run(d, state, [view(4, T0 + 2), email(5, T0 + 2 * MIN)]) != []


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: ExfilSequence(Tuning(ExfilSequenceConfig()), p),
        [[ev(0, "record.view", T0, resource_id="card-1", classification="pci")],
         [ev(1, "clipboard.copy", T0 + 2 * MIN)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> ExfilSequence:
    return ExfilSequence(Tuning(ExfilSequenceConfig()), prefix)
