"""auth_failures: failed logins per actor and per source IP; a success right after a burst."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from detectors.auth_failures import AuthFailures, AuthFailuresConfig
from detectors.state import MemoryState
from detectors.tuning import Allowlist, Tuning
from tests.detectors.helpers import MIN, T0, Case, ev, run

DETECTOR = AuthFailures(Tuning(AuthFailuresConfig()))


def login(n: int, ts: int, actor: str = "agent-1", ip: str = "10.0.0.1", ok: bool = False):
    outcome = "success" if ok else "failure"
    return ev(n, "auth.login", ts, actor=actor, outcome=outcome, source_ip=ip)


def test_burst_on_one_account_fires() -> None:
    events = [login(i, T0 + i * 20_000) for i in range(10)]
    findings = run(DETECTOR, MemoryState(), events)
    by_actor = {f.actor: f for f in findings}
    assert set(by_actor) == {"agent-1", "source_ip:10.0.0.1"}
    finding = by_actor["agent-1"]
    assert finding.evidence["rule"] == "failure_burst" and finding.observed == 10
    assert finding.threshold == 10 and finding.severity == 3
    assert by_actor["source_ip:10.0.0.1"].evidence["source_ip"] == "10.0.0.1"


def test_spraying_from_one_address_fires_per_ip_only() -> None:
    events = [login(i, T0 + i * 10_000, actor=f"agent-{i}") for i in range(12)]
    [finding] = run(DETECTOR, MemoryState(), events)
    assert finding.actor == "source_ip:10.0.0.1" and finding.observed == 12
    assert finding.team is None


def test_a_few_typos_stay_quiet_and_failures_age_out() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, [login(i, T0 + i * 20_000) for i in range(3)]) == []
    assert run(DETECTOR, state, [login(10, T0 + 2 * MIN, ok=True)]) == []
    later = [login(20 + i, T0 + 10 * MIN + i * 20_000) for i in range(9)]
    assert run(DETECTOR, state, later) == []  # the first three fell out of the window


def test_success_right_after_a_burst_is_more_severe() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, [login(i, T0 + i * 30_000) for i in range(6)]) == []
    [finding] = run(DETECTOR, state, [login(99, T0 + 4 * MIN, ok=True)])
    assert finding.evidence["rule"] == "success_after_burst" and finding.observed == 6
    assert finding.threshold == 5 and finding.severity == 4


def test_each_success_is_judged_in_its_own_window() -> None:
    state = MemoryState()
    failures = [login(i, T0 + i * 30_000) for i in range(6)]
    later = [login(98, T0 + 4 * MIN, ok=True), login(99, T0 + 40 * MIN, ok=True)]
    findings = run(DETECTOR, state, failures + later)
    assert [f.evidence["rule"] for f in findings if f.actor == "agent-1"] == ["success_after_burst"]


def test_success_long_after_failures_is_quiet() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, [login(i, T0 + i * 30_000) for i in range(6)]) == []
    assert run(DETECTOR, state, [login(99, T0 + 20 * MIN, ok=True)]) == []


def test_late_failures_land_in_their_window_and_redelivery_counts_once() -> None:
    state = MemoryState()
    first = [login(i, T0 + 3 * MIN + i * 1000) for i in range(6)]
    assert run(DETECTOR, state, first) == []
    assert run(DETECTOR, state, first) == []
    [own, _ip] = run(DETECTOR, state, [login(50 + i, T0 + MIN + i * 1000) for i in range(4)])
    assert own.observed == 10


def test_allowlisted_actor_and_per_tenant_threshold() -> None:
    allow = AuthFailures(
        Tuning(AuthFailuresConfig(), allowlist=Allowlist(actors=frozenset({"agent-1"})))
    )
    assert run(allow, MemoryState(), [login(i, T0 + i) for i in range(20)]) == []
    tuned = AuthFailures(
        Tuning(
            AuthFailuresConfig(),
            tenants={"acme": AuthFailuresConfig(threshold_failures=3, by_source_ip=False)},
        )
    )
    [finding] = run(tuned, MemoryState(), [login(i, T0 + i) for i in range(3)])
    assert finding.actor == "agent-1" and finding.threshold == 3


def exactness_case(tmp: Path) -> Case:
    failures = [ev(i, "auth.login", T0 + i * 1000, outcome="failure", source_ip="10.9.9.9")
                for i in range(12)]  # fmt: skip
    return lambda p: AuthFailures(Tuning(AuthFailuresConfig()), p), [failures[:6], failures[6:]]


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> AuthFailures:
    return AuthFailures(Tuning(AuthFailuresConfig(threshold_failures=3)), prefix)
