"""RayExecutor on a real local Ray instance (2 CPUs, no dashboard)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator
from typing import Any

import pytest

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.parallelism import MapStates


def test_import_without_ray_says_how_to_install() -> None:
    code = "import sys; sys.modules['ray'] = None; import burr.integrations.ray"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and 'pip install "burr[ray]"' in out.stderr


try:
    import ray

    from burr.integrations.ray import RayExecutor

    # Ray workers cannot import this test module; ship its functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover -- without ray (outside CI) the tests below skip
    ray = None

# In CI a missing ray must fail the tests below, not skip them.
requires_ray = pytest.mark.skipif(
    ray is None and os.environ.get("CI") != "true", reason='ray is not installed: pip install "burr[ray]"'
)


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
    from burr.integrations.ray import RayExecutor

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


@requires_ray
def test_ray_executor_without_init_raises_clear_error() -> None:
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    with pytest.raises(RuntimeError, match=r"call ray.init\(\)") as info:
        build().run(halt_after=["map"])
    assert any("action 'map'" in n for n in info.value.__notes__)


@requires_ray
def test_ray_executor_runs_branches_in_ray_workers(local_ray: None) -> None:
    _, _, state = build().run(halt_after=["map"])
    assert state["squares"] == [0, 1, 4, 9]
    assert os.getpid() not in state["pids"]


@requires_ray
def test_ray_executor_submit_returns_concurrent_future(local_ray: None) -> None:
    future = RayExecutor().submit(pow, 2, 10)
    assert future.result(timeout=60) == 1024


@requires_ray
def test_ray_executor_shutdown_on_end_stops_ray(local_ray: None) -> None:
    RayExecutor(shutdown_on_end=True).shutdown()
    stopped = not ray.is_initialized()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # for the fixture's teardown
    assert stopped
