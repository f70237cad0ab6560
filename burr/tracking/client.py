"""``LocalTrackingClient``: records applications to ``<storage_dir>/<project>/<app_id>/`` for the UI.

Hooks build plain dicts and queue them for a background writer (``burr.tracking._writer``), so
tracking costs a few microseconds per step. The client is also a state loader: pass it to
``ApplicationBuilder.initialize_from`` to resume or fork from tracking data alone (ours or files
written by Apache Burr). The file format is documented in docs/tracking-format.md.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import threading
import traceback
from typing import TYPE_CHECKING, Any, Iterable

from burr.core import _delta
from burr.core.state import FIELD_SERIALIZATION, State
from burr.lifecycle import base as _hooks
from burr.system import IS_WINDOWS
from burr.tracking import _records
from burr.tracking._loader import DEFAULT_STORAGE_DIR, TrackingLoader, _check_app_id
from burr.tracking._writer import WRITER, FileTarget, LogTarget, begin_entry_line, end_entry_line
from burr.tracking._writer import iso as _writer_iso
from burr.tracking._writer import now as _now  # time.time: hooks queue floats, the writer formats them
from burr.tracking.base import SyncTrackingClient
from burr.tracking.common import logs

if TYPE_CHECKING:
    from burr.visibility.tracing import ActionSpan

GRAPH_FILENAME = logs.GRAPH_FILENAME
METADATA_FILENAME = logs.METADATA_FILENAME
LOG_FILENAME = logs.LOG_FILENAME
CHILDREN_FILENAME = logs.CHILDREN_FILENAME

# A periodic snapshot is written only once the log grew by this factor of the state's size (the
# last snapshot plus what appends added since): replaying to any step reads at most ~20x the
# state, and a state that grows with the log (chat history) is not re-written over and over.
SNAPSHOT_GROWTH = 20
_MAX_TRACKED_APPS = 10_000
_SEQ, _PRIOR = logs.SEQUENCE_ID_KEY, logs.PRIOR_STEP_KEY
_MISSING: Any = object()
_SINGLE_STEP_METHODS = ("step", "astep")


class _NoTransitionHook:
    """Stand-in while the engine's lifecycle has no PostTransitionEvaluationHook."""


_TransitionHook: Any = getattr(_hooks, "PostTransitionEvaluationHook", _NoTransitionHook)


def _allowed_project_name(project_name: str, on_windows: bool) -> bool:
    """Project names are directory names: letters, digits, ``_``, ``-`` (and ``:`` off Windows)."""
    pattern = r"^[a-zA-Z0-9_\-]+$" if on_windows else r"^[a-zA-Z0-9_\-:]+$"
    return isinstance(project_name, str) and re.match(pattern, project_name) is not None


@dataclasses.dataclass
class StreamState:
    """Progress of the stream an app is currently producing."""

    stream_init_time: datetime.datetime
    count: int | None


class _App:
    """What the tracker remembers about one app's log between hooks."""

    __slots__ = (
        "dir",
        "log",
        "last_state_id",
        "steps_since_snapshot",
        "in_call",
        "last_seq",
        "file_unknown",
        "alive",
    )

    def __init__(self, app_dir: str, log: LogTarget | None = None) -> None:
        self.dir = app_dir
        self.log = log if log is not None else LogTarget(os.path.join(app_dir, LOG_FILENAME))
        self.last_state_id: int | None = None
        self.steps_since_snapshot = 0
        self.in_call = False
        # Lean records leave implied values out (docs/tracking-format.md): the sequence id of the
        # last end_entry we wrote (_MISSING: none yet), and whether the file may end inside a call
        # someone else opened (a crashed process), so a bare step must say "call_id": null.
        self.last_seq: Any = _MISSING
        self.file_unknown = True
        self.alive = True  # False once replaced in _APPS (clients then look it up again)


# Shared by every client of the process (copies, children), keyed by app directory, so deltas are
# always relative to the previous end_entry in the file whichever client wrote it.
_APPS: dict[str, _App] = {}
_CHILD_LOGS: dict[str, LogTarget] = {}
_APPS_LOCK = threading.Lock()


