"""End to end: canaries through a real worker, Kafka and Redis. A canary is detected and
never reaches Alertmanager or the webhook; a forged one pages; a detector switched off
turns its canaries into misses (output, Redis results, the runner's metric)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from monitor.service.canary import results
from monitor.service.canary.signing import actor_id, sign
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from tests.harness import (
    REPO_ROOT,
    TopicReader,
    WorkerProcess,
    blindar,
    free_port,
    open_store,
    produce,
    wait_until,
    worker_env,
)
from tests.servers import Alertmanager, Receiver, running
from tests.sinks_helpers import SECRET

pytestmark = pytest.mark.services

CANARY = """canary:
  interval_minutes: 0.1
  miss_deadline_minutes: 1
  checks:
    - tenant: acme
      channels: [email, chat]
      detectors: [bulk_export]
"""


def config(
    tmp_path: Path,
    bulk_export: bool = True,
    canary: str = CANARY,
    channel_files: dict[str, str] | None = None,
) -> Path:
    out = tmp_path / "config"
    out.mkdir()
    (out / "channels.yaml").write_text((DEFAULT_CONFIG_DIR / "channels.yaml").read_text())
    detectors = (DEFAULT_CONFIG_DIR / "detectors.yaml").read_text()
    if not bulk_export:
        detectors = re.sub(r"(bulk_export:\n\s+enabled:) true", r"\1 false", detectors, count=1)
    (out / "detectors.yaml").write_text(detectors)
    (out / "canary.yaml").write_text(canary)
    if channel_files:
        (out / "channels.d").mkdir()
        for name, text in channel_files.items():
            (out / "channels.d" / f"{name}.yaml").write_text(text)
    return out


def canary_config(channels: str, detectors: str) -> str:
    return (
        "canary:\n  checks:\n    - tenant: acme\n"
        f"      channels: {channels}\n      detectors: {detectors}\n"
    )


def lines(run: subprocess.CompletedProcess[str], word: str) -> list[str]:
    return [line for line in run.stdout.splitlines() if line.startswith("canary ") and word in line]


def canary_results(settings: Settings, tenant: str) -> dict:
    async def read() -> dict:
        store = await open_store(settings)
        try:
            day = results.day_of(int(time.time() * 1000))
            return await results.read(store.client, settings.redis_prefix, tenant, [day])
        finally:
            await store.aclose()

    return asyncio.run(read())


def test_canary_is_detected_and_never_reaches_alertmanager_or_the_webhook(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    notified, hook = Receiver(), Receiver()
    am = Alertmanager(tmp_path / "am", notified.url("/am"))
    env = {
        "BLINDAR_ALERTMANAGER_URL": am.base,
        "BLINDAR_WEBHOOK_URL": hook.url("/hook"),
        "BLINDAR_WEBHOOK_SECRET": SECRET.decode(),
    }
    settings = replace(settings, config_dir=config(tmp_path))
    try:
        with running(am):
            worker = WorkerProcess(settings, tmp_path / "worker.log", env).start()
            started.append(worker)
            worker.wait_ready()
            run = blindar(settings, "canary", "--deadline-seconds", "60")
            assert run.returncode == 0, run.stdout + run.stderr
            assert "2 detected, 0 missed" in run.stdout
            docs = TopicReader(settings, settings.alerts_topic).wait_for(2)
            canaries = [d for d in docs if d.get("is_alert") is False]
            assert {d["finding_info"]["analytic"]["name"] for d in canaries} == {"bulk_export"}
            assert all("canary" in d["metadata"]["labels"] for d in canaries)
            for channel in ("email", "chat"):
                latency = "blindar_canary_latency_seconds_count"
                assert worker.metric(latency, channel=channel, detector="bulk_export") == 1
            stored = canary_results(settings, "acme")
            assert stored["counts"]["detected|email|bulk_export"] == 1
            assert len(stored["latencies"]) == 2 and not stored["misses"]
            today = results.day_of(int(time.time() * 1000))
            out = tmp_path / "report.html"
            done = blindar(settings, "report", "--tenant", "acme", "--from", today, "--to",
                           today, "--out", str(out))  # fmt: skip
            assert done.returncode == 0, done.stderr
            section = orjson.loads(out.with_suffix(".json").read_bytes())["canaries"]
            assert (section["run"], section["detected"], section["missed"]) == (2, 2, 0)
            assert all(r["latency_p50_s"] > 0 for r in section["per_channel"])
            assert "No coverage gap: every canary was detected." in out.read_text()

            # A real leak after the canaries: it pages, and it is the only thing paged.
            now = int(time.time() * 1000)
            produce(settings, "backoffice", exports("agent-7", now, 2, 300))
            wait_until(lambda: am.alerts(alertname="bulk_export"), 60, what="real alert in AM")
            [request] = wait_until(lambda: hook.received("/hook"), 30, what="webhook request")
            assert b"canary:" not in request.body
            assert [a["labels"]["actor"] for a in am.alerts()] == ["agent-7"]
    finally:
        notified.close()
        hook.close()


def exports(actor: str, start: int, count: int, records: int, **extra: object) -> list[dict]:
    return [
        {
            "event_id": f"x-{actor}-{start}-{i}",
            "ts": start + i,
            "tenant": "acme",
            "channel": "backoffice",
            "action": "record.export",
            "actor": {"id": actor},
            "records": records,
            **extra,
        }
        for i in range(count)
    ]


def test_a_forged_canary_is_judged_as_a_real_leak_and_pages(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    hook = Receiver()
    env = {"BLINDAR_WEBHOOK_URL": hook.url("/hook"), "BLINDAR_WEBHOOK_SECRET": SECRET.decode()}
    settings = replace(settings, config_dir=config(tmp_path))
    try:
        worker = WorkerProcess(settings, tmp_path / "worker.log", env).start()
        started.append(worker)
        worker.wait_ready()
        now = int(time.time() * 1000)
        actor = actor_id(now, "forged")
        forged = [
            sign(e, b"not-the-canary-key-0123456789", "run", "bulk_export")
            for e in exports(actor, now, 2, 300)
        ]
        produce(settings, "backoffice", forged)
        [request] = wait_until(lambda: hook.received("/hook"), 60, what="forged canary paged")
        doc = orjson.loads(request.body)
        assert doc["finding_info"]["analytic"]["name"] == "bulk_export"
        assert doc["actor"]["user"]["uid"] == f"forged-{actor}"
        assert doc.get("is_alert") is not False
        assert worker.metric("blindar_canary_forged_total", channel="backoffice") == 2
    finally:
        hook.close()


def test_a_detector_switched_off_turns_its_canaries_into_misses(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    settings = replace(settings, config_dir=config(tmp_path, bulk_export=False))
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    started.append(worker)
    worker.wait_ready()
    port = free_port()
    log = (tmp_path / "canary.log").open("wb")
    loop = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "canary",
            "--loop",
            "--deadline-seconds",
            "10",
            "--metrics-port",
            str(port),
        ],
        cwd=REPO_ROOT,
        env=worker_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def missed() -> float:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
            except OSError:
                return 0.0
            lines = body.read().decode().splitlines()
            wanted = 'blindar_canary_missed_total{channel="email",detector="bulk_export"}'
            return sum(float(x.rsplit(" ", 1)[1]) for x in lines if x.startswith(wanted))

        wait_until(lambda: missed() >= 1, 90, what="missed canary counted")
        # the metric counts as it decides; the run's results are written to Redis after
        stored = wait_until(
            lambda: (r := canary_results(settings, "acme"))["misses"][1:] and r,
            30,
            what="misses recorded",
        )
        assert stored["counts"]["missed|email|bulk_export"] >= 1
        assert stored["counts"].get("detected|email|bulk_export", 0) == 0
        assert {m["channel"] for m in stored["misses"]} == {"email", "chat"}
    finally:
        loop.terminate()
        loop.wait(10)
        log.close()
    assert "MISSED" in (tmp_path / "canary.log").read_text()
    # The tenant's assurance report states each miss as a coverage gap.
    today = results.day_of(int(time.time() * 1000))
    out = tmp_path / "report.html"
    done = blindar(settings, "report", "--tenant", "acme", "--from", today, "--to", today,
                   "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    section = orjson.loads(out.with_suffix(".json").read_bytes())["canaries"]
    assert section["missed"] >= 2 and section["detected"] == 0
    assert {g["channel"] for g in section["coverage_gaps"]} == {"email", "chat"}
    html = out.read_text()
    assert "Coverage gap: a bulk_export leak sent on email" in html
    assert "would not have been caught" in html


CRM = """mapping:
  event_id: id
  ts: {from: when, format: epoch_ms}
  tenant: org
  actor.id: user
  action: {from: op, map: {EXP: record.export, VW: record.view}}
  resource.type: kind
