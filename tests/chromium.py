"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol: load a page,
collect console errors, failed loads and every network request, measure elements, and
save a full-page PNG. Used by the report test to check what a person would see."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")


def chromium_binary() -> str | None:
    return shutil.which("chromium")


@dataclass
class Rendered:
    """What loading a page showed."""

    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    measured: Any = None  # the value of the `measure` expression


class DevTools:
    """One browser page over a flat DevTools session."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        await self.ws.send_str(orjson.dumps(message).decode())
        while True:
            reply = await self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    async def receive(self) -> dict[str, Any]:
        message = await self.ws.receive()
        if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            raise RuntimeError(f"DevTools connection ended: {message.type.name} {message.data}")
        return orjson.loads(message.data)

    async def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        async def next_match() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if event["method"] == method:
                        return event
                reply = await self.receive()
                if "method" in reply:
                    self.events.append(reply)

        return await asyncio.wait_for(next_match(), timeout)


def problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions, log errors and failed loads, as text."""
    out = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            out.append(f"load failed: {params.get('errorText')}")
    return out


async def _render(endpoint: str, page: Path, png: Path, measure: str, width: int) -> Rendered:
    async with aiohttp.ClientSession() as http, http.ws_connect(endpoint, max_msg_size=0) as ws:
        tools = DevTools(ws)
        target = await tools.call("Target.createTarget", url="about:blank")
        attached = await tools.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        tools.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await tools.call(f"{domain}.enable")
        await tools.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        tools.events.clear()
        await tools.call("Page.navigate", url=page.resolve().as_uri())
        await tools.wait_event("Page.loadEventFired")
        value = await tools.call("Runtime.evaluate", expression=measure, returnByValue=True)
        metrics = await tools.call("Page.getLayoutMetrics")
        height = int(metrics["cssContentSize"]["height"]) + 1
        await tools.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = await tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        png.write_bytes(base64.b64decode(shot["data"]))
        await asyncio.sleep(0.2)  # late console messages
        requests = [
            e["params"]["request"]["url"]
            for e in tools.events
            if e["method"] == "Network.requestWillBeSent"
        ]
        return Rendered(problems(tools.events), requests, value["result"].get("value"))


def render_page(
    page: Path, png: Path, measure: str = "null", width: int = 1100, timeout: float = 90
) -> Rendered:
    """Load `page` in headless Chromium, evaluate `measure` (a JS expression) and save a
    full-page screenshot to `png`."""
    binary = chromium_binary()
    if binary is None:
        raise AssertionError("chromium is not installed: run deploy/local/packages.sh")
    # Chromium's helper processes may still be writing the profile as they exit.
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            rendering = _render(_endpoint(proc), page, png, measure, width)
            return asyncio.run(asyncio.wait_for(rendering, timeout))
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the browser and its helper processes (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # helpers outlive the main process by a moment
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _endpoint(proc: subprocess.Popen[bytes]) -> str:
    """The browser's DevTools websocket URL, read from its stderr."""
    assert proc.stderr is not None
    seen = b""
    for line in proc.stderr:
        seen += line
        found = LISTENING.search(line)
        if found:
            return found.group(1).decode()
    raise AssertionError(f"chromium did not start:\n{seen.decode(errors='replace')[-2000:]}")
