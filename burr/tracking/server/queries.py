"""Read side of the index: every API answer is built here from the index (plus one step's byte range)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
from typing import Any

from burr.tracking.server import _reader
from burr.tracking.server._times import to_epoch, to_iso
from burr.tracking.server.index import TrackingIndex, parse_line, split_lines

SORTS = {
    "last_written": "last_written",
    "first_written": "first_written",
    "created": "created",
    "app_id": "app_id",
    "num_steps": "num_steps",
}
MAX_STEP_READ = 64 * 1024 * 1024


class BadQuery(ValueError):
    """A query value that passed type validation but cannot be used (-> 422)."""


def and_equal(where: list[str], args: list[Any], **columns: Any) -> None:
    """Add a ``column=?`` condition (and its argument) for each column given; ``None`` means no filter."""
    for column, value in columns.items():
        if value is not None:
            where.append(f"{column}=?")
            args.append(value)


def _ms(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a) * 1000, 3)


# -- projects --------------------------------------------------------------------------------------
def list_projects(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT p.name, p.created, count(a.id) AS num_apps, "
        "coalesce(sum(a.status='failed'), 0) AS num_failed, "
        "coalesce(sum(a.status='running'), 0) AS num_running, max(a.last_written) AS last_written "
        "FROM projects p LEFT JOIN apps a ON a.project = p.name GROUP BY p.name "
        "ORDER BY coalesce(max(a.last_written), p.created) DESC"
    )
    return [
        {
            "name": r["name"],
            "num_apps": r["num_apps"],
            "num_failed": r["num_failed"],
            "num_running": r["num_running"],
            "created": to_iso(r["created"]),
            "last_written": to_iso(r["last_written"]),
        }
        for r in rows
    ]


def project_exists(conn: sqlite3.Connection, project: str) -> bool:
    return conn.execute("SELECT 1 FROM projects WHERE name=?", (project,)).fetchone() is not None


# -- apps ------------------------------------------------------------------------------------------
_APP_COLS = (
    "id, project, app_id, dir, partition_key, created, first_written, last_written, num_steps, "
    "last_seq, last_action, status, fmt, parent_app_id, parent_seq, parent_pk, spawn_app_id, spawn_seq, "
    "spawn_pk, num_children, num_warnings, pending_bytes, log_offset"
)


def get_app(conn: sqlite3.Connection, project: str, app_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        f"SELECT {_APP_COLS} FROM apps WHERE project=? AND app_id=?", (project, app_id)
    ).fetchone()
    return row


def _pointer(app_id: str | None, seq: int | None, pk: str | None) -> dict[str, Any] | None:
    if app_id is None:
        return None
    return {"app_id": app_id, "sequence_id": seq, "partition_key": pk}


def _app_summary(r: sqlite3.Row, num_annotations: int) -> dict[str, Any]:
    return {
        "project": r["project"],
        "app_id": r["app_id"],
        "partition_key": r["partition_key"],
        "created": to_iso(r["created"]),
        "first_written": to_iso(r["first_written"]),
        "last_written": to_iso(r["last_written"]),
        "num_steps": r["num_steps"],
        "last_sequence_id": r["last_seq"],
        "last_action": r["last_action"],
        "status": r["status"],
        "parent_pointer": _pointer(r["parent_app_id"], r["parent_seq"], r["parent_pk"]),
        "spawning_parent_pointer": _pointer(r["spawn_app_id"], r["spawn_seq"], r["spawn_pk"]),
        "num_children": r["num_children"],
        "num_warnings": r["num_warnings"],
        "num_annotations": num_annotations,
    }


def _encode_cursor(value: Any, rowid: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, rowid]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        value, rowid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(rowid, int) or isinstance(value, (list, dict)):
            raise ValueError
        return value, rowid
    except (ValueError, binascii.Error, TypeError, UnicodeDecodeError) as e:
        raise BadQuery("cursor is not one this server returned; drop it to start from the first page") from e


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_apps(
    conn: sqlite3.Connection,
    project: str,
    *,
    q: str | None = None,
    partition_key: str | None = None,
    status: str | None = None,
    since: str | None = None,
    until: str | None = None,
    parent: str | None = None,
    top_level: bool = False,
    sort: str = "last_written",
    order: str = "desc",
    limit: int = 100,
    offset: int = 0,
    cursor: str | None = None,
) -> dict[str, Any]:
    where = ["project=?"]
    args: list[Any] = [project]
    if q:
        where.append("(app_id LIKE ? ESCAPE '\\' OR partition_key LIKE ? ESCAPE '\\')")
        args += [_like_prefix(q), _like_prefix(q)]
    if partition_key == "__none__":
        where.append("partition_key IS NULL")
        partition_key = None
    and_equal(where, args, partition_key=partition_key, status=status or None)
    for value, op, name in ((since, ">=", "since"), (until, "<=", "until")):
        if value:
            t = to_epoch(value)
            if t is None:
                raise BadQuery(
                    f"{name}={value!r} is not an ISO-8601 date or time (e.g. 2026-11-21T12:00:00Z)"
                )
            where.append(f"last_written {op} ?")
            args.append(t)
    if parent:
        where.append("(spawn_app_id=? OR parent_app_id=?)")
        args += [parent, parent]
    if top_level:
        where.append("spawn_app_id IS NULL")
    total = conn.execute(f"SELECT count(*) FROM apps WHERE {' AND '.join(where)}", args).fetchone()[0]
    col = SORTS[sort]
    direction = "DESC" if order == "desc" else "ASC"
    if cursor:
        value, rowid = _decode_cursor(cursor)
        cmp = "<" if order == "desc" else ">"
        where.append(f"({col} {cmp} ? OR ({col} = ? AND id {cmp} ?))")
        args += [value, value, rowid]
        offset_sql = 0
    else:
        offset_sql = offset
    rows = conn.execute(
        f"SELECT {_APP_COLS} FROM apps WHERE {' AND '.join(where)} "
        f"ORDER BY {col} {direction}, id {direction} LIMIT ? OFFSET ?",
        [*args, limit, offset_sql],
    ).fetchall()
    counts = _annotation_counts(conn, project, [r["app_id"] for r in rows])
    apps = [_app_summary(r, counts.get(r["app_id"], 0)) for r in rows]
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = _encode_cursor(last[col], last["id"])
    return {"apps": apps, "total": total, "offset": offset, "limit": limit, "next_cursor": next_cursor}


def _annotation_counts(conn: sqlite3.Connection, project: str, app_ids: list[str]) -> dict[str, int]:
    if not app_ids:
        return {}
    marks = ",".join("?" * len(app_ids))
    return {
        r[0]: r[1]
        for r in conn.execute(
            f"SELECT app_id, count(*) FROM annotations WHERE project=? AND app_id IN ({marks}) GROUP BY app_id",
            [project, *app_ids],
        )
    }


def _children(conn: sqlite3.Connection, app: int, seq: int | None = None) -> list[dict[str, Any]]:
    where = ["app=?"]
    args: list[Any] = [app]
    and_equal(where, args, seq=seq)
    sql = f"SELECT child_app_id, child_pk, event_type, seq, event_time FROM children WHERE {' AND '.join(where)}"
    return [
        {
            "app_id": r[0],
            "partition_key": r[1],
            "event_type": r[2],
            "sequence_id": r[3],
            "event_time": to_iso(r[4]),
        }
        for r in conn.execute(sql + " ORDER BY seq, event_time", args)
    ]


def app_detail(conn: sqlite3.Connection, r: sqlite3.Row) -> dict[str, Any]:
    app = r["id"]
    out = _app_summary(r, _annotation_counts(conn, r["project"], [r["app_id"]]).get(r["app_id"], 0))
    graph_row = conn.execute("SELECT graph FROM apps WHERE id=?", (app,)).fetchone()
    out["graph"] = json.loads(graph_row[0]) if graph_row and graph_row[0] else None
    children = _children(conn, app)
    # spawned children also name their parent in metadata; include those the parent file missed
    known = {c["app_id"] for c in children}
    for c in conn.execute(
        "SELECT app_id, partition_key, spawn_seq, created FROM apps WHERE project=? AND spawn_app_id=?",
        (r["project"], r["app_id"]),
    ):
        if c[0] not in known:
            children.append(
                {
                    "app_id": c[0],
                    "partition_key": c[1],
                    "event_type": "spawn_start",
                    "sequence_id": c[2],
                    "event_time": to_iso(c[3]),
                }
            )
    out["children"] = [c for c in children if c["event_type"] != "fork"]
    out["forks"] = [c for c in children if c["event_type"] == "fork"]
    for c in conn.execute(
        "SELECT app_id, partition_key, parent_seq, created FROM apps WHERE project=? AND parent_app_id=?",
        (r["project"], r["app_id"]),
    ):
        if c[0] not in {f["app_id"] for f in out["forks"]}:
            out["forks"].append(
                {
                    "app_id": c[0],
                    "partition_key": c[1],
                    "event_type": "fork",
                    "sequence_id": c[2],
                    "event_time": to_iso(c[3]),
                }
            )
    lineage: list[dict[str, Any] | None] = []
    seen = {r["app_id"]}
    cur: sqlite3.Row | None = r
    while cur is not None and cur["parent_app_id"] and len(lineage) < 50:
        lineage.append(_pointer(cur["parent_app_id"], cur["parent_seq"], cur["parent_pk"]))
        if cur["parent_app_id"] in seen:
            break
        seen.add(cur["parent_app_id"])
        cur = get_app(conn, r["project"], cur["parent_app_id"])
    out["lineage"] = lineage
    out["warnings"] = [
        w[0] for w in conn.execute("SELECT message FROM warnings WHERE app=? ORDER BY id LIMIT 100", (app,))
    ]
    if r["pending_bytes"]:
        out["warnings"].append(
            f"the last line of log.jsonl is incomplete ({r['pending_bytes']} bytes): "
            "the writer is mid-write or was killed; it is ignored until it ends with a newline"
        )
    out["pending_bytes"] = r["pending_bytes"]
    out["node_stats"] = [
        {
            "action": n[0],
            "visits": n[1],
            "failures": n[2],
            "mean_ms": None if n[3] is None else round(n[3], 3),
        }
        for n in conn.execute(
            "SELECT action, count(*), sum(status='failed'), avg((end - start) * 1000) FROM steps "
            "WHERE app=? GROUP BY action",
            (app,),
        )
    ]
    out["edge_stats"] = [
        {"from_": e[0] or None, "to": e[1], "count": e[2]}
        for e in conn.execute("SELECT src, dst, count FROM edges WHERE app=?", (app,))
    ]
    out["format"] = r["fmt"]
    return out


# -- steps -----------------------------------------------------------------------------------------
_STEP_COLS = (
    "seq, action, start, end, status, error, n_spans, n_attrs, stream_start, stream_first, stream_end, "
    "stream_items, begin_off, end_off, attempts"
)


def _stream(r: sqlite3.Row) -> dict[str, Any] | None:
    if r["stream_start"] is None and r["stream_first"] is None:
        return None
    ttft = _ms(r["start"] if r["start"] is not None else r["stream_start"], r["stream_first"])
    rate = None
    items, first, end = r["stream_items"], r["stream_first"], r["stream_end"]
    if items and first is not None and end is not None and end > first:
        rate = round(items / (end - first), 3)
    return {
        "start": to_iso(r["stream_start"]),
        "first_item": to_iso(r["stream_first"]),
        "end": to_iso(r["stream_end"]),
        "items": items,
        "ttft_ms": ttft,
        "items_per_second": rate,
    }


def _step_summary(r: sqlite3.Row, num_children: int) -> dict[str, Any]:
    return {
        "sequence_id": r["seq"],
        "action": r["action"],
        "start_time": to_iso(r["start"]),
        "end_time": to_iso(r["end"]),
        "duration_ms": _ms(r["start"], r["end"]),
        "status": r["status"],
        "error": r["error"],
        "num_spans": r["n_spans"],
        "num_attributes": r["n_attrs"],
        "num_children": num_children,
        "attempts": r["attempts"],
        "stream": _stream(r),
    }


def list_steps(
    conn: sqlite3.Connection,
    app: int,
    *,
    offset: int = 0,
    limit: int = 100,
    order: str = "asc",
    after_sequence_id: int | None = None,
    status: str | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    where = ["app=?"]
    args: list[Any] = [app]
    and_equal(where, args, status=status or None, action=action or None)
    total = conn.execute(f"SELECT count(*) FROM steps WHERE {' AND '.join(where)}", args).fetchone()[0]
    if after_sequence_id is not None:
        where.append("seq > ?" if order == "asc" else "seq < ?")
        args.append(after_sequence_id)
    direction = "ASC" if order == "asc" else "DESC"
    rows = conn.execute(
        f"SELECT {_STEP_COLS} FROM steps WHERE {' AND '.join(where)} ORDER BY seq {direction} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    child_counts: dict[int, int] = {}
    if rows:
        lo, hi = min(r["seq"] for r in rows), max(r["seq"] for r in rows)
        child_counts = {
            c[0]: c[1]
            for c in conn.execute(
                "SELECT seq, count(*) FROM children WHERE app=? AND seq BETWEEN ? AND ? "
                "AND event_type != 'fork' GROUP BY seq",
                (app, lo, hi),
            )
        }
    return {
        "steps": [_step_summary(r, child_counts.get(r["seq"], 0)) for r in rows],
        "total": total,
        "offset": offset,
        "limit": limit,
    }


def timeline(conn: sqlite3.Connection, app: int, buckets: int) -> dict[str, Any]:
    """Steps grouped into ``buckets`` equal slices of the app's time span (a minimap of any size)."""
    lo, hi = conn.execute(
        "SELECT min(start), max(coalesce(end, start)) FROM steps WHERE app=? AND start IS NOT NULL", (app,)
    ).fetchone()
    if lo is None:
        return {"start": None, "end": None, "buckets": []}
    width = max((hi - lo) / buckets, 1e-6)
    rows = conn.execute(
        "SELECT min(CAST((start - ?) / ? AS INTEGER), ?) AS b, count(*), sum(status='failed'), "
        "sum(status='running'), min(seq), sum(coalesce(end, start) - start) FROM steps "
        "WHERE app=? AND start IS NOT NULL GROUP BY b ORDER BY b",
        (lo, width, buckets - 1, app),
    )
    out = [
        {
            "index": r[0],
            "start": to_iso(lo + r[0] * width),
            "steps": r[1],
            "failed": r[2],
            "running": r[3],
            "first_sequence_id": r[4],
            "busy_ms": round(r[5] * 1000, 3),
        }
        for r in rows
    ]
    return {"start": to_iso(lo), "end": to_iso(hi), "bucket_ms": round(width * 1000, 3), "buckets": out}


