"""What our parallelism adds to Apache Burr: invocation-scoped child ids, resume mid-map,
concurrency limits, failure policies, clear executor errors, the default executor."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

import pytest

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.parallelism import (
    DefaultParallelExecutor,
    MapStates,
    _stable_app_id_hash,
    default_parallel_executor_factory,
)
from burr.core.persistence import InMemoryPersister, SQLitePersister


class Concurrency:
    """Counts how many branches run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.max = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.now -= 1


def make_map(branch_action: Any, n: int, **attrs: Any) -> MapStates:
    class Fan(MapStates):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return branch_action

        def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            for x in range(n):
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


@action(reads=["x"], writes=["y"])
def double(state: State) -> State:
    return state.update(y=state["x"] * 2)


def app_with(map_action: Any, **kw: Any) -> Any:
    builder = (
        ApplicationBuilder()
        .with_actions(map=map_action)
        .with_transitions(("map", "map"))
        .with_entrypoint("map")
    )
    if "executor" in kw:
        builder = builder.with_parallel_executor(kw["executor"])
    return builder.build()


# -- child app ids ------------------------------------------------------------------------------


class IdRecorder:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def record(self, context: ApplicationContext) -> None:
        self.ids.append(context.app_id)


def recording_map(recorder: IdRecorder, n: int = 2) -> MapStates:
    @action(reads=["x"], writes=["y"])
    def remember(state: State, __context: ApplicationContext) -> State:
        recorder.record(__context)
        return state.update(y=state["x"])

    return make_map(remember, n)


def test_child_ids_differ_between_invocations_of_the_same_step() -> None:
    recorder = IdRecorder()
    app = app_with(recording_map(recorder))
    app.step()
    app.step()
    first, second = recorder.ids[:2], recorder.ids[2:]
    assert len(set(first) | set(second)) == 4


def test_child_ids_are_not_apache_burrs_colliding_ids() -> None:
    recorder = IdRecorder()
    app = (
        ApplicationBuilder()
        .with_actions(map=recording_map(recorder))
        .with_entrypoint("map")
        .with_identifiers(app_id="parent")
        .build()
    )
    app.step()
    assert not {_stable_app_id_hash("parent", "0-0"), _stable_app_id_hash("parent", "0-1")} & set(
        recorder.ids
    )


def test_child_ids_differ_for_a_fork_of_the_parent() -> None:
    recorder = IdRecorder()
    persister = InMemoryPersister()
    m = recording_map(recorder)
    first = (
        ApplicationBuilder()
        .with_actions(map=m)
        .with_transitions(("map", "map"))
        .with_entrypoint("map")
        .with_state_persister(persister)
        .with_identifiers(app_id="orig")
        .build()
    )
    first.step()
    first.step()
    fork = (
        ApplicationBuilder()
        .with_actions(map=m)
        .with_transitions(("map", "map"))
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={},
            default_entrypoint="map",
            fork_from_app_id="orig",
            fork_from_sequence_id=0,
        )
        .with_identifiers(app_id="forked")
        .build()
    )
    fork.step()  # re-runs the step the original ran as sequence id 1
    assert not set(recorder.ids[4:]) & set(recorder.ids[:4])


def test_branch_sees_child_app_id_and_parent_partition_key() -> None:
    seen: list[tuple[str, Any]] = []

    @action(reads=["x"], writes=["y"])
    def look(state: State, __context: ApplicationContext) -> State:
        seen.append((__context.app_id, __context.partition_key))
        return state.update(y=0)

    app = (
        ApplicationBuilder()
        .with_actions(map=make_map(look, 1))
        .with_entrypoint("map")
        .with_identifiers(app_id="p", partition_key="pk")
        .build()
    )
    app.step()
    assert seen[0][1] == "pk" and seen[0][0] != "p"


# -- resume mid-map ---------------------------------------------------------------------------


def resumable_app(db: str, m: MapStates, loop: bool = False) -> Any:
    persister = SQLitePersister(db_path=db, table_name="burr_state")
    persister.initialize()
    return (
        ApplicationBuilder()
        .with_actions(map=m)
        .with_transitions(*([("map", "map")] if loop else []))
        .initialize_from(persister, resume_at_next_action=True, default_state={}, default_entrypoint="map")
        .with_state_persister(persister)
        .with_identifiers(app_id="parent-app", partition_key="user")
        .build()
    )


def test_resume_after_failed_branch_runs_only_unfinished_branches(tmp_path: Any) -> None:
    runs: list[int] = []
    lock = threading.Lock()
    broken = {3}

    @action(reads=["x"], writes=["y"])
    def flaky(state: State) -> State:
        with lock:
            runs.append(state["x"])
        if state["x"] in broken:
            raise RuntimeError(f"branch {state['x']} is down")
        return state.update(y=state["x"] * 10)

    m = make_map(flaky, 6, max_concurrency=1, on_branch_failure="collect")
    m_fail_fast = make_map(flaky, 6, max_concurrency=1)
    db = str(tmp_path / "state.db")
    with pytest.raises(RuntimeError, match="branch 3 is down"):
        resumable_app(db, m_fail_fast).run(halt_after=["map"])
    assert runs == [0, 1, 2, 3]  # fail fast, one at a time: branches 4 and 5 never started
    broken.clear()
    runs.clear()
    _, _, state = resumable_app(db, m).run(halt_after=["map"])
    assert (sorted(runs), state["ys"]) == ([3, 4, 5], [0, 10, 20, 30, 40, 50])


