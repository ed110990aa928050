"""With BLINDAR_WEB_TOKEN set, every page the worker serves (faust's own included) needs
the token or is off; the probes answer without it and tell nothing but their status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service.settings import Settings
from tests.harness import WorkerProcess, running_worker

# The pages and their token, not the store: not run again on the Redis Cluster.
pytestmark = pytest.mark.services
TOKEN = "web-token-for-tests-0123456789"
PAGES = ["/", "/router/", "/table/", "/graph/", "/stats/", "/performance/", "/metrics"]
PAGES += ["/health", "/health?probe=live", "/nothing-here"]


@pytest.fixture
def guarded(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    with running_worker(settings, tmp_path / "worker.log", {"BLINDAR_WEB_TOKEN": TOKEN}) as proc:
        yield proc


def test_every_page_needs_the_token_and_probes_need_none(guarded: WorkerProcess) -> None:
    for page in PAGES:
        assert guarded.get(page, token="")[0] == 401, page
        assert guarded.get(page, token="wrong")[0] == 401, page
    for page in ("/router/", "/table/", "/graph/", "/stats/"):
        assert guarded.get(page)[0] == 404, f"faust's {page} is off"
    assert guarded.get("/metrics")[0] == 200
    assert guarded.get("/health")[0] == 200
    assert guarded.get("/livez", token="") == (200, b"ok\n")
    assert guarded.get("/readyz", token="") == (200, b"ready\n")
