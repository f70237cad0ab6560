"""Sub-applications in tracking: map branches and hand-built child apps link to their parent."""

from __future__ import annotations

import json
import os
from typing import Any

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.parallelism import MapStates
from burr.tracking import LocalTrackingClient


@action(reads=["x"], writes=["y"])
def square(state: State) -> State:
    return state.update(y=state["x"] ** 2)


class Squares(MapStates):
    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return square

    def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        for x in range(3):
            yield state.update(x=x)

    def reduce(self, state: State, states: Any) -> State:
        return state.update(squares=[s["y"] for s in states])

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["squares"]


def read_jsonl(path: str) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def flush() -> None:
    flush_fn = getattr(LocalTrackingClient, "flush", None)
    if callable(flush_fn):
        flush_fn()


def spawned(project_dir: str, parent: str) -> list[dict[str, Any]]:
    return [
        r
        for r in read_jsonl(os.path.join(project_dir, parent, "children.jsonl"))
        if r["event_type"] == "spawn_start"
    ]


def test_map_branches_link_to_parent_step_in_tracking(tmp_path: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(start=square, squares=Squares())
        .with_transitions(("start", "squares"))
        .with_entrypoint("start")
        .with_state(x=1)
        .with_identifiers(app_id="parent")
        .with_tracker("local", project="proj", params={"storage_dir": str(tmp_path)})
        .build()
    )
    app.run(halt_after=["squares"])
    flush()
    project_dir = os.path.join(str(tmp_path), "proj")
    children = spawned(project_dir, "parent")
    assert [(c["sequence_id"], c["child"]["app_id"] != "parent") for c in children] == [(1, True)] * 3
    for child in children:
        meta = read_json(os.path.join(project_dir, child["child"]["app_id"], "metadata.json"))
        assert (
            meta["spawning_parent_pointer"]["app_id"],
            meta["spawning_parent_pointer"]["sequence_id"],
        ) == (
            "parent",
            1,
        )


def test_map_branch_steps_are_logged_in_child_log(tmp_path: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(squares=Squares())
        .with_entrypoint("squares")
        .with_identifiers(app_id="parent")
        .with_tracker("local", project="proj", params={"storage_dir": str(tmp_path)})
        .build()
    )
    app.run(halt_after=["squares"])
    flush()
    project_dir = os.path.join(str(tmp_path), "proj")
    child_id = spawned(project_dir, "parent")[0]["child"]["app_id"]
    ends = [
        r for r in read_jsonl(os.path.join(project_dir, child_id, "log.jsonl")) if r["type"] == "end_entry"
    ]
    assert [(e["action"], e["sequence_id"]) for e in ends] == [("square", 0)]


def test_map_with_tracker_none_behaviour_creates_no_child_dirs(tmp_path: Any) -> None:
    class Untracked(Squares):
        def tracker(self, **kwargs: Any) -> Any:
            return None

    app = (
        ApplicationBuilder()
        .with_actions(squares=Untracked())
        .with_entrypoint("squares")
        .with_identifiers(app_id="parent")
        .with_tracker("local", project="proj", params={"storage_dir": str(tmp_path)})
        .build()
    )
    _, _, state = app.run(halt_after=["squares"])
    flush()
    assert (os.listdir(os.path.join(str(tmp_path), "proj")), state["squares"]) == (["parent"], [0, 1, 4])


@action(reads=["x"], writes=["child_result"])
def spawn_child(state: State, __context: ApplicationContext) -> State:
    child = (
        ApplicationBuilder()
        .with_actions(square=square)
        .with_entrypoint("square")
        .with_state(x=state["x"])
        .with_identifiers(app_id="the-child")
        .with_tracker(__context.tracker.copy())
        .with_spawning_parent(__context.app_id, __context.sequence_id, __context.partition_key)
        .build()
    )
    _, _, child_state = child.run(halt_after=["square"])
    return state.update(child_result=child_state["y"])


def test_recursive_child_app_links_both_ways(tmp_path: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(spawn=spawn_child)
        .with_entrypoint("spawn")
        .with_state(x=7)
        .with_identifiers(app_id="outer", partition_key="pk")
        .with_tracker("local", project="proj", params={"storage_dir": str(tmp_path)})
        .build()
    )
    _, _, state = app.run(halt_after=["spawn"])
    flush()
    project_dir = os.path.join(str(tmp_path), "proj")
    meta = read_json(os.path.join(project_dir, "the-child", "metadata.json"))
    link = spawned(project_dir, "outer")
    assert state["child_result"] == 49
    assert meta["spawning_parent_pointer"] == {
        "type": "pointer_data",
        "app_id": "outer",
        "sequence_id": 0,
        "partition_key": "pk",
    }
    assert [(c["child"]["app_id"], c["sequence_id"]) for c in link] == [("the-child", 0)]
