"""SQLite persister tables as read-only tracker projects.

Each source (a SQLite file and a table written by ``SQLitePersister``, ours or Apache Burr's) is one
project named ``persister:<file stem>:<table>``: its apps are the table's ``(partition_key, app_id)``
pairs, its steps the rows. The index copies only row metadata, tailing the table by ``rowid``; a
step's state is loaded on demand through ``SQLitePersister.load`` on a read-only connection, so the
file is never written.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import urllib.parse
from dataclasses import dataclass
from typing import Any

from burr.tracking.server._times import to_epoch

PROJECT_PREFIX = "persister:"
DEFAULT_TABLE = "burr_state"
EMPTY_GRAPH: dict[str, Any] = {"entrypoint": "", "actions": [], "transitions": []}
REQUIRED_COLUMNS = ("partition_key", "app_id", "sequence_id", "position", "status", "state", "created_at")
MAX_ROWS_PER_TICK = 20_000
_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class PersisterSourceError(ValueError):
    """A persister source that cannot be served (missing file, table or columns)."""


@dataclass(frozen=True)
class PersisterSource:
    """One SQLite file + table shown as a project."""

    path: str
    table: str = DEFAULT_TABLE

    @property
    def project(self) -> str:
        stem = os.path.splitext(os.path.basename(self.path))[0]
        return f"{PROJECT_PREFIX}{stem}:{self.table}"

    def connect(self) -> sqlite3.Connection:
        """A read-only connection (``mode=ro``): nothing we run can change the file."""
        uri = f"file:{urllib.parse.quote(self.path)}?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=5)

    def check(self) -> None:
        """Raise :class:`PersisterSourceError` unless the table can be read as a persister table."""
        if not os.path.isfile(self.path):
            raise PersisterSourceError(
                f"persister database {self.path!r} does not exist (or is not a file): pass the path "
                "of an existing SQLite file written by SQLitePersister"
            )
        try:
            conn = self.connect()
            try:
                cols = {r[1] for r in conn.execute(f'PRAGMA table_info("{self.table}")')}
                if cols:
                    conn.execute(f'SELECT rowid FROM "{self.table}" LIMIT 1').fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as e:
            if "rowid" in str(e):
                raise PersisterSourceError(
                    f"table {self.table!r} in {self.path!r} has no rowid (WITHOUT ROWID): it cannot "
                    "be followed incrementally"
                ) from e
            raise PersisterSourceError(
                f"{self.path!r} cannot be read as a SQLite database ({e}): check the path"
            ) from e
        if not cols:
            raise PersisterSourceError(
                f"no table {self.table!r} in {self.path!r}: name the persister's table as PATH:TABLE "
                f"(default {DEFAULT_TABLE!r})"
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in cols]
        if missing:
            raise PersisterSourceError(
                f"table {self.table!r} in {self.path!r} is not a SQLitePersister table "
                f"(missing columns: {', '.join(missing)})"
            )


def parse_source(spec: str) -> PersisterSource:
    """``PATH`` or ``PATH:TABLE`` -> a checked :class:`PersisterSource`."""
    path, table = spec, DEFAULT_TABLE
    head, sep, tail = spec.rpartition(":")
    if sep and head and _TABLE_RE.match(tail) and not os.path.exists(spec):
        path, table = head, tail
    if not _TABLE_RE.match(table):
        raise PersisterSourceError(f"table name {table!r} is not a plain SQL identifier")
    source = PersisterSource(os.path.abspath(os.path.expanduser(path)), table)
    if len(source.project) > 256:
        raise PersisterSourceError(f"project name {source.project!r} is too long: rename the file")
    source.check()
    return source


def check_unique(sources: list[PersisterSource]) -> dict[str, PersisterSource]:
    """Sources by project name; two sources with one name are refused."""
    out: dict[str, PersisterSource] = {}
    for s in sources:
        if s.project in out and out[s.project] != s:
            raise PersisterSourceError(
                f"{out[s.project].path!r} and {s.path!r} would both be project {s.project!r}: "
                "rename one of the files"
            )
        out[s.project] = s
    return out


def _signature(path: str) -> tuple[int, ...]:
    sig: list[int] = []
    for p in (path, path + "-wal"):
        try:
            st = os.stat(p)
            sig += [st.st_mtime_ns, st.st_size]
        except OSError:
            sig += [0, 0]
    return tuple(sig)


class SourceFollower:
    """Tails one source's table into the index (called by the index thread with its lock held)."""

    def __init__(self, source: PersisterSource) -> None:
        self.source = source
        self._sig: tuple[int, ...] | None = None
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def ingest(self, index: sqlite3.Connection, events: list[tuple[str, str | None, str, str]]) -> int:
        """Index rows added since the last call; returns how many apps changed."""
        sig = _signature(self.source.path)
        if sig == self._sig:
            return 0  # file unchanged: no query
        project, key = self.source.project, f"source:{self.source.path}:{self.source.table}"
        created = sig[0] / 1e9
        index.execute("INSERT OR IGNORE INTO projects VALUES (?, ?)", (project, created))
        row = index.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        last = int(row[0]) if row else 0
        if (
            self._sig is None
            and not index.execute("SELECT 1 FROM apps WHERE project=?", (project,)).fetchone()
        ):
            last = 0  # the project was forgotten while this source was not served: start over
        if self._conn is None:
            self._conn = self.source.connect()
        try:
            top = self._conn.execute(f'SELECT max(rowid) FROM "{self.source.table}"').fetchone()[0] or 0
            if top < last:  # the table was recreated: index it again
                _drop_apps(index, project)
                last = 0
            rows = self._conn.execute(
                f'SELECT rowid, partition_key, app_id, sequence_id, position, status, created_at FROM "{self.source.table}" '
                "WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, MAX_ROWS_PER_TICK),
            ).fetchall()
        except sqlite3.Error:
            self.close()
            raise
        if len(rows) < MAX_ROWS_PER_TICK:
            self._sig = sig  # more rows waiting: look again next tick
        touched: dict[int, list[dict[str, Any]]] = {}
        for rowid, pk, app_id, seq, position, status, created_at in rows:
            if not isinstance(seq, int) or app_id is None:
                continue
            app = _app_row(index, project, pk or "", str(app_id))
            # a row only knows when it was saved (the step's end): no start, so no made-up duration
            t = to_epoch(created_at)
            state = "failed" if status == "failed" else "completed"
            index.execute(
                "INSERT OR REPLACE INTO steps(app, seq, action, end, status, begin_off, end_off, snapshot) "
                "VALUES (?,?,?,?,?,?,?,1)",
                (app, seq, str(position), t, state, rowid, rowid),
            )
            touched.setdefault(app, []).append(
                {"seq": seq, "action": str(position), "status": state, "end": t}
            )
        for app, steps in touched.items():
            _refresh_app(index, app)
            summary = dict(
                index.execute(
                    "SELECT project, app_id, partition_key, num_steps, last_seq, last_action, status, "
                    "last_written, spawn_app_id, parent_app_id FROM apps WHERE id=?",
                    (app,),
                ).fetchone()
            )
            events.append((project, summary["app_id"], "app", json.dumps(summary)))
            for step in steps[:200]:
                step.update(app_id=summary["app_id"], project=project)
                events.append((project, summary["app_id"], "step", json.dumps(step)))
        if rows:
            index.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(rows[-1][0])))
        return len(touched)


