"""Fuzz /api/v1 from its own OpenAPI schema against a real server: no request may produce a 500."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from burr.tracking.server import create_burr_ui_app
from tests.server.conftest import FIXTURE_HOME, RunningServer


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    if not FIXTURE_HOME.exists():
        pytest.skip(f"Apache Burr fixture not found at {FIXTURE_HOME}")
    storage = tmp_path_factory.mktemp("fuzz") / "burr-home"
    shutil.copytree(FIXTURE_HOME, storage)
    app = create_burr_ui_app(str(storage), poll_interval=0.2)
    server = RunningServer(app).start()
    yield server
    server.stop()
    app.state.burr_index.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: RunningServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")


# the event stream stays open by design (covered in test_events.py)
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/v1/events")


@schema.parametrize()
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_500(case: schemathesis.Case, fuzz_server: RunningServer) -> None:
    case.call_and_validate(base_url=fuzz_server.url, checks=[not_a_server_error])
