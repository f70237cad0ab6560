"""Turning state values into JSON-compatible data and back.

``serialize`` is a ``functools.singledispatch`` function: register your own types with
``@serialize.register(MyType)`` returning a dict tagged ``{KEY: "<name>", ...}`` and a matching
``@deserializer.register("<name>")``.

Unlike Apache Burr, the built-in types round-trip: tuples, sets, frozensets, bytes, datetimes,
dates, times, timedeltas, decimals, UUIDs, paths, enums, dataclasses and pydantic models come back
as the same types. Values Apache Burr wrote in its lossy form (plain strings and lists) load as
written.

Stored data is untrusted input: nothing is ever unpickled unless you opt in
(``burr.integrations.serde.pickle``), and a class named in stored data is only used if its module is
already imported by your program (we never import a module because a row names it) and it is of
the expected kind (an Enum, a dataclass, a pydantic model). Use ``allow_class`` to permit a class
whose module you have not imported yet.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import datetime
    import decimal
    import pathlib
    import uuid

KEY = "__burr_serde__"

_ALLOWED_CLASSES: dict[str, type] = {}


class StringDispatch:
    """Dispatch on a string key, the deserialisation twin of ``singledispatch``."""

    def __init__(self) -> None:
        self.func_map: dict[str, Callable[..., Any]] = {}

    def register(self, key: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.func_map[key] = func
            return func

        return decorator

    def call(self, key: str, *args: Any, **kwargs: Any) -> Any:
        func = self.func_map.get(key)
        if func is None:
            raise ValueError(
                # Both key phrases: Apache Burr 0.43 says "No deserializer registered", 0.40 said
                # "No function registered"; users match either.
                f"No deserializer registered for key: {key!r} (No function registered for key: {key}). "
                f"Registered keys are {sorted(self.func_map)}. "
                f"Register a deserializer with @burr.core.serde.deserializer.register({key!r}) (and import "
                "the module that does so before loading)."
            )
        return func(*args, **kwargs)


deserializer = StringDispatch()


def allow_class(cls: type) -> type:
    """Let stored data name ``cls`` even if its module was not imported when loading. Usable as a decorator."""
    _ALLOWED_CLASSES[_class_path(cls)] = cls
    return cls


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve_class(path: str, kind: str, check: Callable[[Any], bool]) -> Any:
    """Find the class a stored record names, without importing anything new."""
    if path in _ALLOWED_CLASSES:
        return _ALLOWED_CLASSES[path]
    module_name, _, qualname = path.rpartition(".")
    obj: Any = None
    # Qualified names may be nested (Outer.Inner): try the longest importable module prefix.
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is None:
            continue
        obj = module
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None:
            break
    if obj is None:
        raise ValueError(
            f"Stored data names the {kind} class '{path}', but module '{module_name}' is not imported. "
            f"Import it before loading, or call burr.core.serde.allow_class({qualname}). "
            "(Burr never imports modules named by stored data.)"
        )
    if not check(obj):
        raise ValueError(
            f"Stored data names '{path}' as a {kind} class, but it is not one; refusing to load it."
        )
    return obj


@functools.singledispatch
def serialize(value: Any, **kwargs: Any) -> Any:
    """Turn ``value`` into JSON-compatible data. Unknown objects fall back to ``str(value)``."""
    cls = type(value)
    if _STDLIB_PENDING and _register_stdlib():
        return serialize(value, **kwargs)  # a datetime/decimal/uuid/pathlib handler is now registered
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            KEY: "dataclass",
            "class": _class_path(cls),
            "value": {f.name: serialize(getattr(value, f.name), **kwargs) for f in dataclasses.fields(value)},
        }
    if hasattr(cls, "model_dump") and hasattr(cls, "model_fields") and hasattr(cls, "model_validate"):
        # a pydantic v2 model: Apache Burr's record shape, so either side can read it
        from burr.integrations.serde import pydantic as pydantic_serde

        return pydantic_serde.serialize_model(value, **kwargs)
    return str(value)


@serialize.register(type(None))
def _serialize_none(value: None, **kwargs: Any) -> None:
    return None


@serialize.register(str)
@serialize.register(int)
@serialize.register(float)
@serialize.register(bool)
def _serialize_primitive(value: Any, **kwargs: Any) -> Any:
    if type(value) not in (str, int, float, bool):
        return _serialize_subclass(value, **kwargs)
    return value


def _serialize_subclass(value: Any, **kwargs: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _serialize_enum(value, **kwargs)
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    return str(value)


@serialize.register(dict)
def _serialize_dict(value: dict[Any, Any], **kwargs: Any) -> dict[Any, Any]:
    return {k: serialize(v, **kwargs) for k, v in value.items()}


@serialize.register(list)
def _serialize_list(value: list[Any], **kwargs: Any) -> list[Any]:
    return [serialize(v, **kwargs) for v in value]


@serialize.register(tuple)
def _serialize_tuple(value: tuple[Any, ...], **kwargs: Any) -> Any:
    # namedtuples load back as plain tuples
    return {KEY: "tuple", "value": [serialize(v, **kwargs) for v in value]}


@serialize.register(set)
def _serialize_set(value: set[Any], **kwargs: Any) -> Any:
    return {KEY: "set", "value": [serialize(v, **kwargs) for v in _stable_order(value)]}


@serialize.register(frozenset)
def _serialize_frozenset(value: frozenset[Any], **kwargs: Any) -> Any:
    return {KEY: "frozenset", "value": [serialize(v, **kwargs) for v in _stable_order(value)]}


def _stable_order(values: Any) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return list(values)


@serialize.register(bytes)
def _serialize_bytes(value: bytes, **kwargs: Any) -> Any:
    import base64

    return {KEY: "bytes", "value": base64.b64encode(value).decode("ascii")}


def _serialize_datetime(value: datetime.datetime, **kwargs: Any) -> Any:
    return {KEY: "datetime", "value": value.isoformat()}


def _serialize_date(value: datetime.date, **kwargs: Any) -> Any:
    if isinstance(value, sys.modules["datetime"].datetime):  # a date exists, so datetime is imported
        return _serialize_datetime(value)
    return {KEY: "date", "value": value.isoformat()}


def _serialize_time(value: datetime.time, **kwargs: Any) -> Any:
    return {KEY: "time", "value": value.isoformat()}


def _serialize_timedelta(value: datetime.timedelta, **kwargs: Any) -> Any:
    return {KEY: "timedelta", "value": [value.days, value.seconds, value.microseconds]}


def _serialize_decimal(value: decimal.Decimal, **kwargs: Any) -> Any:
    return {KEY: "decimal", "value": str(value)}


def _serialize_uuid(value: uuid.UUID, **kwargs: Any) -> Any:
    return {KEY: "uuid", "value": str(value)}


def _serialize_path(value: pathlib.PurePath, **kwargs: Any) -> Any:
    return {KEY: "path", "value": str(value)}


# Registered once their module is imported: importing datetime/decimal/uuid/pathlib just to register
# them would slow `import burr.core`, and a value of one of these types cannot exist before its module is
# imported. `serialize`'s fallback registers them on first sight.
_STDLIB_PENDING: dict[str, list[tuple[str, Callable[..., Any]]]] = {
    "datetime": [
        ("datetime", _serialize_datetime),
        ("date", _serialize_date),
        ("time", _serialize_time),
        ("timedelta", _serialize_timedelta),
    ],
    "decimal": [("Decimal", _serialize_decimal)],
    "uuid": [("UUID", _serialize_uuid)],
    "pathlib": [("PurePath", _serialize_path)],
}


def _register_stdlib() -> bool:
    """Register the handlers of the pending stdlib types whose module is now imported."""
    registered = False
    for module_name in [m for m in _STDLIB_PENDING if m in sys.modules]:
        pending = _STDLIB_PENDING.pop(module_name, None)  # None: another thread registered it
        for cls_name, handler in pending or ():
            serialize.register(getattr(sys.modules[module_name], cls_name))(handler)
            registered = True
    return registered


_register_stdlib()


@serialize.register(enum.Enum)
def _serialize_enum(value: enum.Enum, **kwargs: Any) -> Any:
    return {KEY: "enum", "class": _class_path(type(value)), "value": serialize(value.value, **kwargs)}


def deserialize(value: Any, **kwargs: Any) -> Any:
    """Inverse of ``serialize``: tagged dicts go to their registered deserializer."""
    if isinstance(value, dict):
        if KEY in value:
            return deserializer.call(value[KEY], value, **kwargs)
        return {k: deserialize(v, **kwargs) for k, v in value.items()}
    if isinstance(value, list):
        return [deserialize(v, **kwargs) for v in value]
    return value


def _module(name: str) -> Any:
    # stdlib modules of the built-in records, imported when the first such record loads
    import importlib

    return importlib.import_module(name)


def _items(record: dict[str, Any], **kwargs: Any) -> list[Any]:
    return [deserialize(v, **kwargs) for v in record["value"]]


deserializer.register("tuple")(lambda r, **kw: tuple(_items(r, **kw)))
deserializer.register("set")(lambda r, **kw: set(_items(r, **kw)))
deserializer.register("frozenset")(lambda r, **kw: frozenset(_items(r, **kw)))
deserializer.register("bytes")(lambda r, **kw: _module("base64").b64decode(r["value"]))
deserializer.register("datetime")(lambda r, **kw: _module("datetime").datetime.fromisoformat(r["value"]))
deserializer.register("date")(lambda r, **kw: _module("datetime").date.fromisoformat(r["value"]))
deserializer.register("time")(lambda r, **kw: _module("datetime").time.fromisoformat(r["value"]))
deserializer.register("timedelta")(lambda r, **kw: _module("datetime").timedelta(*r["value"]))
deserializer.register("decimal")(lambda r, **kw: _module("decimal").Decimal(r["value"]))
deserializer.register("uuid")(lambda r, **kw: _module("uuid").UUID(r["value"]))
deserializer.register("path")(lambda r, **kw: _module("pathlib").Path(r["value"]))


@deserializer.register("enum")
def _deserialize_enum(record: dict[str, Any], **kwargs: Any) -> Any:
    cls = resolve_class(record["class"], "Enum", lambda c: isinstance(c, type) and issubclass(c, enum.Enum))
    return cls(deserialize(record["value"], **kwargs))


@deserializer.register("dataclass")
def _deserialize_dataclass(record: dict[str, Any], **kwargs: Any) -> Any:
    cls = resolve_class(
        record["class"], "dataclass", lambda c: isinstance(c, type) and dataclasses.is_dataclass(c)
    )
    values = {k: deserialize(v, **kwargs) for k, v in record["value"].items()}
    init_fields = {f.name for f in dataclasses.fields(cls) if f.init}
    obj = cls(**{k: v for k, v in values.items() if k in init_fields})
    for k, v in values.items():
        if k not in init_fields:
            object.__setattr__(obj, k, v)
    return obj


@deserializer.register("pydantic")
def _deserialize_pydantic(record: dict[str, Any], **kwargs: Any) -> Any:
    from burr.integrations.serde import pydantic as pydantic_serde

    return pydantic_serde.deserialize_model(record, **kwargs)
