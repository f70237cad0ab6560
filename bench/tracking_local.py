"""LocalTrackingClient: tracked vs untracked counter step cost; bytes written for a tracked chat.

Everything is driven through ``run()``: a tracker may buffer records, but it has to have written
them by the time the application call returns, so the timings include the writing and the byte
count sees all of it. The chat does one ``run()`` per user turn, as a chatbot would.

Run with ``--medium=disk`` (default, under .bench-out) or ``--medium=shm``.
"""

from __future__ import annotations

import json
import time

import _util

from burr.core import ApplicationBuilder, State, action, default, expr
from burr.tracking import LocalTrackingClient


@action(reads=["count"], writes=["count"])
def counter(state: State) -> State:
    return state.update(count=state["count"] + 1)


@action(reads=["count"], writes=[])
def done(state: State) -> State:
    return state


@action(reads=["chat_history"], writes=["chat_history"])
def chat(state: State, i: int) -> State:
    return state.append(chat_history=_util.message(i))


def counter_us(n: int, storage_dir: str | None, app_id: str) -> float:
    b = (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions(("counter", "counter", expr(f"count < {n}")), ("counter", "done", default))
        .with_state(count=0)
        .with_entrypoint("counter")
        .with_identifiers(app_id=app_id)
    )
    if storage_dir is not None:
        b = b.with_tracker(LocalTrackingClient(project="bench", storage_dir=storage_dir))
    app = b.build()
    t0 = time.perf_counter()
    _, _, state = app.run(halt_after=["done"])
    elapsed = time.perf_counter() - t0
    assert state["count"] == n
    return elapsed / (n + 1) * 1e6


def main() -> None:
    medium = _util.arg("medium", "disk")
    n_counter = _util.size(5_000, 1_000)
    n_chat = _util.size(2_000, 500)
    out_dir = _util.scratch_dir(medium, "tracking")
    chat_dir = _util.scratch_dir(medium, "tracking-chat")
    try:
        counter_us(200, out_dir, "warm")
        counter_us(200, None, "warm-plain")
        plain, tracked = float("inf"), float("inf")
        for k in range(3):  # alternate, so both see the same neighbours' load
            plain = min(plain, counter_us(n_counter, None, f"plain-{k}"))
            tracked = min(tracked, counter_us(n_counter, out_dir, f"counter-{k}"))

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
            app.run(halt_after=["chat"], inputs={"i": i})
            times.append(time.perf_counter() - t0)
        written = _util.dir_bytes(chat_dir)
        assert len(app.state["chat_history"]) == n_chat
        final_state_bytes = len(json.dumps(app.state.serialize()))
        first, last = _util.median_us(times[:100]), _util.median_us(times[-100:])
        _util.emit(
            {
                "medium": medium,
                "counter_steps": n_counter,
                "untracked_us_per_step": _util.r(plain, 3),
                "tracked_us_per_step": _util.r(tracked, 3),
                "tracked_steps_per_s": round(1e6 / tracked),
                "tracking_overhead_us": _util.r(tracked - plain, 3),
                "chat_steps": n_chat,
                "chat_first100_us_per_run": _util.r(first),
                "chat_last100_us_per_run": _util.r(last),
                "chat_last_over_first": _util.r(last / first, 3),
                "chat_bytes_written_mb": _util.r(written / 1e6, 3),
                "final_state_kb": _util.r(final_state_bytes / 1e3, 1),
                "written_over_state": _util.r(written / final_state_bytes, 2),
            }
        )
    finally:
        _util.remove(out_dir)
        _util.remove(chat_dir)


if __name__ == "__main__":
    main()
