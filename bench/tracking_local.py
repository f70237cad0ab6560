"""LocalTrackingClient: tracked vs untracked counter step cost; bytes written for a tracked chat.

Run with ``--medium=disk`` (default, under .bench-out) or ``--medium=shm``.
"""

from __future__ import annotations

import json
import time

import _util

from burr.core import ApplicationBuilder, State, action
from burr.tracking import LocalTrackingClient


@action(reads=["count"], writes=["count"])
def counter(state: State) -> State:
    return state.update(count=state["count"] + 1)


@action(reads=["chat_history"], writes=["chat_history"])
def chat(state: State, i: int) -> State:
    return state.append(chat_history=_util.message(i))


def counter_us(n: int, storage_dir: str | None, app_id: str) -> float:
    b = (
        ApplicationBuilder()
        .with_actions(counter=counter)
        .with_transitions(("counter", "counter"))
        .with_state(count=0)
        .with_entrypoint("counter")
        .with_identifiers(app_id=app_id)
    )
    if storage_dir is not None:
        b = b.with_tracker(LocalTrackingClient(project="bench", storage_dir=storage_dir))
    app = b.build()
    t0 = time.perf_counter()
    for _ in range(n):
        app.step()
    elapsed = time.perf_counter() - t0
    assert app.state["count"] == n
    return elapsed / n * 1e6


def main() -> None:
    medium = _util.arg("medium", "disk")
    n_counter = _util.size(5_000, 1_000)
    n_chat = _util.size(2_000, 500)
    out_dir = _util.scratch_dir(medium, "tracking")
    try:
        counter_us(200, out_dir, "warm")
        counter_us(200, None, "warm-plain")
        plain = min(counter_us(n_counter, None, f"plain-{k}") for k in range(2))
        tracked = min(counter_us(n_counter, out_dir, f"counter-{k}") for k in range(2))

        chat_dir = _util.scratch_dir(medium, "tracking-chat")
        app = (
            ApplicationBuilder()
            .with_actions(chat=chat)
            .with_transitions(("chat", "chat"))
            .with_state(chat_history=[])
            .with_entrypoint("chat")
            .with_identifiers(app_id="bench-chat")
            .with_tracker(LocalTrackingClient(project="bench", storage_dir=chat_dir))
            .build()
        )
        times = []
        for i in range(n_chat):
            t0 = time.perf_counter()
            app.step(inputs={"i": i})
            times.append(time.perf_counter() - t0)
        written = _util.dir_bytes(chat_dir)
        _util.remove(chat_dir)
        final_state_bytes = len(json.dumps(app.state.serialize()))
        first, last = _util.mean_us(times[:100]), _util.mean_us(times[-100:])
        _util.emit(
            {
                "medium": medium,
                "counter_steps": n_counter,
                "untracked_us_per_step": _util.r(plain, 3),
                "tracked_us_per_step": _util.r(tracked, 3),
                "tracked_steps_per_s": round(1e6 / tracked),
                "tracking_overhead_us": _util.r(tracked - plain, 3),
                "chat_steps": n_chat,
                "chat_first100_us_per_step": _util.r(first),
                "chat_last100_us_per_step": _util.r(last),
                "chat_bytes_written_mb": _util.r(written / 1e6, 3),
                "final_state_kb": _util.r(final_state_bytes / 1e3, 1),
                "written_over_state": _util.r(written / final_state_bytes, 2),
            }
        )
    finally:
        _util.remove(out_dir)


if __name__ == "__main__":
    main()
