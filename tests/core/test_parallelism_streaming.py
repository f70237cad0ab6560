"""StreamingMapStates: branch items stream out of stream_result tagged with their branch."""

from __future__ import annotations

from typing import Any

import pytest

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.action import streaming_action
from burr.core.parallelism import StreamingMapStates


@streaming_action(reads=["x"], writes=["y"])
def count_up(state: State) -> Any:
    for i in range(3):
        yield {"tick": i, "x": state["x"]}, None
    yield {"y": state["x"]}, state.update(y=state["x"])


@action(reads=["x"], writes=["y"])
def plain(state: State) -> State:
    if state["x"] == 99:
        raise RuntimeError("bad branch")
    return state.update(y=state["x"])


def streaming_map(branch: Any, xs: list[int], **attrs: Any) -> StreamingMapStates:
    class Fan(StreamingMapStates):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return branch

        def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            for x in xs:
                yield state.update(x=x)

        def reduce(self, state: State, states: Any) -> State:
            return state.update(ys=[s["y"] for s in states])

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["ys"]

    for k, v in attrs.items():
        setattr(Fan, k, v)
    return Fan()


def build(m: Any) -> Any:
    return ApplicationBuilder().with_actions(map=m).with_entrypoint("map").build()


def test_stream_result_yields_each_branch_items_tagged_with_branch() -> None:
    _, container = build(streaming_map(count_up, [5, 6])).stream_result(halt_after=["map"])
    items = [i for i in container if not i["done"]]
    per_branch = {b: [i["item"]["tick"] for i in items if i["branch"] == b] for b in ("0-0", "0-1")}
    assert per_branch == {"0-0": [0, 1, 2], "0-1": [0, 1, 2]}
    assert {i["action"] for i in items} == {"count_up"}


def test_stream_result_reports_each_branch_done_once() -> None:
    _, container = build(streaming_map(count_up, [5, 6, 7])).stream_result(halt_after=["map"])
    done = sorted(i["branch"] for i in container if i["done"])
    assert done == ["0-0", "0-1", "0-2"]


def test_stream_result_final_state_is_reduced() -> None:
    _, container = build(streaming_map(count_up, [5, 6])).stream_result(halt_after=["map"])
    _, state = container.get()
    assert state["ys"] == [5, 6]


def test_streaming_map_run_without_stream_gives_reduced_state() -> None:
    _, _, state = build(streaming_map(count_up, [1, 2])).run(halt_after=["map"])
    assert state["ys"] == [1, 2]


def test_streaming_map_of_non_streaming_action_streams_done_items() -> None:
    _, container = build(streaming_map(plain, [1, 2])).stream_result(halt_after=["map"])
    items = list(container)
    assert sorted((i["branch"], i["done"], i["error"]) for i in items) == [
        ("0-0", True, None),
        ("0-1", True, None),
    ]


def test_streaming_map_collect_reports_failed_branch_in_done_item() -> None:
    _, container = build(streaming_map(plain, [1, 99], on_branch_failure="collect")).stream_result(
        halt_after=["map"]
    )
    errors = {i["branch"]: i["error"] for i in container if i["done"]}
    result, state = container.get()
    assert errors == {"0-0": None, "0-1": "RuntimeError: bad branch"}
    assert (state["ys"], result["failed_branches"][0]["branch"]) == ([1], "0-1")


def test_streaming_map_fail_fast_raises_the_branch_error_after_its_item() -> None:
    _, container = build(streaming_map(plain, [99])).stream_result(halt_after=["map"])
    items: list[dict[str, Any]] = []
    with pytest.raises(RuntimeError, match="bad branch"):
        for item in container:
            items.append(item)
    assert [(i["branch"], i["error"]) for i in items] == [("0-0", "RuntimeError: bad branch")]
