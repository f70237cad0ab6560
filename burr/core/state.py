"""The immutable ``State`` that actions read and return.

Two things set this State apart from a dict copied on every change:

* **Cheap appends.** ``state.append(history=msg)`` does not copy ``history``. The new State holds a
  *view* (the old list, its length, and the appended items). When the application commits the step
  it extends the old list in place if, and only if, no one but the previous State can observe it
  (a CPython reference-count check, the same trick CPython uses for ``s += t`` on strings). The
  previous State then keeps a length-bounded view of the same list, so it still reads exactly what
  it held. Anyone else holding the list (a user variable, another State, a hook) makes the count
  too high, and we copy instead: correctness never depends on the optimisation.
* **Deltas.** Every State remembers the operations applied since the State it was derived from
  was committed (``_ops``), so persisters and trackers store what a step changed rather than
  the whole state. See ``burr.core._delta``.
* **No copy at commit.** The State an action returns usually dies right after the commit, which
  would copy it into the application's next State. When the reference counts prove no one else
  holds it (``_unshared``), the commit turns it into that next State instead (``_commit_ops``).
"""

from __future__ import annotations

import copy
import inspect
import itertools
import logging
import sys
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from burr.core import serde

if TYPE_CHECKING:
    from burr.core.typing import TypingSystem

logger = logging.getLogger(__name__)

StateType = TypeVar("StateType")
AssignedType = TypeVar("AssignedType")

# --------------------------------------------------------------------------------------------
# Field-level serde
# --------------------------------------------------------------------------------------------

FIELD_SERIALIZATION: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {}


