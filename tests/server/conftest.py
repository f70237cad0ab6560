"""Fixtures for the tracker server: a copy of the Apache Burr fixture and a real uvicorn on loopback."""

from __future__ import annotations

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

FIXTURE_HOME = Path("/work/shared/fixtures/apache-burr-0.43/burr-home")
if not FIXTURE_HOME.exists():  # shared/ sits beside the repository in CI
    FIXTURE_HOME = Path(__file__).resolve().parents[3] / "shared/fixtures/apache-burr-0.43/burr-home"


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
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("tracker server did not become ready")

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


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``predicate()`` is truthy (the indexer runs in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
