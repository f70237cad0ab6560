"""The server over apps really run by our engine and tracker (format 2: snapshots + deltas)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def _build_example(name: str) -> Any:
    """The example's application, built (not run) the way a user would, to compare graphs with."""
    from burr.core.persistence import InMemoryPersister

    module = demo_data.load_example(name)
    if name in ("chatbot", "email-assistant"):
        return module.build_application(persister=InMemoryPersister())
    if name == "rag-chatbot":
        embedder = demo_data.load_example(name, "embeddings").HashingEmbedder()
        return module.build_application(embedder=embedder)
    return module.build_application()


def test_demo_projects_are_the_bundled_examples(demo: httpx.Client) -> None:
    names = {p["name"] for p in demo.get("/api/v1/projects").json()["projects"]}
    assert names == set(demo_data.DEMO_PROJECTS) and len(names) == len(demo_data.DEMO_EXAMPLES)


@pytest.mark.parametrize("example", sorted(demo_data.DEMO_EXAMPLES))
def test_demo_project_is_named_like_the_examples_own_project(example: str) -> None:
    assert demo_data.DEMO_EXAMPLES[example] == demo_data.load_example(example).PROJECT


@pytest.mark.parametrize("example", sorted(demo_data.DEMO_EXAMPLES))
def test_demo_app_graph_is_the_examples_graph(demo: httpx.Client, example: str) -> None:
    project = demo_data.DEMO_EXAMPLES[example]
    apps = demo.get(f"/api/v1/projects/{project}/apps").json()["apps"]
    top = next(a for a in apps if a["spawning_parent_pointer"] is None)
    graph = demo.get(f"/api/v1/projects/{project}/apps/{top['app_id']}").json()["graph"]
    expected = sorted(a.name for a in _build_example(example).graph.actions)
    assert sorted(a["name"] for a in graph["actions"]) == expected


def test_demo_action_code_is_the_examples_source(demo: httpx.Client) -> None:
    graph = demo.get(f"{C}/apps/count-to-3").json()["graph"]
    code = next(a["code"] for a in graph["actions"] if a["name"] == "counter")
    assert 'result = state["counter"] + 1' in code


def test_state_is_rebuilt_from_a_snapshot_and_deltas(demo: httpx.Client) -> None:
    step = demo.get(f"{C}/apps/long-count/steps/75").json()
    assert (step["action"], step["state"]["counter"]) == ("counter", 76)


def test_appended_list_is_rebuilt_past_the_first_snapshot(demo: httpx.Client) -> None:
    # four actions per simulated tick; `record` (the 4th) appends one timeline entry per tick
    sim = "/api/v1/projects/demo_traffic_simulation/apps/adaptive-seed-7"
    step = demo.get(f"{sim}/steps/203").json()
    assert (step["action"], len(step["state"]["timeline"])) == ("record", 51)


def test_state_before_is_the_previous_steps_state(demo: httpx.Client) -> None:
    step = demo.get(f"{C}/apps/long-count/steps/75").json()
    assert step["state_before"]["counter"] == 75


def test_steps_of_a_long_app_page_to_the_end(demo: httpx.Client) -> None:
    body = demo.get(f"{C}/apps/long-count/steps", params={"offset": 120, "limit": 50}).json()
    assert (body["total"], [s["action"] for s in body["steps"]]) == (121, ["result"])


def test_step_detail_has_the_recorded_transition(demo: httpx.Client) -> None:
    transition = demo.get(f"{C}/apps/count-to-3/steps/0").json()["transition"]
    assert transition["to"] == "counter"


def test_fork_demo_has_lineage_to_its_parent(demo: httpx.Client) -> None:
    body = demo.get(f"{C}/apps/count-to-10-fork").json()
    assert body["lineage"][0]["app_id"] == "count-to-10" and body["lineage"][0]["sequence_id"] == 3


def test_fork_demo_continues_from_the_parents_state(demo: httpx.Client) -> None:
    first = demo.get(f"{C}/apps/count-to-10-fork/steps/4").json()
    last = demo.get(f"{C}/apps/count-to-10-fork").json()["last_action"]
    assert (first["state"]["counter"], last) == (5, "result")


def test_failed_email_session_is_marked_failed_with_its_traceback(demo: httpx.Client) -> None:
    email = "/api/v1/projects/demo_email_assistant/apps/email-missing-answer"
    app = demo.get(email).json()
    step = demo.get(f"{email}/steps/{app['last_sequence_id']}").json()
    assert (app["status"], step["action"]) == ("failed", "clarify_instructions")
    assert "ValueError: clarify_instructions needs one answer per question" in step["exception"]


def test_email_session_goes_through_its_human_steps(demo: httpx.Client) -> None:
    steps = demo.get("/api/v1/projects/demo_email_assistant/apps/email-kickoff/steps").json()["steps"]
    assert [s["action"] for s in steps] == [
        "process_input",
        "determine_clarifications",
        "clarify_instructions",
        "formulate_draft",
        "process_feedback",
        "formulate_draft",
        "process_feedback",
        "final_result",
    ]


def test_chat_that_trips_the_safety_check_is_refused(demo: httpx.Client) -> None:
    steps = demo.get("/api/v1/projects/demo_chatbot/apps/chat-safety/steps").json()["steps"]
    assert [s["action"] for s in steps].count("refuse") == 1


def test_streamed_chat_step_has_stream_timing(demo: httpx.Client) -> None:
    step = demo.get("/api/v1/projects/demo_streaming_chatbot/apps/stream-hello/steps/1").json()
    assert step["stream"]["items"] > 1 and step["stream"]["items_per_second"] > 0


def test_rag_retrieve_step_has_spans_and_attributes(demo: httpx.Client) -> None:
    step = demo.get("/api/v1/projects/demo_conversational-rag/apps/rag-questions/steps/1").json()
    assert [s["name"] for s in step["spans"]] == ["embed_query", "rank_notes"]
    assert {a["key"]: a["value"] for a in step["attributes"]}["best"] == "persistence"


def test_llm_outage_shows_every_attempt_then_the_error_route(demo: httpx.Client) -> None:
    steps = demo.get("/api/v1/projects/demo_human_in_the_loop/apps/reply-outage/steps").json()["steps"]
    assert [(s["action"], s["status"], s["attempts"]) for s in steps] == [
        ("draft_reply", "failed", 3),
        ("apologize", "completed", 1),
    ]


def test_research_children_point_back_to_the_parent_step(demo: httpx.Client) -> None:
    project = "/api/v1/projects/demo_parallel_research"
    parent = demo.get(f"{project}/apps/research-bees").json()
    children = demo.get(f"{project}/apps", params={"parent": "research-bees"}).json()["apps"]
    assert len(parent["children"]) == 3 and {
        c["spawning_parent_pointer"]["sequence_id"] for c in children
    } == {1}


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
    assert [a["will_retry"] for a in step["attempt_history"]] == [True, True, False]
    assert all(a["start_time"] <= a["end_time"] and a["duration_ms"] >= 0 for a in step["attempt_history"])
