"""Parallel actions under asyncio (abuild/arun): gather, max_concurrency, failure policy, streaming."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.action import streaming_action
from burr.core.parallelism import MapStates, StreamingMapStates


class Gauge:
    def __init__(self) -> None:
        self.now = 0
        self.max = 0


def async_map(branch: Any, n: int, base: type = MapStates, async_reduce: bool = False, **attrs: Any) -> Any:
    class Fan(base):  # type: ignore[valid-type,misc]
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return branch

        async def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
            for x in range(n):
                yield state.update(x=x)

        def is_async(self) -> bool:
            return True

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["ys"]

        if async_reduce:

            async def reduce(self, state: State, states: Any) -> State:
                return state.update(ys=[s["y"] async for s in states])

        else:

            def reduce(self, state: State, states: Any) -> State:
                return state.update(ys=[s["y"] for s in states])

    for k, v in attrs.items():
        setattr(Fan, k, v)
    return Fan()


async def build(m: Any) -> Any:
    return await ApplicationBuilder().with_actions(map=m).with_entrypoint("map").abuild()


def sleepy(gauge: Gauge) -> Any:
    @action(reads=["x"], writes=["y"])
    async def nap(state: State) -> State:
        gauge.now += 1
        gauge.max = max(gauge.max, gauge.now)
        await asyncio.sleep(0.01)
        gauge.now -= 1
        if state["x"] == 99:
            raise RuntimeError("bad async branch")
        return state.update(y=state["x"] * 3)

    return nap


async def test_async_map_states_reduces_in_order() -> None:
    app = await build(async_map(sleepy(Gauge()), 4))
    _, _, state = await app.arun(halt_after=["map"])
    assert state["ys"] == [0, 3, 6, 9]


async def test_async_reduce_receives_async_generator() -> None:
    app = await build(async_map(sleepy(Gauge()), 3, async_reduce=True))
    _, _, state = await app.arun(halt_after=["map"])
    assert state["ys"] == [0, 3, 6]


async def test_async_branches_run_concurrently_without_limit() -> None:
    gauge = Gauge()
    app = await build(async_map(sleepy(gauge), 6))
    await app.arun(halt_after=["map"])
    assert gauge.max == 6


async def test_async_max_concurrency_bounds_branches() -> None:
    gauge = Gauge()
    app = await build(async_map(sleepy(gauge), 6, max_concurrency=2))
    await app.arun(halt_after=["map"])
    assert gauge.max == 2


async def test_async_fail_fast_names_the_branch() -> None:
    @action(reads=["x"], writes=["y"])
    async def fails(state: State) -> State:
        raise RuntimeError("bad async branch")

    app = await build(async_map(fails, 2))
    with pytest.raises(RuntimeError, match="bad async branch") as info:
        await app.arun(halt_after=["map"])
    assert any("parallel branch 0-" in n for n in info.value.__notes__)


async def test_async_collect_reduces_successful_branches() -> None:
    @action(reads=["x"], writes=["y"])
    async def odd_fails(state: State) -> State:
        if state["x"] % 2:
            raise ValueError("odd")
        return state.update(y=state["x"])

    app = await build(async_map(odd_fails, 4, on_branch_failure="collect"))
    _, result, state = await app.arun(halt_after=["map"])
    assert (state["ys"], [f["branch"] for f in result["failed_branches"]]) == ([0, 2], ["0-1", "0-3"])


@streaming_action(reads=["x"], writes=["y"])
async def async_ticks(state: State) -> Any:
    for i in range(2):
        yield {"tick": i}, None
    yield {"y": state["x"]}, state.update(y=state["x"])


async def test_async_streaming_map_yields_branch_items() -> None:
    app = await build(async_map(async_ticks, 2, base=StreamingMapStates))
    _, container = await app.astream_result(halt_after=["map"])
    items = [i async for i in container]
    _, state = await container.get()
    ticks = sorted((i["branch"], i["item"]["tick"]) for i in items if not i["done"])
    assert ticks == [("0-0", 0), ("0-0", 1), ("0-1", 0), ("0-1", 1)]
    assert state["ys"] == [0, 1]


async def test_async_resume_after_failed_branch_runs_only_unfinished_branches() -> None:
    from burr.core.persistence import AsyncInMemoryPersister

    persister = AsyncInMemoryPersister()
    runs: list[int] = []
    broken = {2}

    @action(reads=["x"], writes=["y"])
    async def flaky(state: State) -> State:
        runs.append(state["x"])
        if state["x"] in broken:
            raise RuntimeError("down")
        return state.update(y=state["x"] * 3)

    async def build_resumable(m: Any) -> Any:
        return await (
            ApplicationBuilder()
            .with_actions(map=m)
            .initialize_from(
                persister, resume_at_next_action=True, default_state={}, default_entrypoint="map"
            )
            .with_state_persister(persister)
            .with_identifiers(app_id="async-parent")
            .abuild()
        )

    with pytest.raises(RuntimeError, match="down"):
        await (await build_resumable(async_map(flaky, 4, max_concurrency=1))).arun(halt_after=["map"])
    assert runs == [0, 1, 2]
    broken.clear()
    runs.clear()
    app = await build_resumable(async_map(flaky, 4))
    _, _, state = await app.arun(halt_after=["map"])
    assert (sorted(runs), state["ys"]) == ([2, 3], [0, 3, 6, 9])


async def test_async_map_with_sync_branch_persister_stays_async_and_persists() -> None:
    from burr.core.persistence import InMemoryPersister

    branch_persister = InMemoryPersister()
    m = async_map(sleepy(Gauge()), 2, state_persister=lambda self, **kw: branch_persister)
    app = await build(m)
    _, _, state = await app.arun(halt_after=["map"])
    assert (state["ys"], len(branch_persister.list_app_ids(None))) == ([0, 3], 2)
