"""Starting the worker process: validate everything first, then hand over to Faust."""

from __future__ import annotations

import asyncio
import logging

import faust
import uvloop

from monitor.service.app import Worker
from monitor.service.gc_tuning import tune_gc
from monitor.service.preflight import preflight
from monitor.service.settings import Settings

log = logging.getLogger("blindar.worker")


def run_worker(settings: Settings) -> int:
    """Run until interrupted; config errors raise before anything connects."""
    settings.check_web_guard()
    worker = Worker.from_settings(settings)
    preflight(settings)
    tune_gc()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.set_event_loop(asyncio.new_event_loop())
    faust.Worker(worker.app, loglevel="INFO", quiet=True).execute_from_commandline()
    return 0
