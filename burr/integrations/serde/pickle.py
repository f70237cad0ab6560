"""Opt-in pickle serde: ``register_type_to_pickle(MyType)`` stores values of that type pickled.

Unpickling runs code chosen by whoever wrote the data, so it never happens by default: only types
you register here are unpickled, and a record naming any other class is refused. Only register
types whose stored data you trust. Records are ``{"__burr_serde__": "pickle", "class": path,
"value": <base64 pickle>}`` (JSON-safe; Apache Burr's raw-bytes records also load).
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from burr.core import serde

_REGISTERED: dict[str, type] = {}


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_type_to_pickle(cls: type) -> None:
    """Store values of ``cls`` (and subclasses) pickled, and allow unpickling them."""
    _REGISTERED[_path(cls)] = cls

    @serde.serialize.register(cls)
    def _serialize(value: Any, pickle_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        data = pickle.dumps(value, **(pickle_kwargs or {}))
        return {
            serde.KEY: "pickle",
            "class": _path(type(value)),
            "value": base64.b64encode(data).decode("ascii"),
        }


@serde.deserializer.register("pickle")
def _deserialize(value: dict[str, Any], pickle_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    cls_path = value.get("class")
    if cls_path is not None and cls_path not in _REGISTERED:
        raise ValueError(
            f"Refusing to unpickle a stored '{cls_path}': only types registered with "
            "burr.integrations.serde.pickle.register_type_to_pickle are unpickled."
        )
    if cls_path is None and not _REGISTERED:
        raise ValueError(
            "Refusing to unpickle stored data: no type was registered with register_type_to_pickle."
        )
    raw = value["value"]
    data = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    return pickle.loads(data, **(pickle_kwargs or {}))
