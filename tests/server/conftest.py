"""Fixtures for the tracker server: a copy of the Apache Burr fixture and a real uvicorn on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from burr.tracking.server import create_burr_ui_app

# data written by the real Apache Burr 0.43 (a copy of shared/fixtures, see its README)
FIXTURE_HOME = Path(__file__).resolve().parents[1] / "fixtures/apache-burr-0.43/burr-home"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    """A uvicorn server in a background thread of this process, on 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, ready_path: str = "/ready") -> RunningServer:
        self.thread.start()
        wait_for(lambda: is_ready(self.url + ready_path), 20, "tracker server did not become ready")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def fixture_storage(tmp_path: Path) -> Path:
    """A private copy of the Apache Burr 0.43 storage dir (project ``demo_fixture``)."""
    if not FIXTURE_HOME.exists():
        pytest.skip(f"Apache Burr fixture not found at {FIXTURE_HOME}")
    dest = tmp_path / "burr-home"
    shutil.copytree(FIXTURE_HOME, dest)
    return dest


@pytest.fixture
def forked_log(fixture_storage: Path) -> Path:
    """The fixture's ``forked-app`` log (two steps, sequence ids 2 and 3): tests append to it."""
    return fixture_storage / "demo_fixture" / "forked-app" / "log.jsonl"


def log_entry(seq: int, action: str = "counter") -> str:
    """One completed step as the two JSON lines a tracker appends (``begin_entry``, ``end_entry``)."""
    begin = {
        "type": "begin_entry",
        "start_time": "2026-11-21T12:00:00+00:00",
        "action": action,
        "inputs": {},
        "sequence_id": seq,
    }
    end = {
        "type": "end_entry",
        "end_time": "2026-11-21T12:00:01+00:00",
        "action": action,
        "result": {},
        "exception": None,
        "state": {"counter": seq},
        "sequence_id": seq,
    }
    return json.dumps(begin) + "\n" + json.dumps(end) + "\n"


def append_text(path: Path, text: str) -> None:
    """Append to a log as a tracker would (the server tails it)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """Start ``create_burr_ui_app(storage, **kwargs)`` on a free loopback port; stopped at teardown."""
    servers: list[RunningServer] = []

    def start(storage: Path | str, ready_path: str = "/ready", **kwargs: Any) -> RunningServer:
        kwargs.setdefault("poll_interval", 0.1)
        app = create_burr_ui_app(str(storage), **kwargs)
        server = RunningServer(app).start(ready_path)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()
        s.app.state.burr_index.stop()


@pytest.fixture
def server(fixture_storage: Path, start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server(fixture_storage)


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, message: str = "condition not met in time"
) -> Any:
    """Poll until ``predicate()`` is truthy and return its value (servers and indexers run in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def is_ready(url: str) -> bool:
    """Whether a server answers 200 at ``url`` (its ``/ready``); False while it is still starting."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
