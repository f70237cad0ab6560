"""Pydantic models in state: Apache Burr's record shape (``model_dump()`` fields plus the class path)."""

from __future__ import annotations

from typing import Any

from burr.core.serde import KEY, resolve_class

PYDANTIC_CLASS = "__pydantic_class"


def serialize_model(value: Any, **kwargs: Any) -> dict[str, Any]:
    cls = type(value)
    dumped = value.model_dump(mode="json")
    return {**dumped, KEY: "pydantic", PYDANTIC_CLASS: f"{cls.__module__}.{cls.__qualname__}"}


def _is_model_class(obj: Any) -> bool:
    from pydantic import BaseModel

    return isinstance(obj, type) and issubclass(obj, BaseModel)


def deserialize_model(record: dict[str, Any], **kwargs: Any) -> Any:
    cls = resolve_class(record[PYDANTIC_CLASS], "pydantic model", _is_model_class)
    fields = {k: v for k, v in record.items() if k not in (KEY, PYDANTIC_CLASS)}
    return cls.model_validate(fields)