def _error_line(exc: Any) -> str | None:
    if not exc:
        return None
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else str(exc))[:300]


def _read_range(path: str, start: int, stop: int) -> list[tuple[int, dict[str, Any]]]:
    stop = min(stop, start + MAX_STEP_READ)
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(max(0, stop - start))
    except OSError:
        return []
    out = []
    for off, line in split_lines(data if data.endswith(b"\n") else data + b"\n", start):
        rec, _ = parse_line(line)
        if rec is not None:
            out.append((off, rec))
    return out


def _log_path(r: sqlite3.Row) -> str:
    return os.path.join(r["dir"], "log.jsonl")


def _state_at_step(conn: sqlite3.Connection, r: sqlite3.Row, seq: int, end_off: int) -> dict[str, Any] | None:
    app = r["id"]
    snap = conn.execute(
        "SELECT max(end_off) FROM steps WHERE app=? AND snapshot=1 AND end_off <= ?", (app, end_off)
    ).fetchone()[0]
    start = 0 if snap is None else snap
    stop = conn.execute(
        "SELECT min(begin_off) FROM steps WHERE app=? AND begin_off > ?", (app, end_off)
    ).fetchone()[0]
    records = [
        rec for off, rec in _read_range(_log_path(r), start, stop or r["log_offset"]) if off <= end_off
    ]
    found = _reader.state_at(records, seq)
    if found is None and start:
        records = [rec for off, rec in _read_range(_log_path(r), 0, end_off + 1) if off <= end_off]
        found = _reader.state_at(records + _read_line_at(_log_path(r), end_off), seq)
    return None if found is None else found[0]


