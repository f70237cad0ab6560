"""Tolerant readers for tracking data: ours (format 2) and Apache Burr 0.43's (format 1).

Everything here is stdlib-only and never raises on bad data inside a file: torn last lines
(a killed writer) and corrupt lines are skipped and reported in ``warnings``. See
docs/tracking-format.md for the record shapes.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from typing import Any, Iterator

GRAPH_FILENAME = "graph.json"
METADATA_FILENAME = "metadata.json"
LOG_FILENAME = "log.jsonl"
CHILDREN_FILENAME = "children.jsonl"

FORMAT_VERSION = 2
SEQUENCE_ID_KEY = "__SEQUENCE_ID"
PRIOR_STEP_KEY = "__PRIOR_STEP"


@dataclasses.dataclass
class LogReadResult:
    """The parsed records of a JSONL file.

    ``end_offset`` is the byte offset just after the last complete line, so a tailing reader can
    resume with ``read_log(path, offset=end_offset)`` (an unterminated torn line is not consumed).
    """

    records: list[dict[str, Any]]
    warnings: list[str]
    end_offset: int = 0


def _parse_lines(data: bytes, base_offset: int, path: str, warnings: list[str]) -> Iterator[dict[str, Any]]:
    context = LogContext()
    start = 0
    n = len(data)
    while start < n:
        nl = data.find(b"\n", start)
        end = n if nl < 0 else nl
        line = data[start:end]
        offset = base_offset + start
        start = end + 1
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            where = "torn last line" if nl < 0 else "corrupt line"
            warnings.append(
                f"{path}: skipped a {where} at byte {offset} ({len(line)} bytes, not valid JSON)."
            )
            continue
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            warnings.append(f"{path}: skipped the line at byte {offset}: not a record (no 'type' field).")
            continue
        yield context.normalize(record, offset)


def _complete_end(data: bytes) -> int:
    """Length of ``data`` up to and including its last newline (an unterminated tail may be torn)."""
    last = data.rfind(b"\n")
    if last == len(data) - 1:
        return len(data)
    tail = data[last + 1 :]
    if not tail.strip():
        return len(data)
    try:
        json.loads(tail)
    except ValueError:
        return last + 1
    return len(data)  # a complete record whose writer simply left off the final newline


# -- lean format-2 records -> the full shape --------------------------------------------------------
# A format-2 writer leaves out what a reader can restore (docs/tracking-format.md, "Lean records"):
# fields at their default, call ids and sequence ids implied by neighbouring records, and it writes
# state-delta ops as short arrays. ``fill_defaults`` restores the per-record part; ``LogContext``
# the part that needs the records before it. Both accept the full shape unchanged.

_COMPACT_OPS = {"s": "set", "a": "append", "e": "extend", "d": "delete", "i": "increment"}
_OP_VALUE_FIELD = {"set": "value", "append": "value", "extend": "values", "increment": "by"}


def expand_op(op: Any) -> Any:
    """A delta op as a dict: ``["a", key, item]`` -> ``{"op": "append", "key": key, "value": item}``."""
    if not isinstance(op, list) or len(op) < 2:
        return op
    kind: Any = op[0]
    if not isinstance(kind, str):
        return {"op": kind, "key": op[1]}  # apply_delta reports it as an unknown op
    kind = _COMPACT_OPS.get(kind, kind)
    out = {"op": kind, "key": op[1]}
    field = _OP_VALUE_FIELD.get(kind)
    if field is not None and len(op) > 2:
        out[field] = op[2]
    return out


def fill_defaults(record: dict[str, Any]) -> dict[str, Any]:
    """Put back the fields a lean format-2 record omits at their default (in place; returns it).

    ``begin_entry``: ``inputs`` {}; ``end_entry``: ``result`` {}, ``exception`` null, ``state``
    null, compact ``state_delta`` ops as dicts; ``begin_call``: ``method`` "run"; ``end_call``:
    ``exception`` null. Records of any other type, and complete records, are returned as they are.
    """
    kind = record.get("type")
    if kind == "end_entry":
        if "result" not in record:
            record["result"] = {}
        if "exception" not in record:
            record["exception"] = None
        if "state" not in record:
            record["state"] = None
        delta = record.get("state_delta")
        if delta and isinstance(delta, list) and isinstance(delta[0], list):
            record["state_delta"] = [expand_op(op) for op in delta]
    elif kind == "begin_entry":
        if "inputs" not in record:
            record["inputs"] = {}
    elif kind == "begin_call":
        if "method" not in record:
            record["method"] = "run"
    elif kind == "end_call" and "exception" not in record:
        record["exception"] = None
    return record


class LogContext:
    """Restores what lean records leave to their position in the file (one instance per read).

    - ``begin_call`` without ``call_id``: the id is ``"@<byte offset of the record>"`` (unique
      and stable within the file); ``end_call`` without one closes the open call and takes its id.
    - ``begin_entry``/``end_entry`` without ``call_id``: the open call's (None outside calls). An
      entry with an explicit ``call_id`` (null after a crashed call) ends any other open call.
    - ``begin_call``/``end_call`` without ``sequence_id``: that of the last ``end_entry`` before
      them (None when reading starts after it, e.g. from an offset).
    """

    def __init__(self) -> None:
        self.open_call: str | None = None
        self.last_sequence_id: int | None = None

    def normalize(self, record: dict[str, Any], offset: int = 0) -> dict[str, Any]:
        kind = record.get("type")
        if kind == "begin_entry" or kind == "end_entry":
            if "call_id" in record:
                if record["call_id"] != self.open_call:
                    self.open_call = None
            else:
                record["call_id"] = self.open_call
            if kind == "end_entry" and isinstance(record.get("sequence_id"), int):
                self.last_sequence_id = record["sequence_id"]
        elif kind == "begin_call":
            record.setdefault("call_id", f"@{offset}")
            record.setdefault("sequence_id", self.last_sequence_id)
            self.open_call = record["call_id"]
        elif kind == "end_call":
            if "call_id" not in record:
                record["call_id"] = self.open_call
            record.setdefault("sequence_id", self.last_sequence_id)
            self.open_call = None
        return fill_defaults(record)


def iter_log(path: str, warnings: list[str] | None = None, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL tracking file in file order, skipping torn/corrupt lines.

    Problems are appended to ``warnings`` (when given). A missing file yields nothing.
    """
    sink = warnings if warnings is not None else []
    try:
        with open(path, "rb") as f:
            if offset:
                f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return
    except OSError as e:
        sink.append(f"{path}: could not be read ({e}).")
        return
    yield from _parse_lines(data, offset, path, sink)


