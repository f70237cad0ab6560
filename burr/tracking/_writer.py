"""The tracker's writer: hooks queue plain dicts; encoding is batched, disk I/O is on a thread.

Hooks never touch the disk. They append ``(target, record)`` to a deque (atomic under the GIL)
and return. Every ``BATCH_SIZE`` records, the thread that crosses the mark encodes the batch to
JSON lines grouped per file and hands it to one daemon I/O thread, which appends each file's lines
with a single ``write``. (Encoding is CPU work that holds the GIL wherever it runs; doing it on the
I/O thread measured ~2x more total CPU per step because of GIL hand-offs, so only the blocking
I/O is moved off the application's thread.) The I/O thread also encodes what a slow application
left queued, every ``flush_interval`` seconds. Time fields are queued as ``time.time()`` floats
and formatted at encoding time.

Guarantees:
- Order: records for one file are written in the order they were queued.
- Flushing: ``flush()`` blocks until everything queued before it is written (the client calls it
  when an application call returns, when a step raises, before loading, and at interpreter exit).
- Back-pressure: when ``MAX_IO_BATCHES`` encoded batches wait for a slow disk, the producer blocks
  until the I/O thread catches up; nothing is dropped while the disk accepts writes.
- Failure: an unwritable directory or full disk produces ONE warning per directory and the
  application keeps running; those records are dropped. Later batches retry (a newline is written
  first so a partially written line cannot corrupt the next one).
"""

from __future__ import annotations

import atexit
import collections
import datetime
import json
import math
import os
import queue
import sys
import threading
import time
import warnings
from typing import Any, Callable

BATCH_SIZE = 512  # records per encoded batch (small batches keep the garbage collector's scans short)
MAX_IO_BATCHES = 64  # encoded batches waiting for the disk before producers block
DEFAULT_FLUSH_INTERVAL = 0.5

# The time field of each record type: hooks queue epoch floats, the writer formats them (UTC ISO-8601).
_TIME_FIELD = {
    "begin_entry": "start_time",
    "end_entry": "end_time",
    "begin_span": "start_time",
    "end_span": "end_time",
    "attribute": "time_logged",
    "begin_stream": "stream_init_time",
    "first_item_stream": "first_item_time",
    "end_stream": "end_time",
    "begin_call": "start_time",
    "end_call": "end_time",
    "child_application_data": "event_time",
}

try:  # optional accelerator (the tracking-client extra installs it): ~5x faster encoding
    import orjson as _orjson

    _ORJSON_OPTIONS = _orjson.OPT_NON_STR_KEYS
except ImportError:  # pragma: no cover - exercised when orjson is absent
    _orjson = None  # type: ignore[assignment]
    _ORJSON_OPTIONS = 0

_UTC = datetime.timezone.utc


class LogTarget:
    """One append-only JSONL file plus the byte counters the snapshot policy reads."""

    __slots__ = (
        "path",
        "bytes_since_snapshot",
        "grown_since_snapshot",
        "last_snapshot_bytes",
        "failed",
        "needs_newline",
    )

    def __init__(self, path: str) -> None:
        self.path = path
        self.bytes_since_snapshot = 0
        # bytes of end_entry lines since the snapshot whose ops only append/extend: an upper bound
        # of how much the state grew, so the snapshot policy can compare the log with the state now
        self.grown_since_snapshot = 0
        self.last_snapshot_bytes: int | None = 0
        self.failed = False
        self.needs_newline = False


