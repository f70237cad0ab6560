"""Streaming: a streaming action yielding N tokens, consumed through stream_result (tokens/s)."""

from __future__ import annotations

import time

import _util

from burr.core import ApplicationBuilder, State
from burr.core.action import streaming_action


@streaming_action(reads=[], writes=["reply"])
def talk(state: State, n_tokens: int):
    for i in range(n_tokens):
        yield {"token": i}, None
    yield {"reply": n_tokens}, state.update(reply=n_tokens)


def once(n: int) -> float:
    app = (
        ApplicationBuilder()
        .with_actions(talk=talk)
        .with_transitions(("talk", "talk"))
        .with_state(reply=None)
        .with_entrypoint("talk")
        .build()
    )
    t0 = time.perf_counter()
    _, container = app.stream_result(halt_after=["talk"], inputs={"n_tokens": n})
    seen = 0
    for _item in container:
        seen += 1
    result, state = container.get()
    elapsed = time.perf_counter() - t0
    assert seen == n and state["reply"] == n, (seen, result)
    return elapsed


def main() -> None:
    n = _util.size(200_000, 30_000)
    once(1_000)
    best = min(once(n) for _ in range(2))
    _util.emit({"tokens": n, "tokens_per_s": round(n / best), "us_per_token": _util.r(best / n * 1e6, 3)})


if __name__ == "__main__":
    main()
