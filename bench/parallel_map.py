"""MapStates fan-out: per-branch overhead (1,000 trivial branches) and wall time of 8 sleeping
branches, sync on the default executor and async via arun()."""

from __future__ import annotations

import asyncio
import time

import _util

from burr.core import ApplicationBuilder, State, action
from burr.core.parallelism import MapStates

SLEEP_S = 0.2


@action(reads=["x"], writes=["y"])
def double(state: State) -> State:
    return state.update(y=state["x"] * 2)


@action(reads=["x"], writes=["y"])
def nap(state: State) -> State:
    time.sleep(SLEEP_S)
    return state.update(y=state["x"])


@action(reads=["x"], writes=["y"])
async def anap(state: State) -> State:
    await asyncio.sleep(SLEEP_S)
    return state.update(y=state["x"])


class Fan(MapStates):
    """Sync fan-out of ``width`` branches running ``leaf``; reduce sums ``y``."""

    def __init__(self, width: int, leaf) -> None:
        super().__init__()
        self.width, self.leaf = width, leaf

    def action(self, state: State, inputs: dict):
        return self.leaf

    def states(self, state: State, context, inputs: dict):
        for i in range(self.width):
            yield state.update(x=i)

    def reduce(self, state: State, states):
        return state.update(total=sum(s["y"] for s in states))

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["total"]


class AsyncFan(Fan):
    def is_async(self) -> bool:
        return True

    async def states(self, state: State, context, inputs: dict):  # type: ignore[override]
        for i in range(self.width):
            yield state.update(x=i)

    async def reduce(self, state: State, states):  # type: ignore[override]
        total = 0
        async for s in states:
            total += s["y"]
        return state.update(total=total)


def builder(fan: Fan, app_id: str) -> ApplicationBuilder:
    return (
        ApplicationBuilder()
        .with_actions(fan=fan)
        .with_transitions()
        .with_state(total=0)
        .with_entrypoint("fan")
        .with_identifiers(app_id=app_id)
    )


def run_sync(fan: Fan, app_id: str) -> tuple[float, int]:
    app = builder(fan, app_id).build()
    t0 = time.perf_counter()
    _, _, state = app.run(halt_after=["fan"])
    return time.perf_counter() - t0, state["total"]


async def run_async(fan: Fan, app_id: str) -> tuple[float, int]:
    app = await builder(fan, app_id).abuild()
    t0 = time.perf_counter()
    _, _, state = await app.arun(halt_after=["fan"])
    return time.perf_counter() - t0, state["total"]


def main() -> None:
    width = _util.size(1_000, 200)
    run_sync(Fan(20, double), "warm")
    elapsed, total = min(run_sync(Fan(width, double), f"trivial-{k}") for k in range(2))
    assert total == width * (width - 1), total

    sleep_wall, total = run_sync(Fan(8, nap), "sleep-sync")
    assert total == 28, total
    async_wall, total = asyncio.run(run_async(AsyncFan(8, anap), "sleep-async"))
    assert total == 28, total
    _util.emit(
        {
            "branches": width,
            "us_per_branch": _util.r(elapsed / width * 1e6),
            "sleep8_sync_wall_s": _util.r(sleep_wall, 3),
            "sleep8_async_wall_s": _util.r(async_wall, 3),
            "sleep_per_branch_s": SLEEP_S,
        }
    )


if __name__ == "__main__":
    main()
