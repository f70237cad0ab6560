"""In-memory counter: µs per step and steps/s through run(), iterate() and step()."""

from __future__ import annotations

import time

import _util

from burr.core import ApplicationBuilder, State, action, default, expr


@action(reads=["count"], writes=["count"])
def counter(state: State) -> State:
    return state.update(count=state["count"] + 1)


@action(reads=["count"], writes=[])
def done(state: State) -> State:
    return state


def build(limit: int, app_id: str):
    return (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions(
            ("counter", "counter", expr(f"count < {limit}")),
            ("counter", "done", default),
        )
        .with_state(count=0)
        .with_entrypoint("counter")
        .with_identifiers(app_id=app_id)
        .build()
    )


def via_run(n: int) -> float:
    app = build(n, "run")
    t0 = time.perf_counter()
    _, _, state = app.run(halt_after=["done"])
    elapsed = time.perf_counter() - t0
    assert state["count"] == n, state["count"]
    return elapsed / (n + 1)


def via_iterate(n: int) -> float:
    app = build(n, "iterate")
    t0 = time.perf_counter()
    steps = sum(1 for _ in app.iterate(halt_after=["done"]))
    elapsed = time.perf_counter() - t0
    assert steps == n + 1, steps
    return elapsed / steps


def via_step(n: int) -> float:
    app = build(n, "step")
    t0 = time.perf_counter()
    for _ in range(n + 1):
        app.step()
    elapsed = time.perf_counter() - t0
    assert app.state["count"] == n, app.state["count"]
    return elapsed / (n + 1)


def main() -> None:
    n = _util.size(20_000, 3_000)
    via_run(200)  # warm-up: imports, caches
    out: dict[str, float] = {"steps": n}
    for name, fn in (("run", via_run), ("iterate", via_iterate), ("step", via_step)):
        per = min(fn(n) for _ in range(2))
        out[f"{name}_us_per_step"] = _util.r(per * 1e6, 3)
        out[f"{name}_steps_per_s"] = round(1 / per)
    _util.emit(out)


if __name__ == "__main__":
    main()