def _app_for(app_dir: str, fresh: bool = False) -> _App:
    app = None if fresh else _APPS.get(app_dir)
    if app is None:
        with _APPS_LOCK:
            old = _APPS.pop(app_dir, None)
            # one LogTarget per file, so lines still queued for the old app keep their order
            app = _App(app_dir, old.log if old is not None else None)
            if old is not None:
                old.alive = False
            _APPS[app_dir] = app
            while len(_APPS) > _MAX_TRACKED_APPS:  # forgetting an app only costs a snapshot
                _APPS.pop(next(iter(_APPS))).alive = False
    return app


def _children_log(app_dir: str) -> LogTarget:
    path = os.path.join(app_dir, CHILDREN_FILENAME)
    target = _CHILD_LOGS.get(path)
    if target is None:
        with _APPS_LOCK:
            if len(_CHILD_LOGS) > _MAX_TRACKED_APPS:
                _CHILD_LOGS.clear()
            target = _CHILD_LOGS.setdefault(path, LogTarget(path))
    return target


def _format_exception(exception: BaseException | None) -> str | None:
    if exception is None:
        return None
    return "".join(traceback.format_exception(type(exception), exception, exception.__traceback__))


def _epoch(dt: Any) -> float:
    """A datetime from a hook as epoch seconds (naive = local time); now when it is not one."""
    if isinstance(dt, datetime.datetime):
        if dt.tzinfo is None:
            dt = dt.astimezone()
        return dt.timestamp()
    return _now()