def _app_row(index: sqlite3.Connection, project: str, pk: str, app_id: str) -> int:
    ref = json.dumps([pk, app_id])
    found = index.execute("SELECT id FROM apps WHERE project=? AND dir=?", (project, ref)).fetchone()
    if found is not None:
        return int(found[0])
    shown = app_id
    if index.execute("SELECT 1 FROM apps WHERE project=? AND app_id=?", (project, shown)).fetchone():
        shown = f"{app_id}@{pk}"  # the same app id under another partition key
    cur = index.execute(
        "INSERT INTO apps(project, app_id, dir, partition_key, graph, has_meta) VALUES (?,?,?,?,?,1)",
        (project, shown, ref, pk or None, json.dumps(EMPTY_GRAPH)),
    )
    return int(cur.lastrowid or 0)


def _refresh_app(index: sqlite3.Connection, app: int) -> None:
    index.execute(
        "UPDATE apps SET num_steps=(SELECT count(*) FROM steps WHERE app=:a), "
        "last_seq=(SELECT max(seq) FROM steps WHERE app=:a), "
        "last_action=(SELECT action FROM steps WHERE app=:a ORDER BY seq DESC LIMIT 1), "
        "status=coalesce((SELECT status FROM steps WHERE app=:a ORDER BY seq DESC LIMIT 1), 'empty'), "
        "created=coalesce((SELECT min(end) FROM steps WHERE app=:a), 0), "
        "first_written=coalesce((SELECT min(end) FROM steps WHERE app=:a), 0), "
        "last_written=coalesce((SELECT max(end) FROM steps WHERE app=:a), 0) WHERE id=:a",
        {"a": app},
    )


def _drop_apps(index: sqlite3.Connection, project: str) -> None:
    for (app,) in index.execute("SELECT id FROM apps WHERE project=?", (project,)).fetchall():
        for table in ("steps", "edges", "warnings", "children"):
            index.execute(f"DELETE FROM {table} WHERE app=?", (app,))
    index.execute("DELETE FROM apps WHERE project=?", (project,))


def load_state(source: PersisterSource, app_ref: str, seq: int) -> dict[str, Any] | None:
    """The serialized state after step ``seq`` (``None`` if the row is gone)."""
    from burr.core.persistence import SQLitePersister

    pk, app_id = json.loads(app_ref)
    conn = source.connect()
    try:
        persister = SQLitePersister(source.path, table_name=source.table, connection=conn)
        loaded = persister.load(pk, app_id, seq)
    finally:
        conn.close()
    if loaded is None:
        return None
    serialized: dict[str, Any] = loaded["state"].serialize()
    return serialized


def step_detail(
    source: PersisterSource, conn: sqlite3.Connection, r: sqlite3.Row, seq: int
) -> dict[str, Any] | None:
    """One step of a persister app: its row, its state, and the previous step's state as "before"."""
    from burr.tracking.server import queries

    app = r["id"]
    s = conn.execute(f"SELECT {queries._STEP_COLS} FROM steps WHERE app=? AND seq=?", (app, seq)).fetchone()
    if s is None:
        return None
    out = queries._step_summary(s, 0)
    out["position"] = conn.execute(
        "SELECT count(*) FROM steps WHERE app=? AND seq < ?", (app, seq)
    ).fetchone()[0]
    out.update(inputs=None, result=None, exception=None, spans=[], attributes=[], transition=None)
    out.update(attempt_history=[], children=[], warnings=[])
    out["state"] = load_state(source, r["dir"], seq)
    prev = conn.execute("SELECT max(seq) FROM steps WHERE app=? AND seq < ?", (app, seq)).fetchone()[0]
    out["state_before"], out["state_before_source"] = None, None
    if prev is not None:
        out["state_before"] = load_state(source, r["dir"], prev)
        out["state_before_source"] = f"step {prev}"
    if out["state"] is None:
        out["warnings"].append("this row is no longer in the persister table (pruned or deleted)")
    return out
