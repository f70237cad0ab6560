"""Token auth, read-only mode, mounting into another FastAPI app, and serving the UI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from burr.tracking.server import mount_burr_ui
from tests.server.conftest import RunningServer

P = "/api/v1/projects/demo_fixture"


TOKEN = "s3cret"


@pytest.fixture
def token_server(fixture_storage: Path, start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server(fixture_storage, token=TOKEN)


@pytest.fixture
def read_only_server(fixture_storage: Path, start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server(fixture_storage, read_only=True)


@pytest.fixture
def mounted(fixture_storage: Path) -> Iterator[RunningServer]:
    """A parent FastAPI app with its own ``/hello`` route and the tracker mounted under ``/burr``."""
    parent = FastAPI()

    @parent.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    sub = mount_burr_ui(parent, "/burr", storage_dir=str(fixture_storage), poll_interval=0.1)
    server = RunningServer(parent).start("/burr/ready")
    try:
        yield server
    finally:
        server.stop()
        sub.state.burr_index.stop()


def test_token_mode_rejects_requests_without_the_token(token_server: RunningServer) -> None:
    r = httpx.get(f"{token_server.url}/api/v1/projects")
    assert r.status_code == 401 and "token" in r.json()["error"]


def test_token_mode_accepts_a_bearer_header(token_server: RunningServer) -> None:
    r = httpx.get(f"{token_server.url}/api/v1/projects", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200


def test_token_mode_accepts_a_query_token_for_event_streams(token_server: RunningServer) -> None:
    assert httpx.get(f"{token_server.url}/api/v1/projects", params={"token": TOKEN}).status_code == 200


def test_token_mode_rejects_a_wrong_token(token_server: RunningServer) -> None:
    r = httpx.get(f"{token_server.url}/api/v1/projects", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_read_only_mode_refuses_annotation_writes(read_only_server: RunningServer) -> None:
    r = httpx.post(
        f"{read_only_server.url}{P}/apps/counter-app/steps/0/annotations", json={"step_name": "counter"}
    )
    assert r.status_code == 403 and "read-only" in r.json()["error"]


def test_read_only_mode_still_serves_reads(read_only_server: RunningServer) -> None:
    assert httpx.get(f"{read_only_server.url}/api/v1/version").json()["read_only"] is True


def test_mounted_ui_serves_the_api_under_its_prefix(mounted: RunningServer) -> None:
    projects = httpx.get(f"{mounted.url}/burr/api/v1/projects").json()["projects"]
    own = httpx.get(f"{mounted.url}/hello").json()
    assert ([p["name"] for p in projects], own) == (["demo_fixture"], {"hello": "world"})


def test_mounted_ui_page_gets_a_base_href_for_its_prefix(mounted: RunningServer) -> None:
    page = httpx.get(f"{mounted.url}/burr/").text
    assert '<base href="/burr/">' in page


def test_deep_links_fall_back_to_the_ui_page(client: httpx.Client) -> None:
    r = client.get("/project/demo_fixture/some/deep/link")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


def test_unknown_api_route_is_a_json_404_not_the_ui_page(client: httpx.Client) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")


def test_static_files_cannot_escape_the_bundle_dir(client: httpx.Client) -> None:
    r = client.get(client.base_url.copy_with(raw_path=b"/..%2F..%2F__init__.py"))
    assert "text/html" in r.headers["content-type"] or r.status_code >= 400