def test_resume_after_completed_map_step_reruns_branches_on_next_step(tmp_path: Any) -> None:
    runs: list[int] = []

    @action(reads=["x"], writes=["y"])
    def count(state: State) -> State:
        runs.append(state["x"])
        return state.update(y=state["x"])

    db = str(tmp_path / "state.db")
    m = make_map(count, 2, max_concurrency=1)
    resumable_app(db, m, loop=True).step()
    app = resumable_app(db, m, loop=True)
    app.step()  # resumed after the completed step: a new invocation (sequence id 1)
    assert runs == [0, 1, 0, 1]


# -- concurrency and failure policy -----------------------------------------------------------


def test_max_concurrency_bounds_simultaneous_branches() -> None:
    gauge = Concurrency()

    @action(reads=["x"], writes=["y"])
    def busy(state: State) -> State:
        with gauge:
            time.sleep(0.02)
        return state.update(y=state["x"])

    app_with(make_map(busy, 8, max_concurrency=2)).step()
    assert gauge.max <= 2


def test_default_executor_runs_io_branches_concurrently() -> None:
    gauge = Concurrency()
    barrier = threading.Barrier(8, timeout=10)

    @action(reads=["x"], writes=["y"])
    def wait_for_all(state: State) -> State:
        with gauge:
            barrier.wait()  # only passes if all 8 branches run at the same time
        return state.update(y=state["x"])

    _, _, state = app_with(make_map(wait_for_all, 8)).step()
    assert (gauge.max, state["ys"]) == (8, list(range(8)))


def test_fail_fast_raises_branch_error_naming_the_branch() -> None:
    @action(reads=["x"], writes=["y"])
    def boom(state: State) -> State:
        if state["x"] == 1:
            raise KeyError("missing thing")
        return state.update(y=0)

    with pytest.raises(KeyError) as info:
        app_with(make_map(boom, 3)).step()
    assert any("parallel branch 0-1" in n for n in getattr(info.value, "__notes__", []))


def test_collect_policy_reduces_the_rest_and_reports_failures() -> None:
    @action(reads=["x"], writes=["y"])
    def boom(state: State) -> State:
        if state["x"] == 1:
            raise ValueError("bad input 1")
        return state.update(y=state["x"])

    _, result, state = app_with(make_map(boom, 3, on_branch_failure="collect")).step()
    assert state["ys"] == [0, 2]
    assert [(f["branch"], f["error"]) for f in result["failed_branches"]] == [
        ("0-1", "ValueError: bad input 1")
    ]


def test_invalid_failure_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="on_branch_failure must be one of"):
        app_with(make_map(double, 1, on_branch_failure="ignore")).step()


def test_invalid_max_concurrency_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be a positive int"):
        app_with(make_map(double, 1, max_concurrency=0)).step()


def test_reduce_writing_undeclared_key_is_rejected() -> None:
    class Sneaky(MapStates):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return double

        def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            yield state.update(x=1)

        def reduce(self, state: State, states: Any) -> State:
            return state.update(ys=[s["y"] for s in states], extra=1)

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["ys"]

    with pytest.raises(ValueError, match=r"attempted to write to keys \['extra'\]"):
        app_with(Sneaky()).step()


def test_executor_that_cannot_start_names_the_action() -> None:
    def broken_factory() -> concurrent.futures.Executor:
        raise RuntimeError("cluster unreachable")

    with pytest.raises(RuntimeError, match="cluster unreachable") as info:
        app_with(make_map(double, 2), executor=broken_factory).step()
    assert any("parallel executor for action 'map'" in n for n in info.value.__notes__)


def test_default_executor_shutdown_keeps_shared_pool_usable() -> None:
    ex = default_parallel_executor_factory()
    ex.shutdown()
    assert isinstance(ex, DefaultParallelExecutor) and ex.submit(lambda: 7).result() == 7


def test_thread_pool_executor_class_as_factory_runs_branches() -> None:
    _, _, state = app_with(make_map(double, 3), executor=concurrent.futures.ThreadPoolExecutor).step()
    assert state["ys"] == [0, 2, 4]


def test_max_concurrency_bounds_branches_on_user_executor() -> None:
    gauge = Concurrency()

    @action(reads=["x"], writes=["y"])
    def busy(state: State) -> State:
        with gauge:
            time.sleep(0.01)
        return state.update(y=state["x"])

    m = make_map(busy, 6, max_concurrency=2)
    _, _, state = app_with(m, executor=lambda: concurrent.futures.ThreadPoolExecutor(max_workers=6)).step()
    assert (gauge.max <= 2, state["ys"]) == (True, list(range(6)))


def test_async_states_in_sync_action_is_a_clear_error() -> None:
    class AsyncStates(MapStates):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return double

        async def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            yield state.update(x=1)

        def reduce(self, state: State, states: Any) -> State:
            return state.update(ys=[])

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["ys"]

    with pytest.raises(
        ValueError, match=r"states\(\) of action 'map' is asynchronous: override is_async\(\)"
    ):
        app_with(AsyncStates()).step()