def _accepts_kwargs(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


def register_field_serde(field_name: str, serializer: Callable[..., Any], deserializer: Callable[..., Any]) -> None:
    """Register how one state field is turned into JSON and back.

    Both callables must accept ``**kwargs`` (the persister's or tracker's ``serde_kwargs`` flow
    through them). The serializer must return a dict.
    """
    for role, fn in (("serializer", serializer), ("deserializer", deserializer)):
        if not _accepts_kwargs(fn):
            raise ValueError(
                f"The {role} registered for state field '{field_name}' must accept **kwargs "
                f"(e.g. `def {getattr(fn, '__name__', role)}(value, **kwargs)`): persisters and "
                "trackers pass their serde_kwargs through it."
            )
    FIELD_SERIALIZATION[field_name] = (serializer, deserializer)


# --------------------------------------------------------------------------------------------
# Shared-list views (see module docstring)
# --------------------------------------------------------------------------------------------


class _Chunk:
    """The one indirection every view of a shared list goes through.

    Views point at the chunk, not at the list, so the list's reference count does not grow with
    the number of States that hold a view of it.
    """

    __slots__ = ("items", "__weakref__")

    def __init__(self, items: list[Any]) -> None:
        self.items = items


# id(list) -> its chunk. An entry lives exactly as long as some view holds the chunk, and the
# chunk keeps the list alive, so an id cannot be reused while it is a key here.
_CHUNKS: weakref.WeakValueDictionary[int, _Chunk] = weakref.WeakValueDictionary()


def _chunk_for(items: list[Any]) -> _Chunk:
    chunk = _CHUNKS.get(id(items))
    if chunk is None:
        chunk = _Chunk(items)
        _CHUNKS[id(items)] = chunk
    return chunk


class _ListView:
    """Logical value ``chunk.items[:n] + tail``. Valid forever: shared lists only ever grow."""

    __slots__ = ("chunk", "n", "tail")

    def __init__(self, chunk: _Chunk, n: int, tail: tuple[Any, ...]) -> None:
        self.chunk = chunk
        self.n = n
        self.tail = tail

    def materialize(self) -> list[Any]:
        out = self.chunk.items[: self.n]
        out.extend(self.tail)
        return out


def _refcount(obj: object) -> int:
    return sys.getrefcount(obj)


def _calibrate_refcount() -> int | None:
    """References to a list held by one dict entry and one chunk, as seen from ``_seal``."""
    if not hasattr(sys, "getrefcount"):
        return None
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_gil_enabled is not None and not is_gil_enabled():
        return None  # free-threaded build: another thread could race the check; always copy
    chunk = _Chunk([])
    return _refcount(chunk.items)


_UNIQUE_REFCOUNT = _calibrate_refcount()


def _append_view(current: Any, new_items: tuple[Any, ...]) -> _ListView:
    if type(current) is _ListView:
        return _ListView(current.chunk, current.n, current.tail + new_items)
    return _ListView(_chunk_for(current), len(current), new_items)


# --------------------------------------------------------------------------------------------
# Delta operations (public classes kept for API compatibility)
# --------------------------------------------------------------------------------------------


class StateDelta:
    """One change to a state's values. ``apply_mutate`` changes a plain dict in place."""

    @classmethod
    def name(cls) -> str:
        raise NotImplementedError

    def reads(self) -> list[str]:
        raise NotImplementedError

    def writes(self) -> list[str]:
        raise NotImplementedError

    def deletes(self) -> list[str]:
        return []

    def validate(self, input_state: dict[str, Any]) -> None:
        pass

    def apply_mutate(self, inputs: dict[str, Any]) -> None:
        raise NotImplementedError


class SetFields(StateDelta):
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    @classmethod
    def name(cls) -> str:
        return "update"

    def reads(self) -> list[str]:
        return list(self.values)

    def writes(self) -> list[str]:
        return list(self.values)

    def apply_mutate(self, inputs: dict[str, Any]) -> None:
        inputs.update(self.values)


class AppendFields(StateDelta):
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    @classmethod
    def name(cls) -> str:
        return "append"

    def reads(self) -> list[str]:
        return list(self.values)

    def writes(self) -> list[str]:
        return list(self.values)

    def validate(self, input_state: dict[str, Any]) -> None:
        bad = {k: type(input_state[k]).__name__ for k in self.values if k in input_state and not hasattr(input_state[k], "append")}
        if bad:
            raise ValueError(
                f"Cannot append to non-appendable values: {bad}. `state.append(key=value)` needs the "
                "existing value to be a list (or have an .append method); use `state.update(...)` to "
                "replace it instead."
            )

    def apply_mutate(self, inputs: dict[str, Any]) -> None:
        for k, v in self.values.items():
            if k not in inputs:
                inputs[k] = [v]
            else:
                inputs[k] = copy.copy(inputs[k])
                inputs[k].append(v)


class ExtendFields(StateDelta):
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    @classmethod
    def name(cls) -> str:
        return "extend"

    def reads(self) -> list[str]:
        return list(self.values)

    def writes(self) -> list[str]:
        return list(self.values)

    def validate(self, input_state: dict[str, Any]) -> None:
        bad = {k: type(input_state[k]).__name__ for k in self.values if k in input_state and not hasattr(input_state[k], "extend")}
        if bad:
            raise ValueError(
                f"Cannot extend non-extendable values: {bad}. `state.extend(key=[...])` needs the "
                "existing value to be a list (or have an .extend method)."
            )

    def apply_mutate(self, inputs: dict[str, Any]) -> None:
        for k, v in self.values.items():
            if k not in inputs:
                inputs[k] = list(v)
            else:
                inputs[k] = copy.copy(inputs[k])
                inputs[k].extend(v)


class IncrementFields(StateDelta):
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    @classmethod
    def name(cls) -> str:
        return "increment"

    def reads(self) -> list[str]:
        return list(self.values)

    def writes(self) -> list[str]:
        return list(self.values)

    def validate(self, input_state: dict[str, Any]) -> None:
        bad = {k: type(input_state[k]).__name__ for k in self.values if k in input_state and not isinstance(input_state[k], int)}
        if bad:
            raise ValueError(
                f"Cannot increment non-integer values: {bad}. `state.increment(key=n)` only works on "
                "int values; use `state.update(...)` for other types."
            )

    def apply_mutate(self, inputs: dict[str, Any]) -> None:
        for k, v in self.values.items():
            inputs[k] = inputs.get(k, 0) + v


class DeleteField(StateDelta):
    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    @classmethod
    def name(cls) -> str:
        return "delete"

    def reads(self) -> list[str]:
        return []

    def writes(self) -> list[str]:
        return []

    def deletes(self) -> list[str]:
        return list(self.keys)

    def apply_mutate(self, inputs: dict[str, Any]) -> None:
        for k in self.keys:
            inputs.pop(k, None)


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------

_vids = itertools.count(1)

# An op is a tuple (kind, key, value); kinds: "set", "append", "extend", "increment", "delete".
# The log is a cons list ``(op, previous_node)`` so deriving a State shares its parent's log.
Op = tuple[str, str, Any]
_OpNode = tuple[Op, Any]


def _is_internal(key: str) -> bool:
    return key.startswith("__")


class State(Mapping[str, Any], Generic[StateType]):
    """An immutable mapping of the application's values. Every change returns a new State."""

    __slots__ = ("_d", "_owned", "_typing_system", "_ops", "_base", "_vid", "__dict__")

    def __init__(self, initial_values: dict[str, Any] | None = None, typing_system: TypingSystem[Any] | None = None):
        # Like Apache Burr, the caller's dict is kept by reference; we never write into it.
        self._d: dict[str, Any] = initial_values if initial_values is not None else {}
        self._owned = initial_values is None
        self._typing_system = typing_system
        self._ops: _OpNode | None = None
        self._vid = next(_vids)
        self._base = self._vid  # a fresh State is its own delta base

    # -- construction helpers ------------------------------------------------------------------

    def _derive(self, d: dict[str, Any], ops: tuple[Op, ...]) -> State[StateType]:
        new = State.__new__(State)
        new._d = d
        new._owned = True
        new._typing_system = self._typing_system
        node = self._ops
        for op in ops:
            node = (op, node)
        new._ops = node
        new._base = self._base
        new._vid = next(_vids)
        return new

    # -- mapping protocol ----------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        try:
            value = self._d[key]
        except KeyError:
            known = [k for k in self._d if not _is_internal(k)]
            raise KeyError(
                f'Key "{key}" not found in state. Keys state knows about are: {known}. If this is an '
                f'action reading "{key}", declare it in the action\'s `reads` and make sure an earlier '
                "action or the initial state (`with_state(...)`) sets it."
            ) from None
        if type(value) is _ListView:
            value = self._materialize(key, value)
        return value

    def _materialize(self, key: str, view: _ListView) -> list[Any]:
        value = view.materialize()
        self._d[key] = value  # owned dict: views only ever live in dicts we created
        return value

    def __len__(self) -> int:
        return len(self._d)

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.get_all())

    def __getstate__(self) -> dict[str, Any]:
        return {"d": self.get_all(), "typing_system": self._typing_system}

    def __setstate__(self, data: dict[str, Any]) -> None:
        self._d = data["d"]
        self._owned = True
        self._typing_system = data["typing_system"]
        self._ops = None
        self._vid = next(_vids)
        self._base = self._vid

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        value = self._d.get(key, default)
        if type(value) is _ListView:
            value = self._materialize(key, value)
        return value

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self._d)

    def get_all(self) -> dict[str, Any]:
        """A shallow copy of every value, internal keys (``__PRIOR_STEP`` ...) included."""
        out = dict(self._d)
        for k, v in out.items():
            if type(v) is _ListView:
                out[k] = self._materialize(k, v)
        return out

    # -- typing --------------------------------------------------------------------------------

    @property
    def typing_system(self) -> TypingSystem[StateType]:
        if self._typing_system is None:
            from burr.core.typing import DictBasedTypingSystem

            return DictBasedTypingSystem()  # type: ignore[return-value]
        return self._typing_system

    def with_typing_system(self, typing_system: TypingSystem[AssignedType]) -> State[AssignedType]:
        new = self._derive(dict(self._d), ())
        new._typing_system = typing_system
        return new  # type: ignore[return-value]

    @property
    def data(self) -> StateType:
        cached = self.__dict__.get("_data")
        if cached is None:
            cached = self.typing_system.construct_data(self)
            self.__dict__["_data"] = cached
        return cached  # type: ignore[no-any-return]

    # -- operations ----------------------------------------------------------------------------

    def update(self, **updates: Any) -> State[StateType]:
        """Set (insert or replace) values."""
        d = self._d
        if type(d) is dict:
            d = {**d, **updates}  # = copy() + update(), in one step
        else:  # a caller's dict subclass: keep what its copy() makes
            d = d.copy()
            d.update(updates)
        # _derive inlined: update is the hottest State operation
        node = self._ops
        for k, v in updates.items():
            node = (("set", k, v), node)
        new = State.__new__(State)
        new._d = d
        new._owned = True
        new._typing_system = self._typing_system
        new._ops = node
        new._base = self._base
        new._vid = next(_vids)
        return new

    def append(self, **updates: Any) -> State[StateType]:
        """Append one value to each named list; a missing key starts a new list."""
        d = dict(self._d)
        ops = []
        for k, v in updates.items():
            cur = d.get(k, _MISSING)
            if cur is _MISSING:
                d[k] = [v]
            elif type(cur) is list or type(cur) is _ListView:
                d[k] = _append_view(cur, (v,))
            elif hasattr(cur, "append"):
                cur = copy.copy(cur)
                cur.append(v)
                d[k] = cur
            else:
                AppendFields(updates).validate(self._d)
            ops.append(("append", k, v))
        return self._derive(d, tuple(ops))

    def extend(self, **updates: Any) -> State[StateType]:
        """Extend each named list with the given values; a missing key starts a new list."""
        d = dict(self._d)
        ops = []
        for k, values in updates.items():
            values = list(values)
            cur = d.get(k, _MISSING)
            if cur is _MISSING:
                d[k] = list(values)
            elif type(cur) is list or type(cur) is _ListView:
                d[k] = _append_view(cur, tuple(values))
            elif hasattr(cur, "extend"):
                cur = copy.copy(cur)
                cur.extend(values)
                d[k] = cur
            else:
                ExtendFields(updates).validate(self._d)
            ops.append(("extend", k, values))
        return self._derive(d, tuple(ops))

    def increment(self, **updates: Any) -> State[StateType]:
        """Add to integer values; a missing key starts at the delta."""
        IncrementFields(updates).validate(self._d)
        d = dict(self._d)
        for k, v in updates.items():
            d[k] = d.get(k, 0) + v
        return self._derive(d, tuple(("increment", k, v) for k, v in updates.items()))

    def wipe(self, delete: list[str] | None = None, keep: list[str] | None = None) -> State[StateType]:
        """Remove the keys in ``delete``, or every key not in ``keep`` (exactly one of the two)."""
        if delete is not None and keep is not None:
            raise ValueError(
                "You cannot specify both delete and keep: State.wipe() takes delete= or keep=, not both "
                f"(got delete={delete}, keep={keep})."
            )
        if delete is None and keep is None:
            raise TypeError(
                "State.wipe() needs delete=[...] (keys to remove) or keep=[...] (keys to keep)."
            )
        if delete is not None:
            gone = [k for k in delete if k in self._d]
        else:
            kept = set(keep or [])
            gone = [k for k in self._d if k not in kept]
        d = dict(self._d)
        for k in gone:
            del d[k]
        return self._derive(d, tuple(("delete", k, None) for k in gone))

    def merge(self, other: State[Any]) -> State[StateType]:
        """A new State with ``other``'s values written over this one's."""
        d = dict(self._d)
        d.update(other._d)
        return self._derive(d, tuple(("set", k, other.get(k)) for k in other._d))

    def subset(self, *keys: str, ignore_missing: bool = True) -> State[StateType]:
        """A new State with only ``keys``."""
        d = {}
        for k in keys:
            if k in self._d:
                d[k] = self._d[k]
            elif not ignore_missing:
                raise KeyError(
                    f'Key "{k}" not found in state. Keys state knows about are: '
                    f"{[k for k in self._d if not _is_internal(k)]} (subset of {list(keys)}). Pass "
                    "ignore_missing=True to skip missing keys."
                )
        gone = [k for k in self._d if k not in d]
        return self._derive(d, tuple(("delete", k, None) for k in gone))

    def apply_operation(self, operation: StateDelta) -> State[StateType]:
        """Apply a ``StateDelta`` (the public, copy-based path; the methods above are cheaper)."""
        d = self.get_all()
        for k in operation.reads():
            if k in d:
                d[k] = copy.deepcopy(d[k])
        operation.validate(d)
        operation.apply_mutate(d)
        return _state_with_diff(self, d)

    # -- serde ---------------------------------------------------------------------------------

    def serialize(self, **kwargs: Any) -> dict[str, Any]:
        """Turn every value into JSON-compatible data (field serdes first, then ``burr.core.serde``)."""
        out: dict[str, Any] = {}
        for key in self._d:
            out[key] = serialize_field(key, self[key], **kwargs)
        return out

    @classmethod
    def deserialize(cls, json_dict: dict[str, Any], **kwargs: Any) -> State[Any]:
        """The inverse of ``serialize``. The typing system is not restored (as in Apache Burr)."""
        return State({k: deserialize_field(k, v, **kwargs) for k, v in json_dict.items()})


