"""RayExecutor on a real local Ray instance (2 CPUs, no dashboard)."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from typing import Any

import pytest

try:
    import ray
except ImportError:  # pragma: no cover
    if os.environ.get("CI") == "true":
        raise
    pytest.skip('ray is not installed: pip install "burr[ray]"', allow_module_level=True)

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.parallelism import MapStates
from burr.integrations.ray import RayExecutor

# Ray workers cannot import this test module; ship its functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@action(reads=["x"], writes=["y", "pid"])
def square_in_worker(state: State) -> State:
    return state.update(y=state["x"] ** 2, pid=os.getpid())


class Squares(MapStates):
    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return square_in_worker

    def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        for x in range(4):
            yield state.update(x=x)

    def reduce(self, state: State, states: Any) -> State:
        states = list(states)
        return state.update(squares=[s["y"] for s in states], pids=sorted({s["pid"] for s in states}))

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["squares", "pids"]


def build() -> Any:
    return (
        ApplicationBuilder()
        .with_actions(map=Squares())
        .with_entrypoint("map")
        .with_parallel_executor(RayExecutor)
        .build()
    )


@pytest.fixture(scope="module")
def local_ray() -> Generator[None, None, None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_executor_without_init_raises_clear_error() -> None:
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    with pytest.raises(RuntimeError, match=r"call ray.init\(\)") as info:
        build().run(halt_after=["map"])
    assert any("action 'map'" in n for n in info.value.__notes__)


def test_ray_executor_runs_branches_in_ray_workers(local_ray: None) -> None:
    _, _, state = build().run(halt_after=["map"])
    assert state["squares"] == [0, 1, 4, 9]
    assert os.getpid() not in state["pids"]


def test_ray_executor_submit_returns_concurrent_future(local_ray: None) -> None:
    future = RayExecutor().submit(pow, 2, 10)
    assert future.result(timeout=60) == 1024


def test_ray_executor_shutdown_on_end_stops_ray(local_ray: None) -> None:
    RayExecutor(shutdown_on_end=True).shutdown()
    stopped = not ray.is_initialized()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # for the fixture's teardown
    assert stopped