"""


def test_a_mapping_that_drops_a_field_turns_its_canaries_into_misses(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    """Two channels of the same producer shape: crm_full maps `records`, crm_lossy's mapping
    lost it (every export then counts one record). The canaries are written in each
    channel's own shape: crm_full's is caught, crm_lossy's is missed."""
    files = {"crm_full": CRM + "  records: {from: rows, as: int}\n", "crm_lossy": CRM}
    canary = canary_config("[crm_full, crm_lossy]", "[bulk_export]")
    settings = replace(settings, config_dir=config(tmp_path, canary=canary, channel_files=files))
    assert blindar(settings, "topics").returncode == 0
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    started.append(worker)
    worker.wait_ready()
    run = blindar(settings, "canary", "--deadline-seconds", "25")
    assert run.returncode == 1, run.stdout + run.stderr
    assert len(lines(run, "crm_full") + lines(run, "detected")) >= 2
    [missed] = lines(run, "MISSED")
    assert "crm_lossy" in missed and "bulk_export" in missed
    # the lossy canary was read and judged (not dead-lettered): its exports fell short
    assert worker.metric("blindar_events_total", channel="crm_lossy") == 2


def test_a_topic_held_behind_the_others_turns_their_canaries_into_misses(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    """voice's connector delivers events two hours old: the watermark stays two hours back,
    so email's partitions (current traffic) run ahead of it and are paused (event-time
    alignment). A canary on email waits behind the pause: missed."""
    canary = canary_config("[email]", "[bulk_export]")
    settings = replace(settings, config_dir=config(tmp_path, canary=canary))
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    started.append(worker)
    worker.wait_ready()
    stop = threading.Event()

    def behind() -> None:
        n = 0
        while not stop.is_set():
            old = int(time.time() * 1000) - 2 * 3_600_000
            produce(settings, "voice", [slow_event(f"slow-{n}", old)])
            n += 1
            stop.wait(1.0)

    feeder = threading.Thread(target=behind, daemon=True)
    feeder.start()
    try:
        now = int(time.time() * 1000)
        produce(settings, "email", [slow_event(f"mail-{i}", now, f"agent-{i}") for i in range(60)])
        wait_until(lambda: worker.metric("blindar_paused_partitions") >= 6, 60,
                   what="email's partitions paused behind voice")  # fmt: skip
        run = blindar(settings, "canary", "--deadline-seconds", "15")
    finally:
        stop.set()
        feeder.join(10)
    assert run.returncode == 1, run.stdout + run.stderr
    [missed] = lines(run, "MISSED")
    assert "email" in missed


def slow_event(event_id: str, ts: int, actor: str = "agent-slow") -> dict:
    return {"event_id": event_id, "ts": ts, "tenant": "acme", "action": "record.search",
            "actor": {"id": actor}}  # fmt: skip


def test_a_stuck_consumer_turns_the_canaries_of_its_partitions_into_misses(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    """Two workers share the partitions; one is frozen (SIGSTOP: it keeps its partitions
    until its session times out). The canaries keyed onto its partitions are missed, those
    of the other worker's partitions detected."""
    canary = canary_config("all", "[bulk_export, enumeration]")
    settings = replace(settings, config_dir=config(tmp_path, canary=canary))
    workers: list[WorkerProcess] = []
    for n in range(2):
        worker = WorkerProcess(replace(settings, web_port=free_port()), tmp_path / f"w{n}.log")
        workers.append(worker.start())
        started.append(worker)
        worker.wait_ready()
        if n == 0:
            every = worker.health()["assigned_partitions"]

    def shared() -> bool:
        counts = [w.health()["assigned_partitions"] for w in workers]
        return all(counts) and sum(counts) == every

    wait_until(shared, 90, what="both workers sharing the partitions")
    frozen = workers[1]
    assert frozen.proc is not None
    os.killpg(frozen.proc.pid, signal.SIGSTOP)
    try:
        run = blindar(settings, "canary", "--deadline-seconds", "20")
    finally:
        os.killpg(frozen.proc.pid, signal.SIGCONT)
    assert run.returncode == 1, run.stdout + run.stderr
    assert lines(run, "MISSED") and lines(run, "detected"), run.stdout