def read_log(path: str, offset: int = 0) -> LogReadResult:
    """All records of a JSONL tracking file (``log.jsonl`` or ``children.jsonl``) from ``offset``."""
    warnings: list[str] = []
    try:
        with open(path, "rb") as f:
            if offset:
                f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return LogReadResult([], [], offset)
    except OSError as e:
        return LogReadResult([], [f"{path}: could not be read ({e})."], offset)
    records = list(_parse_lines(data, offset, path, warnings))
    return LogReadResult(records, warnings, offset + _complete_end(data))


# -- state reconstruction --------------------------------------------------------------------------


def apply_delta(
    serialized: dict[str, Any], record: dict[str, Any], owned: set[str] | None = None
) -> dict[str, Any]:
    """Apply a format-2 delta ``end_entry`` to the serialized state before it, in place.

    The step's ``__SEQUENCE_ID`` (always) and ``__PRIOR_STEP`` (on success) are implied by the
    record's ``sequence_id``/``action`` and set first; explicit ops in the delta override them.
    ``owned`` names the keys whose lists this dict owns (appends extend those in place; other
    lists are copied once first, so records are never mutated). Pass the same set across calls.
    """
    if owned is None:
        owned = set()
    seq = record.get("sequence_id")
    if seq is not None:
        serialized[SEQUENCE_ID_KEY] = seq
    if record.get("exception") is None and record.get("action") is not None:
        serialized[PRIOR_STEP_KEY] = record["action"]
    for op in record.get("state_delta") or ():
        if isinstance(op, list):
            op = expand_op(op)
        kind, key = op.get("op"), op.get("key")
        if kind == "set":
            serialized[key] = op.get("value")
            owned.discard(key)
        elif kind == "delete":
            serialized.pop(key, None)
            owned.discard(key)
        elif kind in ("append", "extend"):
            if key not in owned:
                current = serialized.get(key)
                serialized[key] = list(current) if isinstance(current, list) else []
                owned.add(key)
            if kind == "append":
                serialized[key].append(op.get("value"))
            else:
                serialized[key].extend(op.get("values") or ())
        elif kind == "increment":
            serialized[key] = (serialized.get(key) or 0) + op.get("by", 0)
        else:
            raise ValueError(
                f"Unknown state delta op {kind!r} for key {key!r} at sequence id {seq}: written by a newer "
                "burr? Upgrade to read it."
            )
    return serialized


def _is_snapshot(record: dict[str, Any]) -> bool:
    return isinstance(record.get("state"), dict)