_MISSING = object()


def serialize_field(key: str, value: Any, **kwargs: Any) -> Any:
    field_serde = FIELD_SERIALIZATION.get(key)
    try:
        if field_serde is not None:
            out = field_serde[0](value, **kwargs)
            if not isinstance(out, dict):
                raise ValueError(
                    f"The field serializer for '{key}' returned {type(out).__name__}; field "
                    "serializers must return a dict."
                )
            return out
        return serde.serialize(value, **kwargs)
    except Exception as e:
        raise ValueError(
            f"Failed to serialize state field '{key}' (a {type(value).__name__}): {e}. Register a "
            "serializer with burr.core.serde.serialize.register or burr.core.state.register_field_serde."
        ) from e


def deserialize_field(key: str, value: Any, **kwargs: Any) -> Any:
    field_serde = FIELD_SERIALIZATION.get(key)
    try:
        if field_serde is not None:
            return field_serde[1](value, **kwargs)
        return serde.deserialize(value, **kwargs)
    except Exception as e:
        raise ValueError(f"Failed to deserialize state field '{key}': {e}") from e


# --------------------------------------------------------------------------------------------
# Step commit: used by the engine, read by persisters and trackers through burr.core._delta
# --------------------------------------------------------------------------------------------


def _diff_ops(prev: dict[str, Any], new: dict[str, Any]) -> list[Op]:
    ops: list[Op] = [("set", k, v) for k, v in new.items() if k not in prev or prev[k] is not v]
    ops.extend(("delete", k, None) for k in prev if k not in new)
    return ops


