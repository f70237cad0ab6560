"""Step deltas: what one committed step changed, in a JSON form persisters and trackers store.

Every State the engine commits carries the operations of the step that produced it, based at the
previous committed State (see ``burr.core.state._commit``). ``step_ops(state, since)`` returns them
when ``since`` is that previous State's id; ``encode`` turns them into JSON records that
``apply_encoded`` replays on a *serialized* state dict, so loading never needs to deserialize and
re-serialize intermediate values.

Encoded records:
    {"op": "set", "key": k, "value": <serialized>}
    {"op": "append", "key": k, "value": <serialized item>}
    {"op": "extend", "key": k, "values": [<serialized items>]}
    {"op": "increment", "key": k, "by": <number>}
    {"op": "delete", "key": k}

An append/extend is only encoded as such when the value is a plain list without a field serde (so
its serialized form is a JSON list); otherwise the new value is stored whole with "set".
"""

from __future__ import annotations

from typing import Any

from burr.core.state import FIELD_SERIALIZATION, Op, State, serialize_field

DELTA_FORMAT_VERSION = 1


def state_id(state: State[Any]) -> int:
    """An id unique to this State object for the life of the process."""
    return state._vid


def step_ops(state: State[Any], since: int | None) -> list[Op] | None:
    """The ops that turned the State with id ``since`` into ``state``, or None if unknown.

    None means the caller must store a full snapshot (first save, a state replaced with
    ``update_state``, a state loaded elsewhere ...).
    """
    if since is None or state._base != since:
        return None
    ops: list[Op] = []
    node = state._ops
    while node is not None:
        ops.append(node[0])
        node = node[1]
    ops.reverse()
    return ops


def encode(ops: list[Op], state: State[Any], **serde_kwargs: Any) -> list[dict[str, Any]]:
    """JSON records for ``ops``; ``state`` is the State after them (used to fall back to "set")."""
    out: list[dict[str, Any]] = []
    for kind, key, value in ops:
        if kind == "delete":
            out.append({"op": "delete", "key": key})
        elif kind == "increment" and key not in FIELD_SERIALIZATION:
            out.append({"op": "increment", "key": key, "by": value})
        elif kind in ("append", "extend") and key not in FIELD_SERIALIZATION and type(state.get(key)) is list:
            if kind == "append":
                out.append({"op": "append", "key": key, "value": serialize_field(key, value, **serde_kwargs)})
            else:
                out.append(
                    {"op": "extend", "key": key, "values": [serialize_field(key, v, **serde_kwargs) for v in value]}
                )
        else:
            if key in state:
                out.append({"op": "set", "key": key, "value": serialize_field(key, state[key], **serde_kwargs)})
            else:
                out.append({"op": "delete", "key": key})
    return _compact(out)


def _compact(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop records a later "set"/"delete" of the same key overrides (keeps deltas small)."""
    last_overwrite: dict[str, int] = {}
    for i, r in enumerate(records):
        if r["op"] in ("set", "delete"):
            last_overwrite[r["key"]] = i
    return [r for i, r in enumerate(records) if last_overwrite.get(r["key"], -1) <= i]


def apply_encoded(serialized: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Replay encoded records on a serialized state dict, in place; returns it.

    The lists in ``serialized`` are extended in place: pass data you own (e.g. fresh from json.loads).
    """
    for r in records:
        op, key = r["op"], r["key"]
        if op == "set":
            serialized[key] = r["value"]
        elif op == "delete":
            serialized.pop(key, None)
        elif op == "append":
            serialized.setdefault(key, []).append(r["value"])
        elif op == "extend":
            serialized.setdefault(key, []).extend(r["values"])
        elif op == "increment":
            serialized[key] = serialized.get(key, 0) + r["by"]
        else:
            raise ValueError(f"Unknown delta op {op!r} for key {key!r}: written by a newer burr? Upgrade to read it.")
    return serialized
