"""SQLite persister saving every step of a 2,000-message chat: step cost, flatness, DB size, resume.

Run with ``--medium=disk`` (a directory under .bench-out) or ``--medium=shm`` (tmpfs).
"""

from __future__ import annotations

import glob
import json
import os
import time

import _util

from burr.core import ApplicationBuilder, State, action

try:
    from burr.core.persistence import SQLLitePersister as Persister
except ImportError:  # only the correctly spelled name exists
    from burr.core.persistence import SQLitePersister as Persister  # type: ignore[no-redef]

APP_ID, PARTITION = "bench-chat", "bench-user"


@action(reads=["chat_history"], writes=["chat_history"])
def chat(state: State, i: int) -> State:
    return state.append(chat_history=_util.message(i))


def builder() -> ApplicationBuilder:
    return (
        ApplicationBuilder()
        .with_actions(chat=chat)
        .with_transitions(("chat", "chat"))
        .with_identifiers(app_id=APP_ID, partition_key=PARTITION)
    )


def resume_once(db: str, n: int) -> float:
    persister = Persister(db, "burr_state")  # fresh object: nothing cached from the writing run
    t0 = time.perf_counter()
    app = (
        builder()
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"chat_history": []},
            default_entrypoint="chat",
        )
        .build()
    )
    elapsed = time.perf_counter() - t0
    assert len(app.state["chat_history"]) == n, len(app.state["chat_history"])
    assert app.sequence_id == n - 1, app.sequence_id
    cleanup = getattr(persister, "cleanup", None)
    if cleanup:
        cleanup()
    return elapsed


def main() -> None:
    medium = _util.arg("medium", "disk")
    n = _util.size(2_000, 500)
    out_dir = _util.scratch_dir(medium, "persist")
    db = os.path.join(out_dir, "state.db")
    try:
        persister = Persister(db, "burr_state")
        persister.initialize()
        app = (
            builder()
            .with_state(chat_history=[])
            .with_entrypoint("chat")
            .with_state_persister(persister)
            .build()
        )
        times = []
        t_all = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            app.step(inputs={"i": i})
            times.append(time.perf_counter() - t0)
        total = time.perf_counter() - t_all
        # While the writer is open (WAL and shared-memory files included), then after it closed.
        db_bytes = sum(os.path.getsize(p) for p in glob.glob(db + "*"))
        final_state_bytes = len(json.dumps(app.state.serialize()))
        t0 = time.perf_counter()
        cleanup = getattr(persister, "cleanup", None)
        if cleanup:
            cleanup()
        del app, persister
        total += time.perf_counter() - t0  # closing (any deferred flush) is part of the cost
        db_bytes_closed = sum(os.path.getsize(p) for p in glob.glob(db + "*"))
        resume_repeat = _util.size(5, 3)
        resume_s = min(resume_once(db, n) for _ in range(resume_repeat))
        first, last = _util.median_us(times[:100]), _util.median_us(times[-100:])
        _util.emit(
            {
                "medium": medium,
                "steps": n,
                "first100_us_per_step": _util.r(first),
                "last100_us_per_step": _util.r(last),
                "last_over_first": _util.r(last / first, 3),
                "mean_us_per_step": _util.r(total / n * 1e6),  # includes closing the persister
                "db_mb": _util.r(db_bytes / 1e6, 3),
                "db_mb_closed": _util.r(db_bytes_closed / 1e6, 3),
                "final_state_kb": _util.r(final_state_bytes / 1e3, 1),
                "db_over_state": _util.r(db_bytes / final_state_bytes, 2),
                "db_closed_over_state": _util.r(db_bytes_closed / final_state_bytes, 2),
                "resume_ms_best": _util.r(resume_s * 1e3, 3),
            }
        )
    finally:
        _util.remove(out_dir)


if __name__ == "__main__":
    main()