def _read_line_at(path: str, off: int) -> list[dict[str, Any]]:
    return [rec for o, rec in _read_range(path, off, off + MAX_STEP_READ) if o == off][:1]


def step_exists(conn: sqlite3.Connection, app: int, seq: int) -> bool:
    return conn.execute("SELECT 1 FROM steps WHERE app=? AND seq=?", (app, seq)).fetchone() is not None


def step_detail(
    index: TrackingIndex, conn: sqlite3.Connection, r: sqlite3.Row, seq: int
) -> dict[str, Any] | None:
    app = r["id"]
    s = conn.execute(f"SELECT {_STEP_COLS} FROM steps WHERE app=? AND seq=?", (app, seq)).fetchone()
    if s is None:
        return None
    begin_off = s["begin_off"]
    stop = conn.execute(
        "SELECT min(begin_off) FROM steps WHERE app=? AND begin_off > ?", (app, begin_off)
    ).fetchone()[0]
    has_next = stop is not None
    stop = stop if stop is not None else r["log_offset"]
    records = _read_range(_log_path(r), begin_off, stop)
    begin: dict[str, Any] = {}
    end: dict[str, Any] = {}
    spans: dict[str, dict[str, Any]] = {}
    attributes = []
    attempts: list[dict[str, Any]] = []
    attempt_start: float | None = None
    transition = None
    for _off, rec in records:
        kind = rec.get("type")
        rseq = rec.get("sequence_id", rec.get("action_sequence_id"))
        if rseq != seq:
            continue
        if kind == "begin_entry":
            if not begin:
                begin = rec  # the step starts with its first attempt
            attempt_start = to_epoch(rec.get("start_time"))
        elif kind == "end_entry":
            end = rec
            if "attempt" in rec:
                attempt_end = to_epoch(rec.get("end_time"))
                attempts.append(
                    {
                        "attempt": rec.get("attempt"),
                        "start_time": to_iso(attempt_start),
                        "end_time": to_iso(attempt_end),
                        "duration_ms": _ms(attempt_start, attempt_end),
                        "will_retry": bool(rec.get("will_retry")),
                        "error": _error_line(rec.get("exception")),
                    }
                )
        elif kind == "begin_span":
            sid = str(rec.get("span_id"))
            path = sid.split(":", 1)[-1]
            spans[sid] = {
                "span_id": sid,
                "name": str(rec.get("span_name")),
                "parent_span_id": rec.get("parent_span_id"),
                "depth": path.count("."),
                "start": to_epoch(rec.get("start_time")),
                "end": None,
            }
        elif kind == "end_span" and str(rec.get("span_id")) in spans:
            spans[str(rec.get("span_id"))]["end"] = to_epoch(rec.get("end_time"))
        elif kind == "attribute":
            attributes.append(
                {
                    "key": str(rec.get("key")),
                    "span_id": rec.get("span_id"),
                    "value": rec.get("value"),
                    "tags": rec.get("tags") or {},
                    "time_logged": to_iso(to_epoch(rec.get("time_logged"))),
                }
            )
        elif kind == "transition":
            transition = {k: v for k, v in rec.items() if k != "type"}
    if transition is None and has_next and r["fmt"] >= 2:
        # format 2 omits the record when the first transition of the kind that applies fired
        # (a normal one after a completed step, an error route after a failed one)
        graph = conn.execute("SELECT graph FROM apps WHERE id=?", (app,)).fetchone()[0]
        failed = s["status"] != "completed"
        implied = _reader.implied_transition(json.loads(graph), s["action"], failed=failed) if graph else None
        transition = {k: v for k, v in implied.items() if k != "type"} if implied else None
    children = _children(conn, app, seq)
    out = _step_summary(s, len([c for c in children if c["event_type"] != "fork"]))
    inputs = begin.get("inputs")
    if isinstance(inputs, dict):
        inputs = {k: v for k, v in inputs.items() if k not in ("__context", "__tracer")}
    out["position"] = conn.execute(
        "SELECT count(*) FROM steps WHERE app=? AND seq < ?", (app, seq)
    ).fetchone()[0]
    out["inputs"] = inputs
    out["result"] = end.get("result")
    out["exception"] = end.get("exception")
    out["state"] = None
    if s["end_off"] is not None:
        out["state"] = _state_at_step(conn, r, seq, s["end_off"])
    out["state_before"], out["state_before_source"] = _state_before(conn, r, begin_off)
    out["spans"] = [
        {
            "span_id": sp["span_id"],
            "name": sp["name"],
            "parent_span_id": sp["parent_span_id"],
            "depth": sp["depth"],
            "start_time": to_iso(sp["start"]),
            "end_time": to_iso(sp["end"]),
            "duration_ms": _ms(sp["start"], sp["end"]),
        }
        for sp in sorted(spans.values(), key=lambda x: x["start"] or 0)
    ]
    out["attributes"] = attributes
    out["transition"] = transition
    out["attempt_history"] = attempts
    out["children"] = children
    out["warnings"] = [
        w[0]
        for w in conn.execute(
            "SELECT message FROM warnings WHERE app=? AND offset >= ? AND offset < ? ORDER BY offset",
            (app, begin_off, stop),
        )
    ]
    return out


