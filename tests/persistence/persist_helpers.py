"""Helpers shared by the persistence tests."""

from __future__ import annotations

from typing import Any


def chat_states(n: int, start: Any = None) -> list[Any]:
    """n committed States, each appending one message (as the engine would commit them)."""
    from burr.core.state import State, _commit, _snapshot_base

    prev = start if start is not None else _snapshot_base(State({"chat": [], "turns": 0}))
    out = []
    first = prev.get("__SEQUENCE_ID", -1) + 1
    for i in range(first, first + n):
        new = _commit(
            prev, prev.append(chat={"role": "user", "text": f"message {i}"}).increment(turns=1),
            {"__SEQUENCE_ID": i, "__PRIOR_STEP": "chat"},
        )
        out.append(new)
        prev = new
    return out
