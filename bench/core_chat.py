"""Chat app appending a ~200-char message per step: does the per-step cost grow with history?"""

from __future__ import annotations

import time

import _util

from burr.core import ApplicationBuilder, State, action


@action(reads=["chat_history"], writes=["chat_history"])
def chat(state: State, i: int) -> State:
    return state.append(chat_history=_util.message(i))


def main() -> None:
    n = _util.size(2_000, 1_000)
    app = (
        ApplicationBuilder()
        .with_actions(chat=chat)
        .with_transitions(("chat", "chat"))
        .with_state(chat_history=[])
        .with_entrypoint("chat")
        .build()
    )
    times = []
    t_all = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        app.step(inputs={"i": i})
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - t_all
    assert len(app.state["chat_history"]) == n
    first, last = _util.median_us(times[:100]), _util.median_us(times[-100:])
    _util.emit(
        {
            "steps": n,
            "first100_us_per_step": _util.r(first),
            "last100_us_per_step": _util.r(last),
            "last_over_first": _util.r(last / first, 3),
            "total_s": _util.r(total, 4),
        }
    )


if __name__ == "__main__":
    main()