class LocalTrackingClient(
    SyncTrackingClient,
    _hooks.PreApplicationExecuteCallHook,
    _hooks.PostApplicationExecuteCallHook,
    _TransitionHook,
    TrackingLoader,
):
    """Tracks applications to the local filesystem (``~/.burr`` by default) for the Burr UI.

    :param project: project name (a directory name: letters, digits, ``_``, ``-``, ``:``).
    :param storage_dir: root directory; the project lives in ``<storage_dir>/<project>``.
    :param serde_kwargs: passed to ``burr.core.serde`` when serializing and loading state.
    :param snapshot_every: at most this many steps between full state snapshots (deltas between).
    :param redact: state keys, inputs, result fields and attributes to record as
        ``{"__burr_redacted__": true}``: names (exact match) or compiled regexes (``search``).
    :param max_value_bytes: values whose JSON exceeds this many bytes are stored as a preview
        ``{"__burr_truncated__": true, "preview", "size", "type"}`` (None: no cap).
    :param flush_interval: seconds between background writes (process-wide; default 0.5).
    """

    GRAPH_FILENAME = GRAPH_FILENAME
    METADATA_FILENAME = METADATA_FILENAME
    LOG_FILENAME = LOG_FILENAME
    CHILDREN_FILENAME = CHILDREN_FILENAME
    DEFAULT_STORAGE_DIR = DEFAULT_STORAGE_DIR

    def __init__(
        self,
        project: str,
        storage_dir: str = DEFAULT_STORAGE_DIR,
        serde_kwargs: dict[str, Any] | None = None,
        *,
        snapshot_every: int = 50,
        redact: Iterable[_records.Redaction] | None = None,
        max_value_bytes: int | None = None,
        flush_interval: float | None = None,
    ) -> None:
        if not _allowed_project_name(project, IS_WINDOWS):
            allowed = "letters, digits, '_' and '-'" + ("" if IS_WINDOWS else " and ':'")
            raise ValueError(
                f"Project: {project} is not valid. A project name becomes a directory name, so it may only "
                f"contain {allowed} (e.g. 'my-project')."
            )
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every must be at least 1 (got {snapshot_every}).")
        if max_value_bytes is not None and max_value_bytes < 1:
            raise ValueError(f"max_value_bytes must be positive or None (got {max_value_bytes}).")
        self.project_id = project
        self.raw_storage_dir = storage_dir
        self.storage_dir = self.get_storage_path(project, storage_dir)
        self.serde_kwargs = serde_kwargs or {}
        self.snapshot_every = snapshot_every
        self._redact_rules = list(redact or [])
        self._redact = _records.Redactor(self._redact_rules)
        self.max_value_bytes = max_value_bytes
        self.flush_interval = flush_interval
        if flush_interval is not None:
            if flush_interval <= 0:
                raise ValueError(f"flush_interval must be positive (got {flush_interval}).")
            WRITER.flush_interval = flush_interval
        self.stream_state: dict[str, StreamState] = {}
        self._apps: dict[str, _App] = {}

    # -- helpers ---------------------------------------------------------------------------------

    def copy(self) -> LocalTrackingClient:
        return LocalTrackingClient(
            self.project_id,
            self.raw_storage_dir,
            self.serde_kwargs,
            snapshot_every=self.snapshot_every,
            redact=self._redact_rules,
            max_value_bytes=self.max_value_bytes,
            flush_interval=self.flush_interval,
        )

    def _app(self, app_id: str) -> _App:
        app = self._apps.get(app_id)
        if app is not None and app.alive:
            return app
        app_dir = os.path.join(self.storage_dir, _check_app_id(app_id))
        app = _APPS.get(app_dir) or _app_for(app_dir)
        if len(self._apps) > 1024:  # a long-lived client tracking many apps: keep the cache small
            self._apps.clear()
        self._apps[app_id] = app
        return app

    def _put(self, app: _App, record: dict[str, Any]) -> None:
        if self.max_value_bytes is not None:
            record["__cap__"] = self.max_value_bytes
        WRITER.put(app.log, record)

    @staticmethod
    def flush(timeout: float = 60.0) -> bool:
        """Block until every record queued so far (by any client in this process) is on disk."""
        return WRITER.flush(timeout)

    # -- application lifecycle -------------------------------------------------------------------

    def post_application_create(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: State,
        application_graph: Any,
        parent_pointer: Any = None,
        spawning_parent_pointer: Any = None,
        **future_kwargs: Any,
    ) -> None:
        app_dir = os.path.join(self.storage_dir, _check_app_id(app_id))
        self._apps[app_id] = _app_for(app_dir, fresh=True)  # a new app: its first end_entry is a snapshot
        graph = json.dumps(_records.application_model(application_graph), ensure_ascii=False)
        WRITER.put(FileTarget(os.path.join(app_dir, GRAPH_FILENAME)), graph)
        metadata = {
            "type": "application_metadata",
            "partition_key": partition_key,
            "parent_pointer": _records.pointer(parent_pointer),
            "spawning_parent_pointer": _records.pointer(spawning_parent_pointer),
            "burr_format": logs.FORMAT_VERSION,
            "created_at": _writer_iso(_now()),
        }
        WRITER.put(FileTarget(os.path.join(app_dir, METADATA_FILENAME)), _metadata_writer(app_dir, metadata))
        for ptr, kind in ((parent_pointer, "fork"), (spawning_parent_pointer, "spawn_start")):
            parent_id = getattr(ptr, "app_id", None)
            if ptr is None or parent_id is None:
                continue
            try:
                parent_dir = os.path.join(self.storage_dir, _check_app_id(parent_id))
            except ValueError:
                continue
            record = {
                "type": "child_application_data",
                "child": {
                    "type": "pointer_data",
                    "app_id": app_id,
                    "sequence_id": None,
                    "partition_key": partition_key,
                },
                "event_time": _now(),
                "event_type": kind,
                "sequence_id": getattr(ptr, "sequence_id", None),
            }
            WRITER.put(_children_log(parent_dir), record)

    def pre_run_execute_call(
        self, *, app_id: str, partition_key: str | None, state: State, method: Any, **future_kwargs: Any
    ) -> None:
        name = getattr(method, "value", method)
        if name in _SINGLE_STEP_METHODS:
            return
        app = self._app(app_id)
        app.in_call = True
        app.file_unknown = False  # a reader's open call is now this one
        record: dict[str, Any] = {"type": "begin_call", "start_time": _now()}
        if name != "run":
            record["method"] = name
        seq = state.get(_SEQ) if state is not None else None
        if seq != app.last_seq or app.last_seq is _MISSING:
            record["sequence_id"] = seq
        self._put(app, record)

    def post_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: State,
        method: Any,
        exception: Exception | None = None,
        **future_kwargs: Any,
    ) -> None:
        app = self._app(app_id)
        if app.in_call:
            record: dict[str, Any] = {"type": "end_call", "end_time": _now()}
            if exception is not None:
                record["exception"] = _format_exception(exception)
            seq = state.get(_SEQ) if state is not None else None
            if seq != app.last_seq or app.last_seq is _MISSING:
                record["sequence_id"] = seq
            self._put(app, record)
            app.in_call = False
            WRITER.flush()  # a halt: make the call's records visible to readers now

    # -- steps -----------------------------------------------------------------------------------

    def pre_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State,
        action: Any,
        inputs: dict[str, Any],
        **future_kwargs: Any,
    ) -> None:
        app = self._app(app_id)
        null_call = app.file_unknown and not app.in_call
        attempt = future_kwargs.get("attempt")
        if not inputs and self.max_value_bytes is None and (attempt is None or not attempt > 1):
            line = begin_entry_line(_now(), action.name, sequence_id, null_call)
            if line is not None:
                app.file_unknown = False
                WRITER.put(app.log, line)
                return
        record: dict[str, Any] = {"type": "begin_entry", "start_time": _now(), "action": action.name}
        if inputs:  # omitted when empty (lean records: readers restore {})
            mapped = _records.mapping(inputs, "input", self._redact, self.serde_kwargs, skip_dunder=True)
            if mapped != {}:
                record["inputs"] = mapped
        record["sequence_id"] = sequence_id
        if null_call:
            record["call_id"] = None
            app.file_unknown = False
        if attempt is not None and attempt > 1:
            record["attempt"] = attempt
        self._put(app, record)

    def post_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State,
        action: Any,
        result: dict[str, Any] | None,
        exception: Exception | None,
        **future_kwargs: Any,
    ) -> None:
        app = self._app(app_id)
        name = action.name
        t = _now()
        delta = (
            self._delta(app, state, sequence_id, name, exception) if app.last_state_id is not None else None
        )
        if (
            delta is not None
            and exception is None
            and result.__class__ is dict
            and not result
            and self.max_value_bytes is None
            and not (future_kwargs.get("attempt") or 0) > 1
            and not future_kwargs.get("will_retry")
        ):
            line = end_entry_line(t, name, sequence_id, delta)
            if line is not None:  # a plain step: the line is ready (else the record below)
                app.steps_since_snapshot += 1
                app.last_state_id = state._vid if type(state) is State else None
                app.last_seq = sequence_id
                WRITER.put(app.log, line)
                return
        # lean record: result {}, exception null and state null are left out (readers restore them)
        record: dict[str, Any] = {"type": "end_entry", "end_time": t, "action": name}
        if result.__class__ is not dict or result:
            record["result"] = (
                _records.mapping(result, "result field", self._redact, self.serde_kwargs)
                if result
                else result
            )
        if exception is not None:
            record["exception"] = _format_exception(exception)
        record["sequence_id"] = sequence_id
        app.last_seq = sequence_id
        if delta is None:
            record["state"] = _records.snapshot(state, self._redact, self.serde_kwargs)
            app.steps_since_snapshot = 0
            app.log.last_snapshot_bytes = None  # the encoder fills it in
        else:
            record["state_delta"] = delta
            app.steps_since_snapshot += 1
        app.last_state_id = state._vid if type(state) is State else None  # = _delta.state_id(state)
        _record_attempt(record, future_kwargs)
        self._put(app, record)
        if exception is not None:
            WRITER.flush()  # the app may be about to die: get its last step on disk

    def _delta(
        self, app: _App, state: State, sequence_id: int, action: str, exception: Exception | None
    ) -> list[dict[str, Any]] | None:
        """Encoded ops since the last end_entry, or None when a snapshot must be written."""
        since = app.last_state_id
        if since is None or type(state) is not State:
            return None
        if app.steps_since_snapshot >= self.snapshot_every:
            last = app.log.last_snapshot_bytes  # None while our last snapshot is not encoded yet
            log = app.log
            if last is not None and log.bytes_since_snapshot >= SNAPSHOT_GROWTH * (
                last + log.grown_since_snapshot
            ):
                return None
        if state._vid == since:
            ops: list[Any] = []
        else:
            step = _delta.step_ops(state, since)
            if step is None:
                return None
            ops = step
        # internal keys are implied by the record (see below); encode only the user's ops
        out = _fast_encode(ops, exception is None)
        if out is None:
            if exception is None:
                ops = [op for op in ops if op[1] != _SEQ and op[1] != _PRIOR]
            else:
                ops = [op for op in ops if op[1] != _SEQ]
            try:
                out = _delta.encode(ops, state, **self.serde_kwargs)
            except Exception:
                return None  # a value failed to serialize: the snapshot path records a placeholder
        if self._redact.active:
            out = _records.redact_delta(out, self._redact)
        # __SEQUENCE_ID (and __PRIOR_STEP on success) are implied by the record; state what differs
        d = state._d
        if d.get(_SEQ, _MISSING) != sequence_id:
            self._explicit(out, state, _SEQ)
        if exception is None and d.get(_PRIOR, _MISSING) != action:
            self._explicit(out, state, _PRIOR)
        return out

    @staticmethod
    def _explicit(out: list[dict[str, Any]], state: State, key: str) -> None:
        if key in state:
            out.append({"op": "set", "key": key, "value": state[key]})
        else:
            out.append({"op": "delete", "key": key})

    def post_transition_evaluation(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int | None,
        from_action: str | None,
        evaluated: list[dict[str, Any]],
        next_action: str | None,
        **future_kwargs: Any,
    ) -> None:
        if type(evaluated) is list and len(evaluated) == 1 and evaluated[0].get("value") is True:
            # The first transition of the action (declaration order) fired: graph.json already says
            # so (logs.implied_transition). Skipping it saves ~1.5 us and ~100 bytes per step.
            return
        # the engine builds a fresh list of plain dicts per decision: no copy needed
        self._put(
            self._app(app_id),
            {
                "type": "transition",
                "sequence_id": sequence_id,
                "from_": from_action if type(from_action) is str else _records.name_of(from_action),
                "evaluated": evaluated if type(evaluated) is list else list(evaluated or ()),
                "to": next_action if type(next_action) is str else _records.name_of(next_action),
            },
        )

    # -- spans and attributes --------------------------------------------------------------------

    def pre_start_span(
        self,
        *,
        action: str,
        action_sequence_id: int,
        span: ActionSpan,
        span_dependencies: list[str],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        self._put(
            self._app(app_id),
            {
                "type": "begin_span",
                "start_time": _now(),
                "action_sequence_id": action_sequence_id,
                "span_id": span.uid,
                "span_name": span.name,
                "parent_span_id": span.parent.uid if span.parent is not None else None,
                "span_dependencies": list(span_dependencies or []),
            },
        )

    def post_end_span(
        self,
        *,
        action: str,
        action_sequence_id: int,
        span: ActionSpan,
        span_dependencies: list[str],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        self._put(
            self._app(app_id),
            {
                "type": "end_span",
                "end_time": _now(),
                "action_sequence_id": action_sequence_id,
                "span_id": span.uid,
            },
        )

    def do_log_attributes(
        self,
        *,
        attributes: dict[str, Any],
        action: str,
        action_sequence_id: int,
        span: ActionSpan | None,
        tags: dict[str, Any],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        app = self._app(app_id)
        span_id = span.uid if span is not None else None
        t = _now()
        serialized = _records.mapping(attributes, "attribute", self._redact, self.serde_kwargs)
        for key, value in serialized.items():
            self._put(
                app,
                {
                    "type": "attribute",
                    "key": key,
                    "action_sequence_id": action_sequence_id,
                    "span_id": span_id,
                    "value": value,
                    "tags": dict(tags or {}),
                    "time_logged": t,
                },
            )

    # -- streams ---------------------------------------------------------------------------------

    def pre_start_stream(
        self, *, action: str, sequence_id: int, app_id: str, partition_key: str | None, **future_kwargs: Any
    ) -> None:
        t = _now()
        self.stream_state[app_id] = StreamState(
            datetime.datetime.fromtimestamp(t, datetime.timezone.utc), count=None
        )
        self._put(
            self._app(app_id),
            {
                "type": "begin_stream",
                "action_sequence_id": sequence_id,
                "span_id": None,
                "stream_init_time": t,
            },
        )

    def post_stream_item(
        self,
        *,
        item: Any,
        item_index: int,
        stream_initialize_time: Any,
        first_stream_item_start_time: Any,
        action: str,
        sequence_id: int,
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        stream = self.stream_state.get(app_id)
        if stream is None:
            stream = self.stream_state[app_id] = StreamState(
                datetime.datetime.now(datetime.timezone.utc), None
            )
        if stream.count is None:
            stream.count = 0
            self._put(
                self._app(app_id),
                {
                    "type": "first_item_stream",
                    "action_sequence_id": sequence_id,
                    "span_id": None,
                    "first_item_time": _epoch(first_stream_item_start_time),
                },
            )
        stream.count += 1

    def post_end_stream(
        self, *, action: str, sequence_id: int, app_id: str, partition_key: str | None, **future_kwargs: Any
    ) -> None:
        stream = self.stream_state.pop(app_id, None)
        app = self._app(app_id)
        self._put(
            app,
            {
                "type": "end_stream",
                "action_sequence_id": sequence_id,
                "span_id": None,
                "end_time": _now(),
                "items_streamed": (stream.count or 0) if stream is not None else 0,
            },
        )
        if not app.in_call:
            WRITER.flush()  # fired after the call ended: keep the halt guarantee


_PRIMITIVE_TYPES = (int, float, str, bool, type(None))


def _fast_encode(ops: list[Any], skip_prior: bool) -> list[dict[str, Any]] | None:
    """Encoded ops, minus the implied internal keys, when every op is a primitive set/increment/
    delete of a distinct key without a field serde (the common case, e.g. a counter); None to take
    the general path."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for kind, key, value in ops:
        if key == _SEQ or (skip_prior and key == _PRIOR):
            continue
        if key in seen or (FIELD_SERIALIZATION and key in FIELD_SERIALIZATION):
            return None  # repeated keys are compacted by the general path
        seen.add(key)
        if kind == "set" and type(value) in _PRIMITIVE_TYPES:
            out.append({"op": "set", "key": key, "value": value})
        elif kind == "increment" and type(value) in (int, float):
            out.append({"op": "increment", "key": key, "by": value})
        elif kind == "delete":
            out.append({"op": "delete", "key": key})
        else:
            return None
    return out


def _metadata_writer(app_dir: str, metadata: dict[str, Any]) -> Any:
    """Metadata content computed on the writer thread: keeps created_at and pointers of a resumed app."""

    def content() -> str:
        existing = (
            logs.read_metadata(app_dir) if os.path.exists(os.path.join(app_dir, METADATA_FILENAME)) else None
        )
        out = dict(metadata)
        if existing is not None:
            out["created_at"] = existing.get("created_at") or out["created_at"]
            for key in ("parent_pointer", "spawning_parent_pointer"):
                if out[key] is None:
                    out[key] = existing.get(key)
            if out["partition_key"] is None:
                out["partition_key"] = existing.get("partition_key")
        return json.dumps(out, ensure_ascii=False)

    return content


def _record_attempt(record: dict[str, Any], hook_kwargs: dict[str, Any]) -> None:
    """Mark retried steps (retry policies fire the step hooks once per attempt); plain steps stay lean."""
    attempt = hook_kwargs.get("attempt")
    will_retry = hook_kwargs.get("will_retry")
    if attempt is not None and (attempt > 1 or will_retry):
        record["attempt"] = attempt
        if will_retry:
            record["will_retry"] = True