def _state_with_diff(prev: State[Any], d: dict[str, Any]) -> State[Any]:
    return prev._derive(d, tuple(_diff_ops(prev._d, d)))


def _commit(prev: State[Any], returned: State[Any], internal: dict[str, Any]) -> State[Any]:
    """The application's next State after an action returned ``returned`` from ``prev``.

    Apache Burr's merge rule: the returned values win, keys the action removed disappear, the
    returned state's internal (``__``) keys are ignored and ``prev``'s are kept, then ``internal``
    (``__PRIOR_STEP``, ``__SEQUENCE_ID``) is set. The new State's op log holds just this step's
    changes, based at ``prev``.
    """
    return _commit_ops(prev, returned, tuple(("set", k, v) for k, v in internal.items()))


def _commit_ops(
    prev: State[Any], returned: State[Any], internal: tuple[Op, ...], reuse: bool = False
) -> State[Any]:
    """``_commit`` with the internal keys given as "set" ops (the engine reuses them, see ActionMeta).

    ``reuse=True`` lets the commit turn ``returned`` itself into the new State instead of copying
    it, when ``_unshared`` would say no one else can see it. The caller must hold ``returned`` in
    one local variable and pass that variable directly: the reference counts are calibrated for it.
    """
    # The common case, once per step: ``returned`` was derived from ``prev`` (or from a State
    # sharing its log, like the one the action ran on) by ops on user keys. Its dict then already
    # holds prev's internal keys, and the new log is those ops re-based at ``prev``.
    if returned._base != prev._base:
        return _commit_general(prev, returned, internal, None)
    target = prev._ops
    walk = returned._ops
    ops: list[Op] | tuple[Op, ...]
    if walk is target:
        ops = ()
    elif walk is not None and walk[1] is target:
        ops = (walk[0],)  # a single change, e.g. one state.update(key=...): the usual step
    else:
        ops = []
        while walk is not target:
            if walk is None:  # returned's log does not lead back to prev's
                return _commit_general(prev, returned, internal, None)
            ops.append(walk[0])
            walk = walk[1]
        ops.reverse()
    node: _OpNode | None = None
    grown: list[str] | None = None  # keys whose new value may be a pending list view
    for op in ops:
        kind, key = op[0], op[1]
        if key[:2] == "__":
            return _commit_general(prev, returned, internal, list(ops))
        if kind == "append" or kind == "extend":
            if grown is None:
                grown = []
            grown.append(key)
        node = (op, node)
    if (  # = _unshared(returned), inlined (same counts: one frame between the owner and the count)
        reuse
        and type(returned) is State
        and _UNSHARED is not None
        and sys.getrefcount(returned) == _UNSHARED[0]
        and sys.getrefcount(returned._d) == _UNSHARED[1]
        and returned._owned
        and not returned.__dict__
    ):
        new = returned
        d = returned._d
    else:
        new = State.__new__(State)
        d = returned._d.copy()
        new._d = d
        new._owned = True
    for op in internal:
        d[op[1]] = op[2]
        node = (op, node)
    new._typing_system = prev._typing_system
    new._ops = node
    new._base = prev._vid
    new._vid = next(_vids)
    if grown is not None:
        _seal(prev, new, grown)
    return new


