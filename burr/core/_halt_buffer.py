"""The ``on_every="halt"`` cadence: hold the steps of one application call, save the last one.

Saving only the last State would lose the deltas of the steps before it (the persister only
knows the State it saved at the previous halt), forcing a full snapshot per call. So we also keep
the ops of every held step and hand the persister a view of the last State whose op log reaches
back to the previous save: the whole call is stored as one delta.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from burr.core import _delta
from burr.core.state import Op, State

MAX_HELD_OPS = 10_000  # beyond this, memory matters more than bytes: let the persister snapshot


@dataclasses.dataclass
class _Held:
    base: int  # state id the first held step started from
    ops: list[Op] | None  # ops since ``base``; None once the chain is broken (state replaced ...)
    last_vid: int
    args: tuple[Any, ...]


def composed_view(last: State[Any], base: int, ops: list[Op]) -> State[Any]:
    """``last``'s values, with an op log reaching back to the State with id ``base``."""
    view: State[Any] = State.__new__(State)
    view._d = last._d
    view._owned = last._owned
    view._typing_system = last._typing_system
    node: Any = None
    for op in ops:
        node = (op, node)
    view._ops = node
    view._base = base
    view._vid = last._vid  # it *is* that State: the next step's delta builds on it
    return view


class HaltBuffer:
    """Held steps per (partition_key, app_id)."""

    def __init__(self) -> None:
        self._held: dict[tuple[Any, str], _Held] = {}

    def add(self, args: tuple[Any, ...]) -> None:
        pk, app_id, _seq, _position, state, _status = args
        held = self._held.get((pk, app_id))
        if held is None:
            self._held[(pk, app_id)] = _Held(
                state._base, _delta.step_ops(state, state._base), state._vid, args
            )
            return
        ops = _delta.step_ops(state, held.last_vid) if held.ops is not None else None
        if ops is None or len(held.ops or ()) + len(ops) > MAX_HELD_OPS:
            held.ops = None
        else:
            assert held.ops is not None
            held.ops.extend(ops)
        held.last_vid = state._vid
        held.args = args

    def take(self) -> list[tuple[Any, ...]]:
        """The steps to save now (one per application), emptied."""
        out = []
        for held in self._held.values():
            pk, app_id, seq, position, state, status = held.args
            if held.ops is not None and state._base != held.base:
                state = composed_view(state, held.base, held.ops)
            out.append((pk, app_id, seq, position, state, status))
        self._held.clear()
        return out

    def __bool__(self) -> bool:
        return bool(self._held)
