"""The server over apps really run by our engine and tracker (format 2: snapshots + deltas)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from burr.cli import demo_data
from tests.server.conftest import RunningServer


@pytest.fixture(scope="module")
def demo_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    storage = tmp_path_factory.mktemp("demo")
    demo_data.generate(str(storage))
    demo_data.run_counter(str(storage), "long-count", 120)
    return storage


@pytest.fixture
def demo(demo_storage: Path, start_server: Callable[..., RunningServer]) -> Iterator[httpx.Client]:
    server = start_server(demo_storage)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


C = "/api/v1/projects/demo_counter"


def test_demo_projects_are_listed(demo: httpx.Client) -> None:
    names = {p["name"] for p in demo.get("/api/v1/projects").json()["projects"]}
    assert names == {"demo_counter", "demo_chatbot", "demo_parallel"}


def test_state_is_rebuilt_from_a_snapshot_and_deltas(demo: httpx.Client) -> None:
    step = demo.get(f"{C}/apps/long-count/steps/75").json()
    assert (step["state"]["count"], len(step["state"]["history"])) == (76, 76)


def test_state_before_is_the_previous_steps_state(demo: httpx.Client) -> None:
    step = demo.get(f"{C}/apps/long-count/steps/75").json()
    assert step["state_before"]["count"] == 75


def test_steps_of_a_long_app_page_to_the_end(demo: httpx.Client) -> None:
    body = demo.get(f"{C}/apps/long-count/steps", params={"offset": 120, "limit": 50}).json()
    assert (body["total"], [s["action"] for s in body["steps"]]) == (121, ["done"])


def test_step_detail_has_the_recorded_transition(demo: httpx.Client) -> None:
    transition = demo.get(f"{C}/apps/count-to-3/steps/0").json()["transition"]
    assert transition["to"] == "increment"


def test_fork_demo_has_lineage_to_its_parent(demo: httpx.Client) -> None:
    body = demo.get(f"{C}/apps/count-to-10-fork").json()
    assert body["lineage"][0]["app_id"] == "count-to-10" and body["lineage"][0]["sequence_id"] == 3


def test_failed_chat_is_marked_failed_with_its_traceback(demo: httpx.Client) -> None:
    chat = "/api/v1/projects/demo_chatbot/apps/chat-demonstrate-errors"
    app = demo.get(chat).json()
    step = demo.get(f"{chat}/steps/{app['last_sequence_id']}").json()
    assert app["status"] == "failed" and "RuntimeError" in step["exception"]


def test_streamed_chat_step_has_stream_timing(demo: httpx.Client) -> None:
    step = demo.get("/api/v1/projects/demo_chatbot/apps/chat-hello/steps/1").json()
    assert step["stream"]["items"] > 1 and step["stream"]["items_per_second"] > 0


def test_fan_out_children_point_back_to_the_parent_step(demo: httpx.Client) -> None:
    parent = demo.get("/api/v1/projects/demo_parallel/apps/fan-out").json()
    children = demo.get("/api/v1/projects/demo_parallel/apps", params={"parent": "fan-out"}).json()["apps"]
    assert len(parent["children"]) == 4 and {
        c["spawning_parent_pointer"]["sequence_id"] for c in children
    } == {0}


def test_retried_step_is_one_row_with_every_attempt(
    tmp_path: Path, start_server: Callable[..., RunningServer]
) -> None:
    from burr.core import ApplicationBuilder, State
    from burr.core.action import action
    from burr.core.policies import RetryPolicy

    calls = {"n": 0}

    @action(reads=[], writes=["ok"])
    def flaky(state: State) -> State:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("503 from the model provider")
        return state.update(ok=True)

    app = (
        ApplicationBuilder()
        .with_actions(flaky=flaky)
        .with_transitions()
        .with_entrypoint("flaky")
        .with_policies(flaky=RetryPolicy(max_attempts=3, initial_delay=0.001, jitter=0))
        .with_tracker("local", project="retries", params={"storage_dir": str(tmp_path)})
        .with_identifiers(app_id="a1")
        .build()
    )
    app.run(halt_after=["flaky"])
    server = start_server(tmp_path)
    steps = httpx.get(f"{server.url}/api/v1/projects/retries/apps/a1/steps").json()["steps"]
    step = httpx.get(f"{server.url}/api/v1/projects/retries/apps/a1/steps/0").json()
    assert [(s["attempts"], s["status"]) for s in steps] == [(3, "completed")]
    assert [a["attempt"] for a in step["attempt_history"]] == [1, 2, 3] and step["state"]["ok"] is True