def _commit_general(
    prev: State[Any], returned: State[Any], internal: tuple[Op, ...], ops: list[Op] | None
) -> State[Any]:
    """``_commit`` when the action touched internal keys (``ops`` given) or returned an unrelated State."""
    grown: list[str] = []
    if ops is None:
        cleaned = {k: v for k, v in returned.get_all().items() if not _is_internal(k)}
        d = {k: v for k, v in prev._d.items() if _is_internal(k)}
        d.update(cleaned)
        prev_user = {k: v for k, v in prev._d.items() if not _is_internal(k)}
        ops = _diff_ops(prev_user, cleaned)
    else:
        ops = [op for op in ops if not _is_internal(op[1])]
        grown = [key for kind, key, _ in ops if kind == "append" or kind == "extend"]
        d = {k: v for k, v in returned._d.items() if not _is_internal(k)}
        for k, v in prev._d.items():
            if _is_internal(k):
                d[k] = v
    node: _OpNode | None = None
    for op in ops:
        node = (op, node)
    for op in internal:
        d[op[1]] = op[2]
        node = (op, node)
    new = State.__new__(State)
    new._d = d
    new._owned = True
    new._typing_system = prev._typing_system
    new._ops = node
    new._base = prev._vid
    new._vid = next(_vids)
    if grown:
        _seal(prev, new, grown)
    return new