def state_at(
    records: list[dict[str, Any]], sequence_id: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The serialized state after a step and that step's ``end_entry`` record.

    Picks the last ``end_entry`` with ``sequence_id`` (None -> the last one); returns None when
    there is none. Starts from the latest snapshot at or before it and replays deltas. The
    returned dict is new, but nested values may be shared with ``records``: do not mutate them.
    """
    target = -1
    for i in range(len(records) - 1, -1, -1):
        r = records[i]
        if r.get("type") == "end_entry" and (sequence_id is None or r.get("sequence_id") == sequence_id):
            target = i
            break
    if target < 0:
        return None
    base = target
    while base >= 0 and not (records[base].get("type") == "end_entry" and _is_snapshot(records[base])):
        base -= 1
    state: dict[str, Any] = dict(records[base]["state"]) if base >= 0 else {}
    owned: set[str] = set()
    for i in range(base + 1, target + 1):
        r = records[i]
        if r.get("type") == "end_entry" and "state_delta" in r:
            apply_delta(state, r, owned)
    return state, records[target]


def iter_states(records: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every ``(serialized_state, end_entry)`` pair in file order (one pass; states are copies)."""
    state: dict[str, Any] = {}
    owned: set[str] = set()
    for r in records:
        if r.get("type") != "end_entry":
            continue
        if _is_snapshot(r):
            state = dict(r["state"])
            owned.clear()
        elif "state_delta" in r:
            apply_delta(state, r, owned)
        owned.clear()  # the yielded dict shares these lists: copy before the next append
        yield dict(state), r


# -- static files ----------------------------------------------------------------------------------


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_injected(name: Any) -> bool:
    return isinstance(name, str) and name.startswith("__")


def read_graph(app_dir: str) -> dict[str, Any]:
    """``graph.json`` normalised to format 2: ``inputs`` = required, ``optional_inputs`` = optional,
    no injected ``__context``/``__tracer``. Apache Burr 0.43 (format 1) swaps the two lists.

    A missing or unreadable file gives an empty graph (``{"type": "application", "actions": [], ...}``).
    """
    graph = _read_json(os.path.join(app_dir, GRAPH_FILENAME))
    if graph is None:
        return {
            "type": "application",
            "entrypoint": None,
            "actions": [],
            "transitions": [],
            "burr_format": None,
        }
    fmt = graph.get("burr_format")
    if fmt is None:
        fmt = (read_metadata(app_dir).get("burr_format")) or 1
    actions = []
    for a in graph.get("actions") or []:
        if not isinstance(a, dict):
            continue
        a = dict(a)
        required, optional = a.get("inputs") or [], a.get("optional_inputs") or []
        if fmt < 2:
            required, optional = optional, required
        a["inputs"] = [x for x in required if not _is_injected(x)]
        a["optional_inputs"] = [x for x in optional if not _is_injected(x)]
        actions.append(a)
    out = dict(graph)
    out["actions"] = actions
    out.setdefault("transitions", [])
    out["burr_format"] = fmt
    return out


def read_metadata(app_dir: str) -> dict[str, Any]:
    """``metadata.json`` normalised to format 2 (``burr_format`` 1 for Apache Burr's files, whose
    ``created_at`` is taken from the file's modification time). Missing file -> defaults."""
    path = os.path.join(app_dir, METADATA_FILENAME)
    meta = _read_json(path)
    out: dict[str, Any] = {
        "type": "application_metadata",
        "partition_key": None,
        "parent_pointer": None,
        "spawning_parent_pointer": None,
    }
    if meta is None:
        out["burr_format"] = None
        out["created_at"] = None
        return out
    out.update(meta)
    if "burr_format" not in meta:
        out["burr_format"] = 1
    if not out.get("created_at"):
        try:
            mtime = os.path.getmtime(path)
            out["created_at"] = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).isoformat()
        except OSError:
            out["created_at"] = None
    return out


def read_children(app_dir: str) -> LogReadResult:
    """The ``child_application_data`` records (forks and spawned children) of a parent app."""
    return read_log(os.path.join(app_dir, CHILDREN_FILENAME))


def implied_transition(graph: dict[str, Any], from_action: str, failed: bool = False) -> dict[str, Any] | None:
    """The transition record a format-2 writer omitted for a step of ``from_action``.

    The writer skips the ``transition`` record when only one condition was evaluated and it was
    true: the first transition out of the action (in declaration order) among those that apply.
    After a completed step those are the normal transitions; after a failed step (``failed``) the
    error routes (conditions named ``on_exception(...)``). Use this when a step has no
    ``transition`` record but a later step exists. ``graph`` is ``read_graph``'s result; None when
    no such transition exists.
    """
    for t in graph.get("transitions") or []:
        if not isinstance(t, dict) or t.get("from_") != from_action:
            continue
        if str(t.get("condition") or "").startswith("on_exception(") == failed:
            return {
                "type": "transition",
                "from_": from_action,
                "evaluated": [{"to": t.get("to"), "condition": t.get("condition"), "value": True}],
                "to": t.get("to"),
                "implied": True,
            }
    return None


def parse_time(value: str | None) -> datetime.datetime | None:
    """A record timestamp as an aware UTC datetime.

    Naive timestamps (Apache Burr's entry/span/child times) are read as the reader's local time.
    Returns None for None or an unparseable value.
    """
    if not value:
        return None
    try:
        dt = datetime.datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except (TypeError, ValueError):
        return None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # naive -> local time of this process
    return dt.astimezone(datetime.timezone.utc)