def _state_before(
    conn: sqlite3.Connection, r: sqlite3.Row, begin_off: int
) -> tuple[dict[str, Any] | None, str | None]:
    prev = conn.execute(
        "SELECT seq, end_off FROM steps WHERE app=? AND end_off IS NOT NULL AND end_off < ? "
        "ORDER BY end_off DESC LIMIT 1",
        (r["id"], begin_off),
    ).fetchone()
    if prev is not None:
        return _state_at_step(conn, r, prev["seq"], prev["end_off"]), f"step {prev['seq']}"
    if r["parent_app_id"] and r["parent_seq"] is not None:
        parent = get_app(conn, r["project"], r["parent_app_id"])
        if parent is not None:
            p = conn.execute(
                "SELECT end_off FROM steps WHERE app=? AND seq=?", (parent["id"], r["parent_seq"])
            ).fetchone()
            if p is not None and p["end_off"] is not None:
                return (
                    _state_at_step(conn, parent, r["parent_seq"], p["end_off"]),
                    f"fork parent {r['parent_app_id']} step {r['parent_seq']}",
                )
    return None, None


# -- annotations -----------------------------------------------------------------------------------
def _annotation(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": r["id"],
        "project_id": r["project"],
        "app_id": r["app_id"],
        "partition_key": r["partition_key"],
        "step_sequence_id": r["step_sequence_id"],
        "span_id": r["span_id"],
        "step_name": r["step_name"],
        "tags": json.loads(r["tags"]),
        "observations": json.loads(r["observations"]),
        "created": to_iso(r["created"]),
        "updated": to_iso(r["updated"]),
    }


def list_annotations(
    conn: sqlite3.Connection,
    project: str,
    app_id: str | None = None,
    sequence_id: int | None = None,
    partition_key: str | None = None,
) -> list[dict[str, Any]]:
    where = ["project=?"]
    args: list[Any] = [project]
    and_equal(where, args, app_id=app_id, step_sequence_id=sequence_id, partition_key=partition_key)
    return [
        _annotation(r)
        for r in conn.execute(f"SELECT * FROM annotations WHERE {' AND '.join(where)} ORDER BY id", args)
    ]


def get_annotation(conn: sqlite3.Connection, project: str, annotation_id: int) -> dict[str, Any] | None:
    r = conn.execute(
        "SELECT * FROM annotations WHERE project=? AND id=?", (project, annotation_id)
    ).fetchone()
    return None if r is None else _annotation(r)
