"""Async counter: µs per step and steps/s through arun() (async action, built with abuild())."""

from __future__ import annotations

import asyncio
import time

import _util

from burr.core import ApplicationBuilder, State, action, default, expr


@action(reads=["count"], writes=["count"])
async def counter(state: State) -> State:
    return state.update(count=state["count"] + 1)


@action(reads=["count"], writes=[])
async def done(state: State) -> State:
    return state


async def once(n: int) -> float:
    app = await (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions(("counter", "counter", expr(f"count < {n}")), ("counter", "done", default))
        .with_state(count=0)
        .with_entrypoint("counter")
        .abuild()
    )
    t0 = time.perf_counter()
    _, _, state = await app.arun(halt_after=["done"])
    elapsed = time.perf_counter() - t0
    assert state["count"] == n, state["count"]
    return elapsed / (n + 1)


async def amain() -> None:
    n = _util.size(20_000, 3_000)
    await once(200)
    per = min([await once(n) for _ in range(2)])
    _util.emit({"steps": n, "arun_us_per_step": _util.r(per * 1e6, 3), "arun_steps_per_s": round(1 / per)})


if __name__ == "__main__":
    asyncio.run(amain())