class FileTarget:
    """A whole small file (graph.json, metadata.json) written atomically."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


_SECOND_PREFIX: dict[int, str] = {}


def iso(t: float) -> str:
    """UTC ISO-8601 with microseconds and "Z" (the seconds prefix is cached: this runs per record)."""
    whole = int(t)
    micros = int((t - whole) * 1e6 + 0.5)
    prefix = _SECOND_PREFIX.get(whole)
    if prefix is None or micros >= 1_000_000:
        if micros >= 1_000_000:
            whole, micros = whole + 1, micros - 1_000_000
        if len(_SECOND_PREFIX) > 4096:
            _SECOND_PREFIX.clear()
        prefix = _SECOND_PREFIX[whole] = datetime.datetime.fromtimestamp(whole, _UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    return "%s.%06dZ" % (prefix, micros)  # noqa: UP031  (faster than an f-string with a format spec)


_jstr = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C-accelerated string quoting


def _placeholder(value: Any) -> dict[str, Any]:
    try:
        text = repr(value)
    except Exception:
        text = f"<unrepresentable {type(value).__name__}>"
    return {"__burr_unserializable__": True, "type": type(value).__qualname__, "repr": text[:1000]}


def _sanitize_floats(value: Any) -> Any:
    # JSON has no NaN/Infinity (browsers reject them): store null, as orjson does
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _sanitize_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize_floats(v) for v in value]
    return value


def _capped(value: Any, limit: int) -> Any:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_placeholder)
    size = len(text.encode("utf-8", "backslashreplace"))
    if size <= limit:
        return value
    if isinstance(value, dict) and "__burr_serde__" in value:
        kind = str(value["__burr_serde__"])
    else:
        kind = type(value).__name__
    return {"__burr_truncated__": True, "preview": text[: min(limit, 1000)], "size": size, "type": kind}


def cap_record(record: dict[str, Any], limit: int) -> None:
    """Replace every top-level value (state key, input, result key, attribute) over ``limit`` bytes."""
    for field in ("state", "inputs", "result"):
        container = record.get(field)
        if isinstance(container, dict):
            record[field] = {k: _capped(v, limit) for k, v in container.items()}
    delta = record.get("state_delta")
    if isinstance(delta, list):
        for op in delta:
            if "value" in op:
                op["value"] = _capped(op["value"], limit)
            if "values" in op:
                op["values"] = [_capped(v, limit) for v in op["values"]]
    if record.get("type") == "attribute" and "value" in record:
        record["value"] = _capped(record["value"], limit)


def _fmt_begin_entry(r: dict[str, Any], enc: Callable[[Any], str]) -> str:
    inputs = r.get("inputs")
    return (
        f'{{"type":"begin_entry","start_time":{_jstr(r["start_time"])},"action":{_jstr(r["action"])},'
        + (f'"inputs":{enc(inputs)},' if "inputs" in r else "")
        + f'"sequence_id":{int(r["sequence_id"])}'
        + (f',"call_id":{enc(r["call_id"])}}}' if "call_id" in r else "}")
    )


_JSON_CONST = {True: "true", False: "false", None: "null"}

# Compact state-delta ops (docs/tracking-format.md): ["s", key, value], ["a", key, item],
# ["e", key, [items]], ["i", key, by], ["d", key].
_OP_CODES = {"set": "s", "append": "a", "extend": "e", "increment": "i", "delete": "d"}
_OP_FIELDS = {"set": "value", "append": "value", "extend": "values", "increment": "by"}


def compact_ops(ops: list[dict[str, Any]]) -> list[list[Any]]:
    """Dict ops (what the client builds and redaction/capping edit) as the short arrays we write."""
    out: list[list[Any]] = []
    for op in ops:
        kind = op["op"]
        field = _OP_FIELDS.get(kind)
        if field is None:
            out.append([_OP_CODES.get(kind, kind), op["key"]])
        else:
            out.append([_OP_CODES[kind], op["key"], op.get(field)])
    return out


def _fmt_end_entry(r: dict[str, Any], enc: Callable[[Any], str]) -> str:
    parts = [f'{{"type":"end_entry","end_time":{_jstr(r["end_time"])},"action":{_jstr(r["action"])}']
    for key in ("result", "exception", "state"):
        if key in r:
            parts.append(f'"{key}":{enc(r[key])}')
    parts.append(f'"sequence_id":{int(r["sequence_id"])}')
    for key in ("state_delta", "call_id", "attempt", "will_retry"):
        if key in r:
            parts.append(f'"{key}":{enc(r[key])}')
    return ",".join(parts) + "}"


def _fmt_transition(r: dict[str, Any], enc: Callable[[Any], str]) -> str:
    seq, from_, to = r["sequence_id"], r["from_"], r["to"]
    evaluated = ",".join(
        f'{{"to":{_jstr(e["to"])},"condition":{_jstr(e["condition"])},"value":{_JSON_CONST[e["value"]]}}}'
        if len(e) == 3 and type(e["to"]) is str and type(e["condition"]) is str and type(e["value"]) is bool
        else enc(e)
        for e in r["evaluated"]
    )
    return (
        f'{{"type":"transition","sequence_id":{"null" if seq is None else int(seq)},'
        f'"from_":{"null" if from_ is None else _jstr(from_)},"evaluated":[{evaluated}],'
        f'"to":{"null" if to is None else _jstr(to)}}}'
    )


# -- lines encoded by the hooks themselves -------------------------------------------------------
# The two records of a plain step (no inputs, result ``{}``, a delta of primitive values) are
# encoded right away into the exact bytes orjson would produce for the dict: building the line
# costs less than building the dict and encoding it later (all on the application's thread).
# Anything else returns None and goes through the dict path.


def _json_scalar(value: Any) -> str | None:
    t = value.__class__
    if t is str:
        return _jstr(value)  # type: ignore[no-any-return]
    if t is int:
        return str(value) if -(2**63) <= value < 2**64 else None  # orjson's range
    if t is bool or value is None:
        return _JSON_CONST[value]
    return None  # floats: orjson's shortest form differs from repr; leave them to orjson


def begin_entry_line(t: float, action: str, sequence_id: int, null_call: bool = False) -> bytes | None:
    """``{"type":"begin_entry",...}`` for a step without inputs (``"call_id":null`` when asked), or None."""
    if action.__class__ is not str or sequence_id.__class__ is not int:
        return None
    line = (
        f'{{"type":"begin_entry","start_time":"{iso(t)}","action":{_jstr(action)},"sequence_id":{sequence_id}'
    )
    if null_call:
        line += ',"call_id":null'
    try:
        return (line + "}").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the dict path escapes it
        return None


def end_entry_line(t: float, action: str, sequence_id: int, delta: list[dict[str, Any]]) -> bytes | None:
    """``{"type":"end_entry",...}`` of a successful step with result ``{}`` and ``delta``, or None."""
    if action.__class__ is not str or sequence_id.__class__ is not int:
        return None
    ops = []
    for op in delta:
        kind = op["op"]
        key = op["key"]
        if key.__class__ is not str:
            return None
        if kind == "delete" and len(op) == 2:
            ops.append(f'["d",{_jstr(key)}]')
            continue
        field = "by" if kind == "increment" else "value"
        code = _OP_CODES.get(kind) if kind.__class__ is str else None
        # appends take the record path: the writer counts them as state growth (snapshot policy)
        if code is None or code == "e" or code == "a" or len(op) != 3 or field not in op:
            return None
        value = _json_scalar(op[field])
        if value is None:
            return None
        ops.append(f'["{code}",{_jstr(key)},{value}]')
    line = (
        f'{{"type":"end_entry","end_time":"{iso(t)}","action":{_jstr(action)},'
        f'"sequence_id":{sequence_id},"state_delta":[{",".join(ops)}]'
    )
    try:
        return (line + "}").encode("utf-8")
    except UnicodeEncodeError:
        return None


def _only_appends(ops: Any) -> bool:
    if not ops or ops.__class__ is not list:
        return False
    for op in ops:
        if op.__class__ is not dict or (op.get("op") != "append" and op.get("op") != "extend"):
            return False
    return True


# Hand-written encoders for the per-step records (the generic encoder is ~3x slower); any error
# falls back to the generic path.
_FORMATTERS: dict[str, Callable[[dict[str, Any], Callable[[Any], str]], str]] = {
    "begin_entry": _fmt_begin_entry,
    "end_entry": _fmt_end_entry,
    "transition": _fmt_transition,
}


class _Writer:
    def __init__(self) -> None:
        self._queue: collections.deque[tuple[Any, Any]] = collections.deque()
        self._io: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=MAX_IO_BATCHES)
        self._encode_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.flush_interval = DEFAULT_FLUSH_INTERVAL
        self._warned_dirs: set[str] = set()
        self._warned_types: set[str] = set()
        self._encoder = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=self._default
        )

    # -- producer side (hooks) -------------------------------------------------------------------

    def put(self, target: Any, record: Any) -> None:
        q = self._queue
        q.append((target, record))
        if len(q) >= BATCH_SIZE:
            self.drain()
        elif self._thread is None:
            self._ensure_thread()

    def drain(self) -> None:
        """Encode everything queued and hand it to the I/O thread (blocks only if that thread is
        ``MAX_IO_BATCHES`` batches behind: back-pressure, nothing is dropped)."""
        if not self._ensure_thread():
            return  # interpreter shutdown: the atexit flush already wrote what it could
        with self._encode_lock:
            q = self._queue
            batch = []
            while q:
                batch.append(q.popleft())
            if batch:
                for item in self._encode_batch(batch):
                    self._io.put(item)

    def flush(self, timeout: float = 60.0) -> bool:
        """Write everything queued so far; True when done within ``timeout`` seconds."""
        if self._thread is None and not self._queue:
            return True
        if threading.current_thread() is self._thread:
            self._drain_here()
            return True
        if not self._ensure_thread():
            return False  # interpreter shutdown: the atexit flush already wrote what it could
        self.drain()
        done = threading.Event()
        self._io.put(("event", done, None))
        return done.wait(timeout)

    def _ensure_thread(self) -> bool:
        """Start the I/O thread if needed; False when none can run (interpreter shutting down, where
        starting a thread can hang): the caller then writes on its own thread."""
        if self._thread is not None and self._thread.is_alive():
            return True
        if sys.is_finalizing():
            return False
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="burr-tracking-writer", daemon=True)
                self._thread.start()
        return True

    # -- the I/O thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                kind, a, b = self._io.get(timeout=self.flush_interval)
            except queue.Empty:
                try:
                    self._drain_here()  # records of a slow app: write them within flush_interval
                except Exception as e:
                    warnings.warn(f"Burr tracking dropped a batch it could not encode: {e!r}", stacklevel=1)
                continue
            self._process(kind, a, b)

    def _process(self, kind: str, a: Any, b: Any) -> None:
        try:
            if kind == "lines":
                self._write_pending(a)
            elif kind == "file":
                self._write_file(a, b)
            else:
                a.set()
        except Exception as e:  # never let the writer die: the app must keep running
            warnings.warn(
                f"Burr tracking writer hit an unexpected error and dropped a batch: {e!r}", stacklevel=1
            )

    def _drain_here(self) -> None:
        """The I/O thread's own drain: it must not wait on its own (possibly full) queue, so it
        writes what is already queued (encoded earlier, so it goes first), then the new batch.
        When a producer holds the lock it is draining (and may be waiting for us): do nothing."""
        if not self._encode_lock.acquire(blocking=False):
            return
        try:
            while True:
                try:
                    self._process(*self._io.get_nowait())
                except queue.Empty:
                    break
            q = self._queue
            batch = []
            while q:
                batch.append(q.popleft())
            if batch:
                for item in self._encode_batch(batch):
                    self._process(*item)
        finally:
            self._encode_lock.release()

    # -- encoding (on whichever thread drains) -----------------------------------------------------

    def _encode_batch(self, batch: list[tuple[Any, Any]]) -> list[tuple[str, Any, Any]]:
        items: list[tuple[str, Any, Any]] = []
        lines: dict[LogTarget, list[bytes]] = {}
        encode = self._encode
        time_field = _TIME_FIELD
        for target, record in batch:
            if target.__class__ is not LogTarget:
                # whole-file writes keep their order relative to the lines queued before them
                if lines:
                    items.append(("lines", lines, None))
                    lines = {}
                items.append(("file", target, record))
                continue
            if record.__class__ is bytes:  # a line the hook encoded (never a snapshot)
                target.bytes_since_snapshot += len(record) + 1
                pending = lines.get(target)
                if pending is None:
                    lines[target] = [record]
                else:
                    pending.append(record)
                continue
            kind = record["type"]
            field = time_field.get(kind)
            if field is not None:
                t = record.get(field)
                if t.__class__ is float:
                    record[field] = iso(t)
            grows = kind == "end_entry" and _only_appends(record.get("state_delta"))
            line = encode(record)
            if line is None:
                continue
            if kind == "end_entry" and record.get("state") is not None:
                target.last_snapshot_bytes = len(line) + 1
                target.bytes_since_snapshot = 0
                target.grown_since_snapshot = 0
            else:
                target.bytes_since_snapshot += len(line) + 1
                if grows:
                    target.grown_since_snapshot += len(line) + 1
            pending = lines.get(target)
            if pending is None:
                lines[target] = [line]
            else:
                pending.append(line)
        if lines:
            items.append(("lines", lines, None))
        return items

    def _encode(self, record: dict[str, Any]) -> bytes | None:
        """One JSON line (no newline): orjson when installed, else hand-written/stdlib encoders."""
        if "__cap__" in record:
            cap_record(record, record.pop("__cap__"))
        delta = record.get("state_delta")
        if delta and delta[0].__class__ is dict:
            record["state_delta"] = compact_ops(delta)
        if _orjson is not None:
            try:
                return _orjson.dumps(record, default=self._default, option=_ORJSON_OPTIONS)  # type: ignore[no-any-return]
            except Exception:
                pass  # e.g. a lone surrogate: the stdlib path escapes it
        fmt = _FORMATTERS.get(record["type"])
        if fmt is not None:
            try:
                return fmt(record, self._encoder.encode).encode("utf-8", "backslashreplace")
            except Exception:
                pass  # the generic path below reports what is wrong
        try:
            return self._encoder.encode(record).encode("utf-8", "backslashreplace")
        except ValueError:
            try:
                return json.dumps(
                    _sanitize_floats(record), separators=(",", ":"), ensure_ascii=False, default=self._default
                ).encode("utf-8", "backslashreplace")
            except Exception as e:
                warnings.warn(
                    f"Burr tracking dropped a {record.get('type')} record it could not encode: {e!r}",
                    stacklevel=1,
                )
                return None

    def _default(self, value: Any) -> Any:
        name = type(value).__qualname__
        if name not in self._warned_types:
            self._warned_types.add(name)
            warnings.warn(
                f"Burr tracking cannot store a value of type {name} as JSON; it is recorded as a "
                "placeholder {'__burr_unserializable__': true, ...}. Register a serializer with "
                "burr.core.serde.serialize.register to track it.",
                stacklevel=1,
            )
        return _placeholder(value)

    def _write_pending(self, lines: dict[LogTarget, list[bytes]]) -> None:
        for target, chunk in lines.items():
            data = (b"\n" if target.needs_newline else b"") + b"\n".join(chunk) + b"\n"
            try:
                if not os.path.isdir(os.path.dirname(target.path)):
                    os.makedirs(os.path.dirname(target.path), exist_ok=True)
                with open(target.path, "ab") as f:
                    f.write(data)
                target.needs_newline = False
            except OSError as e:
                target.needs_newline = True
                self._warn_io(target.path, e)

    def _write_file(self, target: FileTarget, content: Any) -> None:
        try:
            os.makedirs(os.path.dirname(target.path), exist_ok=True)
            if callable(content):
                content = content()
                if content is None:
                    return
            tmp = f"{target.path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(content)
            os.replace(tmp, target.path)
        except OSError as e:
            self._warn_io(target.path, e)

    def _warn_io(self, path: str, error: OSError) -> None:
        directory = os.path.dirname(path)
        if directory in self._warned_dirs:
            return
        self._warned_dirs.add(directory)
        warnings.warn(
            f"Burr tracking could not write to {directory} ({error.strerror or error}). Tracking data for "
            "this application is being dropped; the application keeps running. Free disk space or fix "
            "the directory's permissions (or pass another storage_dir to LocalTrackingClient).",
            stacklevel=1,
        )

    def reset_after_fork(self) -> None:
        self._queue = collections.deque()
        self._io = queue.Queue(maxsize=MAX_IO_BATCHES)
        self._encode_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread = None


WRITER = _Writer()


now = time.time  # what hooks stamp records with (the writer formats it); no wrapper: it runs per record


def _flush_at_exit() -> None:
    try:
        WRITER.flush(timeout=10.0)
    except Exception:
        pass


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WRITER.reset_after_fork)
