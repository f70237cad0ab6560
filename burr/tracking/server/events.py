"""Server-sent events from the index's event table: new apps, new/updated steps, annotations.

Event ids are the table's monotonic ids, so a client resumes with ``Last-Event-ID``. If the client
is further behind than the table keeps, it gets one ``reset`` event and should refetch.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request

from burr.tracking.server.index import TrackingIndex
from burr.tracking.server.queries import and_equal

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0


def _frame(event_id: int | None, kind: str, data: Any) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def event_stream(
    index: TrackingIndex,
    request: Request,
    project: str | None,
    app_id: str | None,
    last_id: int | None,
    max_seconds: float = 60.0,
    kind: str | None = None,
) -> AsyncIterator[str]:
    """Yield SSE frames until the client leaves or ``max_seconds`` pass (the browser reconnects)."""
    conn = index.reader()
    newest = conn.execute("SELECT coalesce(max(id), 0), coalesce(min(id), 0) FROM events").fetchone()
    yield "retry: 1000\n\n"
    if last_id is None:
        cursor = int(newest[0])
        yield _frame(cursor, "hello", {"last_event_id": cursor})
    else:
        cursor = last_id
        if newest[1] and last_id < newest[1] - 1:
            yield _frame(None, "reset", {"reason": "missed events were pruned; refetch"})
    filters: list[str] = []
    args: list[Any] = []
    and_equal(filters, args, project=project, app_id=app_id, kind=kind)
    where = " AND ".join(["id > ?", *filters])
    started = time.monotonic()
    last_beat = started
    while time.monotonic() - started < max_seconds:
        if await request.is_disconnected():
            return
        top = int(conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])
        rows = conn.execute(
            f"SELECT id, kind, data FROM events WHERE {where} AND id <= ? ORDER BY id LIMIT 500",
            [cursor, *args, top],
        ).fetchall()
        for r in rows:
            yield f"id: {int(r['id'])}\nevent: {r['kind']}\ndata: {r['data']}\n\n"
        # skip past other scopes' events so the next query stays cheap
        cursor = int(rows[-1]["id"]) if len(rows) == 500 else max(cursor, top)
        now = time.monotonic()
        if now - last_beat > HEARTBEAT_SECONDS:
            last_beat = now
            yield ": ping\n\n"
        if not rows:
            await asyncio.sleep(POLL_SECONDS)
