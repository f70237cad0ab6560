"""Building the plain-dict records the local tracker writes (format 2, see docs/tracking-format.md).

Values are serialized on the caller's thread (they may be mutated after the hook returns); the
JSON encoding happens on the writer thread.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Iterable, Pattern, Union

from burr.core import serde
from burr.core.state import FIELD_SERIALIZATION, serialize_field

REDACTED: dict[str, Any] = {"__burr_redacted__": True}
_PRIMITIVES = (str, int, float, bool, type(None))

Redaction = Union[str, Pattern[str]]


class Redactor:
    """Decides which keys (state fields, inputs, result fields, attributes) are redacted.

    Plain strings match a key exactly; compiled patterns (``re.compile(...)``) match when
    ``pattern.search(key)`` does. Decisions are cached per key.
    """

    def __init__(self, rules: Iterable[Redaction] | None) -> None:
        self.names: set[str] = set()
        self.patterns: list[Pattern[str]] = []
        for rule in rules or ():
            if isinstance(rule, str):
                self.names.add(rule)
            elif isinstance(rule, re.Pattern):
                self.patterns.append(rule)
            else:
                raise TypeError(
                    f"redact= takes key names (str) or compiled patterns (re.compile(...)); got {rule!r}."
                )
        self.active = bool(self.names or self.patterns)
        self._cache: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        hit = self._cache.get(key)
        if hit is None:
            hit = key in self.names or any(p.search(key) for p in self.patterns)
            self._cache[key] = hit
        return hit


_warned: set[str] = set()


def _unserializable(where: str, value: Any, error: Exception) -> dict[str, Any]:
    name = type(value).__qualname__
    if name not in _warned:
        _warned.add(name)
        warnings.warn(
            f"Burr tracking could not serialize {where} (a {name}): {error}. It is recorded as a "
            "placeholder {'__burr_unserializable__': true}; the application keeps running. Register a "
            "serializer with burr.core.serde.serialize.register to track it.",
            stacklevel=3,
        )
    try:
        text = repr(value)[:1000]
    except Exception:
        text = f"<unrepresentable {name}>"
    return {"__burr_unserializable__": True, "type": name, "repr": text}


def value(v: Any, where: str, serde_kwargs: dict[str, Any]) -> Any:
    """JSON-compatible form of a non-state value (input, result field, attribute)."""
    if type(v) in _PRIMITIVES:
        return v
    try:
        return serde.serialize(v, **serde_kwargs)
    except Exception as e:
        return _unserializable(where, v, e)


def field(key: str, v: Any, serde_kwargs: dict[str, Any]) -> Any:
    """JSON-compatible form of one state field (honours field-level serdes)."""
    if type(v) in _PRIMITIVES and key not in FIELD_SERIALIZATION:
        return v
    try:
        return serialize_field(key, v, **serde_kwargs)
    except Exception as e:
        return _unserializable(f"state field '{key}'", v, e)


def mapping(
    d: Any, where: str, redact: Redactor, serde_kwargs: dict[str, Any], skip_dunder: bool = False
) -> Any:
    """Serialize a dict of named values (inputs, a result) key by key."""
    if d is None:
        return None
    if not isinstance(d, dict):
        return value(d, where, serde_kwargs)
    out: dict[str, Any] = {}
    for k, v in d.items():
        if skip_dunder and isinstance(k, str) and k.startswith("__"):
            continue
        if redact.active and redact(str(k)):
            out[k] = REDACTED
        elif type(v) in _PRIMITIVES:
            out[k] = v
        else:
            out[k] = value(v, f"{where} '{k}'", serde_kwargs)
    return out


def snapshot(state: Any, redact: Redactor, serde_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The full serialized state (a State is a Mapping; we avoid ``get_all`` copies)."""
    out: dict[str, Any] = {}
    for k in state:
        out[k] = REDACTED if redact.active and redact(k) else field(k, state[k], serde_kwargs)
    return out


def redact_delta(records: list[dict[str, Any]], redact: Redactor) -> list[dict[str, Any]]:
    out = []
    for r in records:
        if redact(r["key"]) and r["op"] != "delete":
            r = {"op": "set", "key": r["key"], "value": REDACTED}
        out.append(r)
    return out


# -- static files ----------------------------------------------------------------------------------


def _names(xs: Any) -> list[str]:
    items = sorted(xs) if isinstance(xs, (set, frozenset)) else list(xs or [])
    return [x for x in items if not (isinstance(x, str) and x.startswith("__"))]


def action_model(action: Any) -> dict[str, Any]:
    required: Any = []
    optional: Any = []
    try:
        # (required, optional), despite the method's name (Apache Burr's quirk, kept)
        required, optional = action.optional_and_required_inputs
    except Exception:
        required = list(getattr(action, "inputs", []) or [])
    try:
        code = action.get_source()
    except Exception:
        code = ""
    return {
        "type": "action",
        "name": action.name,
        "reads": list(getattr(action, "reads", []) or []),
        "writes": list(getattr(action, "writes", []) or []),
        "code": code,
        "inputs": _names(required),
        "optional_inputs": _names(optional),
    }


def name_of(x: Any) -> Any:
    return x if isinstance(x, str) or x is None else getattr(x, "name", str(x))


def transition_model(transition: Any) -> dict[str, Any]:
    return {
        "type": "transition",
        "from_": name_of(getattr(transition, "from_", None)),
        "to": name_of(getattr(transition, "to", None)),
        "condition": name_of(getattr(transition, "condition", None)),
    }


def application_model(graph: Any) -> dict[str, Any]:
    return {
        "type": "application",
        "burr_format": 2,
        "entrypoint": name_of(getattr(graph, "entrypoint", None)),
        "actions": [action_model(a) for a in getattr(graph, "actions", [])],
        "transitions": [transition_model(t) for t in getattr(graph, "transitions", [])],
    }


def pointer(p: Any) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "type": "pointer_data",
        "app_id": getattr(p, "app_id", None),
        "sequence_id": getattr(p, "sequence_id", None),
        "partition_key": getattr(p, "partition_key", None),
    }
