"""MapStates / MapActions / MapActionsAndStates / TaskBasedParallelAction: Apache Burr's semantics."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.action import Action
from burr.core.graph import GraphBuilder
from burr.core.parallelism import (
    MapActions,
    MapActionsAndStates,
    MapStates,
    RunnableGraph,
    SubGraphTask,
    TaskBasedParallelAction,
    _cascade_adapter,
    _stable_app_id_hash,
    map_reduce_action,
)
from burr.core.persistence import InMemoryPersister


@action(reads=["x"], writes=["y"])
def square(state: State) -> State:
    return state.update(y=state["x"] ** 2)


@action(reads=["x"], writes=["y"])
def cube(state: State) -> State:
    return state.update(y=state["x"] ** 3)


class Squares(MapStates):
    def __init__(self, n: int = 3) -> None:
        super().__init__()
        self.n = n

    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return square

    def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        for x in range(self.n):
            yield state.update(x=x)

    def reduce(self, state: State, states: Any) -> State:
        return state.update(squares=[s["y"] for s in states])

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["squares"]


def run_one(map_action: Action, state: dict[str, Any] | None = None, **builder_kw: Any) -> State:
    app = (
        ApplicationBuilder()
        .with_actions(map=map_action)
        .with_transitions()
        .with_entrypoint("map")
        .with_state(**(state or {}))
        .build()
    )
    _, _, final = app.run(halt_after=["map"])
    return final


def test_map_states_reduces_branch_results_in_order() -> None:
    assert run_one(Squares(5))["squares"] == [0, 1, 4, 9, 16]


def test_map_states_with_zero_branches_reduces_nothing() -> None:
    assert run_one(Squares(0))["squares"] == []


def test_task_based_parallel_action_declares_context_input() -> None:
    assert Squares().inputs == ["__context"]


def test_running_without_context_raises_requires_context() -> None:
    with pytest.raises(ValueError, match="This action requires a context to run"):
        Squares().with_name("map").run_and_update(State({}))


def test_tasks_and_reduce_receive_state_without_internal_keys() -> None:
    seen: list[list[str]] = []

    class Spy(Squares):
        def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            seen.append(sorted(state.keys()))
            yield from super().states(state, context, inputs)

        def reduce(self, state: State, states: Any) -> State:
            seen.append(sorted(state.keys()))
            return super().reduce(state, states)

    run_one(Spy(2), {"a": 1})
    assert seen == [["a"], ["a"]]


def test_branch_states_include_child_internal_keys() -> None:
    captured: list[dict[str, Any]] = []

    class Capture(Squares):
        def reduce(self, state: State, states: Any) -> State:
            captured.extend(s.get_all() for s in states)
            return state.update(squares=[])

    run_one(Capture(1))
    assert captured == [{"x": 0, "y": 0, "__SEQUENCE_ID": 0, "__PRIOR_STEP": "square"}]


def test_map_actions_calls_actions_with_context_second() -> None:
    args: list[Any] = []

    class Both(MapActions):
        def actions(self, state: State, inputs: Any, context: Any) -> Any:
            args.append((type(inputs), type(context)))  # positional: (state, context, inputs)
            yield square
            yield cube

        def state(self, state: State, inputs: dict[str, Any]) -> State:
            return state.update(x=2)

        def reduce(self, state: State, states: Any) -> State:
            return state.update(out=[s["y"] for s in states])

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["out"]

    assert run_one(Both())["out"] == [4, 8]
    assert args == [(ApplicationContext, dict)]


def test_map_actions_and_states_runs_actions_outer_states_inner() -> None:
    class Product(MapActionsAndStates):
        def actions(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            yield square
            yield cube

        def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            yield state.update(x=2)
            yield state.update(x=3)

        def reduce(self, state: State, states: Any) -> State:
            return state.update(out=[s["y"] for s in states])

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["out"]

    assert run_one(Product())["out"] == [4, 9, 8, 27]


def test_branch_inputs_are_forwarded_without_dunder_keys() -> None:
    @action(reads=["x"], writes=["y"])
    def scale(state: State, factor: int) -> State:
        return state.update(y=state["x"] * factor)

    class Scaled(Squares):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return scale

        @property
        def inputs(self) -> list[str]:
            return ["__context", "factor"]

    app = ApplicationBuilder().with_actions(map=Scaled(3)).with_entrypoint("map").build()
    _, _, state = app.run(halt_after=["map"], inputs={"factor": 10})
    assert state["squares"] == [0, 10, 20]


def test_runnable_graph_create_from_function_is_single_node() -> None:
    graph = RunnableGraph.create(square)
    assert (graph.entrypoint, graph.halt_after, [a.name for a in graph.graph.actions]) == (
        "square",
        ["square"],
        ["square"],
    )


def test_runnable_graph_create_returns_runnable_graph_unchanged() -> None:
    graph = RunnableGraph.create(square)
    assert RunnableGraph.create(graph) is graph


def test_runnable_graph_create_rejects_unnamed_action() -> None:
    with pytest.raises(ValueError, match="has no name"):
        RunnableGraph.create(square.action_function)


def test_multi_node_subgraph_runs_until_halt_after() -> None:
    @action(reads=["y"], writes=["y"])
    def plus_one(state: State) -> State:
        return state.update(y=state["y"] + 1)

    graph = (
        GraphBuilder()
        .with_actions(square=square, plus_one=plus_one)
        .with_transitions(("square", "plus_one"))
        .build()
    )

    class Chain(Squares):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return RunnableGraph(graph=graph, entrypoint="square", halt_after=["plus_one"])

    assert run_one(Chain(3))["squares"] == [1, 2, 5]


def test_cascade_adapter_none_gives_none() -> None:
    assert _cascade_adapter(None, object()) is None


def test_cascade_adapter_cascade_copies_when_possible() -> None:
    class Copyable:
        def copy(self) -> str:
            return "copied"

    assert _cascade_adapter("cascade", Copyable()) == "copied"


def test_cascade_adapter_cascade_without_copy_shares() -> None:
    adapter = object()
    assert _cascade_adapter("cascade", adapter) is adapter


def test_cascade_adapter_explicit_object_wins() -> None:
    explicit = object()
    assert _cascade_adapter(explicit, object()) is explicit


def test_stable_app_id_hash_is_apache_burr_formula() -> None:
    import hashlib

    assert _stable_app_id_hash("parent", "0-1") == hashlib.sha256(b"parent:0-1").hexdigest()


def test_map_reduce_action_with_single_action_and_state_generator() -> None:
    mr = map_reduce_action(
        action=square,
        reads=[],
        writes=["total"],
        state=lambda state, context, inputs: (state.update(x=x) for x in range(4)),
        inputs=[],
        reducer=lambda state, states: state.update(total=sum(s["y"] for s in states)),
    )
    assert run_one(mr)["total"] == 14


def test_map_reduce_action_with_list_of_actions_and_single_state() -> None:
    mr = map_reduce_action(
        action=[square, cube],
        reads=[],
        writes=["out"],
        state=State({"x": 3}),
        inputs=[],
        reducer=lambda state, states: state.update(out=[s["y"] for s in states]),
    )
    assert run_one(mr)["out"] == [9, 27]


def test_custom_task_based_parallel_action_runs_its_tasks() -> None:
    class Custom(TaskBasedParallelAction):
        def tasks(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            for x in (2, 3):
                yield SubGraphTask(
                    graph=RunnableGraph.create(square),
                    inputs={},
                    state=State({"x": x}),
                    application_id=f"custom-{x}",
                )

        def reduce(self, state: State, states: Any) -> State:
            return state.update(out=[s["y"] for s in states])

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["out"]

    assert run_one(Custom())["out"] == [4, 9]


def test_user_executor_factory_runs_branches() -> None:
    used: list[concurrent.futures.Executor] = []

    def factory() -> concurrent.futures.Executor:
        ex = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        used.append(ex)
        return ex

    app = (
        ApplicationBuilder()
        .with_actions(map=Squares(4))
        .with_entrypoint("map")
        .with_parallel_executor(factory)
        .build()
    )
    _, _, state = app.run(halt_after=["map"])
    assert (state["squares"], len(used)) == ([0, 1, 4, 9], 1)


def test_nested_map_inside_branch_completes() -> None:
    class Inner(Squares):
        @property
        def writes(self) -> list[str]:
            return ["squares"]

    class Outer(MapStates):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return Inner(3).with_name("inner")

        def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            for _ in range(70):  # more branches than pool threads
                yield state

        def reduce(self, state: State, states: Any) -> State:
            return state.update(total=sum(sum(s["squares"]) for s in states))

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["total"]

    assert run_one(Outer())["total"] == 70 * 5


class CountingPersister(InMemoryPersister):
    """An in-memory persister whose copies share storage and are counted."""

    copies = 0

    def copy(self) -> CountingPersister:
        CountingPersister.copies += 1
        twin = CountingPersister()
        twin._storage = self._storage
        return twin


def persisted_app(map_action: Action, persister: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(map=map_action)
        .initialize_from(persister, resume_at_next_action=True, default_state={}, default_entrypoint="map")
        .with_state_persister(persister)
        .with_identifiers(app_id="parent")
        .build()
    )


def test_cascaded_persister_saves_each_branch_under_its_own_app_id() -> None:
    persister = InMemoryPersister()
    persisted_app(Squares(3), persister).run(halt_after=["map"])
    assert len(persister.list_app_ids(None)) == 4


def test_same_persister_and_initializer_cascade_as_one_copy_per_branch() -> None:
    CountingPersister.copies = 0
    persisted_app(Squares(3), CountingPersister()).run(halt_after=["map"])
    assert CountingPersister.copies == 3


def test_state_persister_none_keeps_branches_unpersisted() -> None:
    class Unpersisted(Squares):
        def state_persister(self, **kwargs: Any) -> Any:
            return None

    persister = InMemoryPersister()
    persisted_app(Unpersisted(3), persister).run(halt_after=["map"])
    assert persister.list_app_ids(None) == ["parent"]


def test_state_persister_object_receives_branch_saves() -> None:
    own = InMemoryPersister()

    class OwnPersister(Squares):
        def state_persister(self, **kwargs: Any) -> Any:
            return own

    persisted_app(OwnPersister(2), InMemoryPersister()).run(halt_after=["map"])
    assert len(own.list_app_ids(None)) == 2
