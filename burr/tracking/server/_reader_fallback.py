"""Private stand-in for ``burr.tracking.common.logs`` until that module lands (delete it then).

Implements just what the server needs from the shared tracking-format contract.
"""

from __future__ import annotations

import json
import os
from typing import Any

from burr.core._delta import apply_encoded


def state_at(records: list[dict[str, Any]], sequence_id: int | None) -> tuple[dict, dict] | None:
    """(serialized state, end_entry) of the last end_entry with ``sequence_id`` (None -> latest)."""
    state: dict[str, Any] | None = None
    found: tuple[dict, dict] | None = None
    for rec in records:
        if rec.get("type") != "end_entry":
            continue
        if rec.get("state") is not None:
            state = json.loads(json.dumps(rec["state"]))
        elif rec.get("state_delta") is not None and state is not None:
            state = apply_encoded(state, rec["state_delta"])
        else:
            state = None
        if state is not None and (sequence_id is None or rec.get("sequence_id") == sequence_id):
            found = (json.loads(json.dumps(state)), rec)
    return found


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def read_graph(app_dir: str) -> dict[str, Any]:
    """graph.json normalised to format 2 (required inputs in ``inputs``, no injected inputs)."""
    graph = _load(os.path.join(app_dir, "graph.json"))
    if not graph:
        return {}
    fmt = _load(os.path.join(app_dir, "metadata.json")).get("burr_format", 1)
    for act in graph.get("actions", []):
        req, opt = act.get("inputs", []), act.get("optional_inputs", [])
        if fmt == 1:
            req, opt = opt, req
        act["inputs"] = [i for i in req if i not in ("__context", "__tracer")]
        act["optional_inputs"] = [i for i in opt if i not in ("__context", "__tracer")]
    return graph


def read_metadata(app_dir: str) -> dict[str, Any]:
    """metadata.json with ``burr_format`` and ``created_at`` always present (may be None)."""
    meta = _load(os.path.join(app_dir, "metadata.json"))
    meta.setdefault("burr_format", 1)
    meta.setdefault("created_at", None)
    meta.setdefault("partition_key", None)
    meta.setdefault("parent_pointer", None)
    meta.setdefault("spawning_parent_pointer", None)
    return meta