def _calibrate_unshared() -> tuple[int, int] | None:
    """What ``_unshared`` counts for a State held by one local variable, its dict held by it alone."""
    if _UNIQUE_REFCOUNT is None:  # no reliable reference counts (see _calibrate_refcount)
        return None
    if sys.version_info >= (3, 14):
        # 3.14 may borrow stack references to locals, depending on the code around the call:
        # counts seen at the call site might not match this calibration. Never reuse there.
        return None
    state = State.__new__(State)
    state._d = {}
    return _probe(state)


def _probe(state: State[Any]) -> tuple[int, int]:
    """``_unshared``'s counts, from a frame of the same shape (keep the two in step)."""
    return sys.getrefcount(state), sys.getrefcount(state._d)


def _unshared(state: State[Any]) -> bool:
    """True when the caller's one local variable is the only reference to ``state`` (a plain
    State, without instance attributes) and ``state`` the only holder of its dict: then no one
    else can observe it, and a commit may reuse it rather than copy it (see ``_commit_ops``).

    Call it exactly as ``_unshared(local_variable)``: the expected counts are calibrated for that.
    ``_commit_ops`` inlines the same test (keep the two, and ``_probe``, in step).
    """
    return (
        type(state) is State
        and _UNSHARED is not None
        and sys.getrefcount(state) == _UNSHARED[0]
        and sys.getrefcount(state._d) == _UNSHARED[1]
        and state._owned
        and not state.__dict__
    )


def _seal(prev: State[Any], new: State[Any], keys: list[str]) -> None:
    """Turn ``new``'s pending list views into real lists, extending in place when unobserved."""
    d = new._d
    for key in keys:
        value = d.get(key)
        if type(value) is not _ListView:
            continue
        items = value.chunk.items
        if (
            _UNIQUE_REFCOUNT is not None
            and prev._owned
            and prev._d.get(key) is items
            and len(items) == value.n
        ):
            # Hand prev a bounded view first, so a reader racing us gets a copy, then count.
            prev._d[key] = _ListView(value.chunk, value.n, ())
            del items
            if _refcount(value.chunk.items) == _UNIQUE_REFCOUNT:
                value.chunk.items.extend(value.tail)
                d[key] = value.chunk.items
                continue
            prev._d[key] = value.chunk.items
        d[key] = value.materialize()


def _snapshot_base(state: State[Any]) -> State[Any]:
    """Mark ``state`` as a fresh checkpoint base (e.g. a State a persister just loaded)."""
    state._ops = None
    state._base = state._vid
    return state


_UNSHARED = _calibrate_unshared()
