"""Annotation writes: stored in the index (not in the tracking files), so they survive re-indexing."""

from __future__ import annotations

import json
import time
from typing import Any

from burr.tracking.server import queries
from burr.tracking.server.index import TrackingIndex


def create(
    index: TrackingIndex,
    project: str,
    app_id: str,
    partition_key: str | None,
    sequence_id: int,
    body: dict[str, Any],
) -> dict[str, Any]:
    now = time.time()
    with index.lock:
        conn = index.writer()
        cur = conn.execute(
            "INSERT INTO annotations(project, app_id, partition_key, step_sequence_id, span_id, step_name, "
            "tags, observations, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                project,
                app_id,
                partition_key,
                sequence_id,
                body.get("span_id"),
                body["step_name"],
                json.dumps(body.get("tags") or []),
                json.dumps(body.get("observations") or []),
                now,
                now,
            ),
        )
        new_id = int(cur.lastrowid or 0)
        _event(index, project, app_id, new_id)
        out = queries.get_annotation(conn, project, new_id)
    assert out is not None
    return out


def update(
    index: TrackingIndex, project: str, annotation_id: int, body: dict[str, Any]
) -> dict[str, Any] | None:
    with index.lock:
        conn = index.writer()
        existing = queries.get_annotation(conn, project, annotation_id)
        if existing is None:
            return None
        sets: list[str] = ["updated=?"]
        args: list[Any] = [time.time()]
        if "span_id" in body:
            sets.append("span_id=?")
            args.append(body["span_id"])
        if body.get("tags") is not None:
            sets.append("tags=?")
            args.append(json.dumps(body["tags"]))
        if body.get("observations") is not None:
            sets.append("observations=?")
            args.append(json.dumps(body["observations"]))
        conn.execute(f"UPDATE annotations SET {', '.join(sets)} WHERE id=?", [*args, annotation_id])
        _event(index, project, existing["app_id"], annotation_id)
        return queries.get_annotation(conn, project, annotation_id)


def _event(index: TrackingIndex, project: str, app_id: str, annotation_id: int) -> None:
    index.writer().execute(
        "INSERT INTO events(project, app_id, kind, data) VALUES (?,?,?,?)",
        (
            project,
            app_id,
            "annotation",
            json.dumps({"project": project, "app_id": app_id, "id": annotation_id}),
        ),
    )
    with index.changed:
        index.changed.notify_all()
