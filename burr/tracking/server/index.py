"""A SQLite index over the tracking files, updated incrementally by tailing each log from a byte offset.

Requests never read whole logs: listings come from the index; one step's details are read from the
byte range the index remembers for it. A background thread polls cheaply: the apps that changed
recently every tick, every app's file size on a slower full sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from burr.tracking.server import _reader
from burr.tracking.server._times import to_epoch
from burr.tracking.server.persister_source import PersisterSource, SourceFollower, check_unique

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "5"
INDEX_FILENAME = ".burr-index.sqlite"
MAX_WARNINGS_PER_APP = 100
MAX_EVENTS_KEPT = 20_000
MAX_STEP_EVENTS_PER_TICK = 200
MAX_READ_PER_TICK = 32 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS projects(name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS apps(
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL, app_id TEXT NOT NULL, dir TEXT NOT NULL,
  partition_key TEXT,
  created REAL NOT NULL DEFAULT 0, first_written REAL NOT NULL DEFAULT 0,
  last_written REAL NOT NULL DEFAULT 0,
  num_steps INTEGER NOT NULL DEFAULT 0, last_seq INTEGER, last_action TEXT,
  status TEXT NOT NULL DEFAULT 'empty',
  fmt INTEGER NOT NULL DEFAULT 1,
  parent_app_id TEXT, parent_seq INTEGER, parent_pk TEXT,
  spawn_app_id TEXT, spawn_seq INTEGER, spawn_pk TEXT,
  graph TEXT, has_meta INTEGER NOT NULL DEFAULT 0,
  log_offset INTEGER NOT NULL DEFAULT 0, log_size INTEGER NOT NULL DEFAULT 0,
  children_offset INTEGER NOT NULL DEFAULT 0, children_size INTEGER NOT NULL DEFAULT 0,
  pending_bytes INTEGER NOT NULL DEFAULT 0,
  num_warnings INTEGER NOT NULL DEFAULT 0,
  num_children INTEGER NOT NULL DEFAULT 0,
  UNIQUE(project, app_id)
);
CREATE INDEX IF NOT EXISTS apps_last ON apps(project, last_written DESC, id DESC);
CREATE INDEX IF NOT EXISTS apps_pk ON apps(project, partition_key);
CREATE INDEX IF NOT EXISTS apps_spawn ON apps(project, spawn_app_id);
CREATE INDEX IF NOT EXISTS apps_parent ON apps(project, parent_app_id);
CREATE TABLE IF NOT EXISTS steps(
  app INTEGER NOT NULL, seq INTEGER NOT NULL, action TEXT NOT NULL,
  start REAL, end REAL, status TEXT NOT NULL, error TEXT,
  n_spans INTEGER NOT NULL DEFAULT 0, n_attrs INTEGER NOT NULL DEFAULT 0,
  stream_start REAL, stream_first REAL, stream_end REAL, stream_items INTEGER,
  begin_off INTEGER NOT NULL, end_off INTEGER, snapshot INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY(app, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS steps_begin ON steps(app, begin_off);
CREATE INDEX IF NOT EXISTS steps_end ON steps(app, end_off);
CREATE TABLE IF NOT EXISTS edges(
  app INTEGER NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY(app, src, dst)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS children(
  app INTEGER NOT NULL, child_app_id TEXT NOT NULL, child_pk TEXT, event_type TEXT,
  seq INTEGER, event_time REAL
);
CREATE INDEX IF NOT EXISTS children_app ON children(app, seq);
CREATE TABLE IF NOT EXISTS warnings(
  id INTEGER PRIMARY KEY, app INTEGER NOT NULL, offset INTEGER, message TEXT NOT NULL, time REAL
);
CREATE INDEX IF NOT EXISTS warnings_app ON warnings(app, offset);
CREATE TABLE IF NOT EXISTS annotations(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project TEXT NOT NULL, app_id TEXT NOT NULL, partition_key TEXT,
  step_sequence_id INTEGER NOT NULL, span_id TEXT, step_name TEXT NOT NULL,
  tags TEXT NOT NULL, observations TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_app ON annotations(project, app_id, step_sequence_id);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, app_id TEXT, kind TEXT NOT NULL,
  data TEXT NOT NULL
);
"""


def default_index_path(storage_dir: str) -> str:
    """Where the index lives for a storage dir (inside it; hidden so it is never taken for a project)."""
    return os.path.join(storage_dir, INDEX_FILENAME)


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def split_lines(data: bytes, base: int) -> Iterator[tuple[int, bytes]]:
    """Complete lines of ``data`` with their absolute byte offsets (the tail after the last newline is not)."""
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return
        if nl > pos:
            yield base + pos, data[pos:nl]
        pos = nl + 1


def parse_line(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """A record (lean format-2 fields filled in), or a warning. A torn line glued to the next record
    keeps the record."""
    try:
        rec = json.loads(line)
        if isinstance(rec, dict):
            return _reader.fill_defaults(rec), None
        return None, "line is not a JSON object; skipped"
    except ValueError:
        pass
    cut = line.find(b'{"type"', 1)
    if cut > 0:
        try:
            rec = json.loads(line[cut:])
            if isinstance(rec, dict):
                return _reader.fill_defaults(rec), f"torn line: dropped {cut} bytes of an incomplete record"
        except ValueError:
            pass
    preview = line[:60].decode("utf-8", errors="replace")
    return None, f"corrupt line skipped ({len(line)} bytes): {preview!r}"


@dataclass
class _AppTick:
    """What changed in one app during one tick (to build events)."""

    steps: dict[int, dict[str, Any]] = field(default_factory=dict)
    changed: bool = False


@dataclass
class _Cursor:
    """Running values while one app's new records are indexed."""

    tick: _AppTick
    last_action: str | None
    first_written: float | None
    last_written: float


class TrackingIndex:
    """Owns the index database and the background ingester for one storage directory."""

    def __init__(
        self,
        storage_dir: str,
        index_path: str | None = None,
        poll_interval: float = 0.5,
        full_sweep_every: float = 10.0,
        persister_sources: list[PersisterSource] | None = None,
    ) -> None:
        self.sources = check_unique(list(persister_sources or []))
        self._followers = [SourceFollower(s) for s in self.sources.values()]
        self.storage_dir = os.path.abspath(os.path.expanduser(storage_dir))
        os.makedirs(self.storage_dir, exist_ok=True)
        self.index_path = index_path or default_index_path(self.storage_dir)
        if index_path is None and not os.access(self.storage_dir, os.W_OK):
            # a read-only storage dir (e.g. a mounted volume): keep the index in the user's cache
            digest = hashlib.sha256(self.storage_dir.encode()).hexdigest()[:16]
            cache = os.path.join(os.path.expanduser("~"), ".cache", "burr")
            os.makedirs(cache, exist_ok=True)
            self.index_path = os.path.join(cache, f"index-{digest}.sqlite")
        self.poll_interval = poll_interval
        self.full_sweep_every = full_sweep_every
        self._write = connect(self.index_path)
        self._init_schema()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_full = 0.0
        self._hot: dict[tuple[str, str], float] = {}
        self._project_mtimes: dict[str, float] = {}
        self._warm = False
        self._full_cost = 0.0
        self.changed = threading.Condition()
        self.ready = threading.Event()
        self.last_error: str | None = None

    # -- schema / connections --------------------------------------------------------------------
    def _init_schema(self) -> None:
        cur = self._write
        cur.executescript("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);")
        row = cur.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            # the index is a cache of the files, except annotations: keep those across upgrades
            saved: list[sqlite3.Row] = []
            try:
                saved = list(cur.execute("SELECT * FROM annotations"))
            except sqlite3.Error:
                pass
            for (name,) in list(cur.execute("SELECT name FROM sqlite_master WHERE type='table'")):
                if name not in ("meta", "sqlite_sequence"):
                    cur.execute(f'DROP TABLE IF EXISTS "{name}"')
            cur.executescript(_SCHEMA)
            for r in saved:
                cur.execute(
                    "INSERT INTO annotations VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    tuple(r),
                )
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        else:
            cur.executescript(_SCHEMA)

    def reader(self) -> sqlite3.Connection:
        """A connection for the calling thread (requests read concurrently with the ingester)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.index_path)
            self._local.conn = conn
        return conn

    def writer(self) -> sqlite3.Connection:
        """The single writing connection; hold ``self._lock`` while using it."""
        return self._write

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    # -- background thread -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="burr-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for follower in self._followers:
            follower.close()
        with self.changed:
            self.changed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.update()
                self.last_error = None
            except Exception as e:  # keep serving what we have; report it on /ready
                logger.exception("index update failed")
                self.last_error = f"{type(e).__name__}: {e}"
            self.ready.set()
            self._stop.wait(self.poll_interval)

    # -- ingest ----------------------------------------------------------------------------------
    def update(self, full: bool | None = None) -> int:
        """One ingest pass; returns how many apps changed. Full passes stat every app's files."""
        now = time.monotonic()
        if full is None:
            # small storage dirs are swept every tick; big ones at most ~5% of the time
            every = min(self.full_sweep_every, max(self.poll_interval, 20 * self._full_cost))
            full = now - self._last_full >= every
        if full:
            self._last_full = now
            self._hot = {k: t for k, t in self._hot.items() if now - t < 60}
        changed = 0
        with self._lock:
            projects = self._projects()
            for project, pdir in projects:
                changed += self._scan_project(project, pdir, full)
            changed += self._follow_sources()
            if full:
                changed += self._forget_projects({p for p, _ in projects} | set(self.sources))
        if full and self._warm:
            self._full_cost = time.monotonic() - now
        if changed:
            with self.changed:
                self.changed.notify_all()
        self._warm = True
        return changed

    def _projects(self) -> list[tuple[str, str]]:
        out = []
        try:
            with os.scandir(self.storage_dir) as it:
                for e in it:
                    if not e.name.startswith(".") and e.is_dir() and e.name not in self.sources:
                        out.append((e.name, e.path))
        except OSError:
            return []
        return out

    def _follow_sources(self) -> int:
        changed = 0
        conn = self._write
        for follower in self._followers:
            conn.execute("BEGIN IMMEDIATE")
            try:
                events: list[tuple[str, str | None, str, str]] = []
                changed += follower.ingest(conn, events)
                self._add_events(events)
                conn.execute("COMMIT")
            except sqlite3.Error as e:  # one unreadable source must not stop the others
                conn.execute("ROLLBACK")
                logger.warning("could not read persister table %s: %s", follower.source.project, e)
        return changed

    def _add_events(self, events: list[tuple[str, str | None, str, str]]) -> None:
        if events:
            conn = self._write
            conn.executemany("INSERT INTO events(project, app_id, kind, data) VALUES (?,?,?,?)", events)
            last = conn.execute("SELECT max(id) FROM events").fetchone()[0]
            conn.execute("DELETE FROM events WHERE id <= ?", (last - MAX_EVENTS_KEPT,))

    def _scan_project(self, project: str, pdir: str, full: bool) -> int:
        try:
            st = os.stat(pdir)
        except OSError:
            return 0
        list_dir = full or self._project_mtimes.get(project) != st.st_mtime
        now = time.monotonic()
        hot = [app_id for (proj, app_id), t in self._hot.items() if proj == project and now - t < 60]
        if not list_dir and not hot:
            return 0  # nothing new in this project and nothing live: no query, no stat
        listing: list[tuple[str, str]] | None = None
        if list_dir:
            listing = []
            try:
                with os.scandir(pdir) as it:
                    for e in it:
                        if not e.name.startswith(".") and e.is_dir():
                            listing.append((e.name, e.path))
            except OSError:
                return 0
            self._project_mtimes[project] = st.st_mtime
        conn = self._write
        # IMMEDIATE: offsets are read and advanced in one write transaction, so two servers sharing
        # an index never index the same bytes twice
        conn.execute("BEGIN IMMEDIATE")
        try:
            changed = self._scan_locked(project, pdir, st.st_ctime, full, listing, hot)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return changed

    def _scan_locked(
        self,
        project: str,
        pdir: str,
        ctime: float,
        full: bool,
        listing: list[tuple[str, str]] | None,
        hot: list[str],
    ) -> int:
        conn = self._write
        cols = (
            "SELECT id, app_id, log_size, children_size, graph IS NOT NULL AS has_graph, has_meta FROM apps"
        )
        conn.execute("INSERT OR IGNORE INTO projects VALUES (?, ?)", (project, ctime))
        candidates: list[tuple[str, str]] = []
        if listing is not None:
            candidates = listing
            known = {r["app_id"]: r for r in conn.execute(f"{cols} WHERE project=?", (project,))}
            if not full:  # only the new directories, plus the live apps below
                candidates = [c for c in candidates if c[0] not in known]
        else:
            marks = ",".join("?" * len(hot))
            known = {
                r["app_id"]: r
                for r in conn.execute(f"{cols} WHERE project=? AND app_id IN ({marks})", [project, *hot])
            }
        if not full:
            listed = {c[0] for c in candidates}
            candidates += [(a, os.path.join(pdir, a)) for a in hot if a not in listed]
        elif len(candidates) < len(known):
            self._forget(project, set(known) - {c[0] for c in candidates})
        changed = 0
        events: list[tuple[str, str | None, str, str]] = []
        for app_id, adir in candidates:
            conn.execute("SAVEPOINT app")
            try:
                if self._ingest_app(project, app_id, adir, known.get(app_id), events):
                    changed += 1
                conn.execute("RELEASE app")
            except (OSError, sqlite3.InterfaceError, sqlite3.ProgrammingError, TypeError, ValueError) as e:
                # one unreadable app must not stop the others; its partial writes are undone
                conn.execute("ROLLBACK TO app")
                conn.execute("RELEASE app")
                logger.warning("could not index %s/%s: %s", project, app_id, e)
        self._add_events(events)
        return changed

    def _ingest_app(
        self,
        project: str,
        app_id: str,
        adir: str,
        row: sqlite3.Row | None,
        events: list[tuple[str, str | None, str, str]],
    ) -> bool:
        conn = self._write
        log_path = os.path.join(adir, "log.jsonl")
        children_path = os.path.join(adir, "children.jsonl")
        try:
            log_size = os.stat(log_path).st_size
        except OSError:
            log_size = 0
        try:
            children_size = os.stat(children_path).st_size
        except OSError:
            children_size = 0
        created = False
        if row is None:
            if not os.path.isdir(adir):
                return False
            try:
                ctime = os.stat(adir).st_ctime
            except OSError:
                return False
            cur = conn.execute(
                "INSERT INTO apps(project, app_id, dir, created, first_written, last_written) "
                "VALUES (?,?,?,?,?,?)",
                (project, app_id, adir, ctime, ctime, ctime),
            )
            app = int(cur.lastrowid or 0)
            row = conn.execute(
                "SELECT id, app_id, log_size, children_size, graph IS NOT NULL AS has_graph, has_meta "
                "FROM apps WHERE id=?",
                (app,),
            ).fetchone()
            created = True
        app = int(row["id"])
        if (
            not created
            and row["log_size"] == log_size
            and row["children_size"] == children_size
            and row["has_graph"]
            and row["has_meta"]
        ):
            return False
        if self._warm:  # apps changing after the first pass are live: look at them every tick
            self._hot[(project, app_id)] = time.monotonic()
        tick = _AppTick(changed=created)
        if not row["has_meta"] and os.path.exists(os.path.join(adir, "metadata.json")):
            self._load_metadata(app, adir)
            tick.changed = True
        if not row["has_graph"] and os.path.exists(os.path.join(adir, "graph.json")):
            try:
                graph = _reader.read_graph(adir)
            except (TypeError, ValueError, AttributeError) as e:
                graph = None
                self._warn(
                    app, None, f"graph.json unreadable ({type(e).__name__}: {e}); the graph is not shown"
                )
            if graph and graph.get("actions"):
                conn.execute("UPDATE apps SET graph=? WHERE id=?", (json.dumps(graph), app))
                tick.changed = True
        if log_size != row["log_size"]:
            self._tail_log(app, log_path, log_size, tick)
        if children_size != row["children_size"]:
            self._tail_children(app, children_path, children_size)
            tick.changed = True
        if not tick.changed and not tick.steps:
            return False
        summary = conn.execute(
            "SELECT project, app_id, partition_key, num_steps, last_seq, last_action, status, "
            "last_written, spawn_app_id, parent_app_id FROM apps WHERE id=?",
            (app,),
        ).fetchone()
        data = dict(summary)
        data["created"] = created
        if len(tick.steps) > MAX_STEP_EVENTS_PER_TICK:
            data["bulk"] = True
        events.append((project, app_id, "app", json.dumps(data)))
        if len(tick.steps) <= MAX_STEP_EVENTS_PER_TICK:
            for step in tick.steps.values():
                step["app_id"] = app_id
                step["project"] = project
                events.append((project, app_id, "step", json.dumps(step)))
        return True

    def _forget_projects(self, present: set[str]) -> int:
        conn = self._write
        gone = [r[0] for r in conn.execute("SELECT name FROM projects") if r[0] not in present]
        for project in gone:
            conn.execute("BEGIN")
            ids = {r[0] for r in conn.execute("SELECT app_id FROM apps WHERE project=?", (project,))}
            self._forget(project, ids)
            conn.execute("DELETE FROM projects WHERE name=?", (project,))
            self._project_mtimes.pop(project, None)
            conn.execute("COMMIT")
        return len(gone)

    def _forget(self, project: str, app_ids: set[str]) -> None:
        """Drop apps whose directories were deleted (annotations stay: they are user data)."""
        conn = self._write
        for app_id in app_ids:
            row = conn.execute(
                "SELECT id FROM apps WHERE project=? AND app_id=?", (project, app_id)
            ).fetchone()
            if row is None:
                continue
            for table in ("steps", "edges", "warnings", "children"):
                conn.execute(f"DELETE FROM {table} WHERE app=?", (row[0],))
            conn.execute("DELETE FROM apps WHERE id=?", (row[0],))
            conn.execute(
                "INSERT INTO events(project, app_id, kind, data) VALUES (?,?,?,?)",
                (project, app_id, "app", json.dumps({"project": project, "app_id": app_id, "deleted": True})),
            )

    def _load_metadata(self, app: int, adir: str) -> None:
        meta = _reader.read_metadata(adir)
        parent = _pointer_fields(meta.get("parent_pointer"))
        spawn = _pointer_fields(meta.get("spawning_parent_pointer"))
        created = to_epoch(meta.get("created_at"))
        fmt = meta.get("burr_format")
        self._write.execute(
            "UPDATE apps SET has_meta=1, partition_key=?, fmt=?, parent_app_id=?, parent_seq=?, "
            "parent_pk=?, spawn_app_id=?, spawn_seq=?, spawn_pk=?, created=coalesce(?, created) "
            "WHERE id=?",
            (
                _text(meta.get("partition_key")),
                fmt if isinstance(fmt, int) else 1,
                parent.get("app_id"),
                parent.get("sequence_id"),
                parent.get("partition_key"),
                spawn.get("app_id"),
                spawn.get("sequence_id"),
                spawn.get("partition_key"),
                created,
                app,
            ),
        )

    def _read_new(self, path: str, offset: int, size: int) -> tuple[bytes, int]:
        end = min(size, offset + MAX_READ_PER_TICK)
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(end - offset)
        cut = data.rfind(b"\n")
        return data, (cut + 1 if cut >= 0 else 0)

    def _warn(self, app: int, offset: int | None, message: str) -> None:
        conn = self._write
        n = conn.execute("SELECT num_warnings FROM apps WHERE id=?", (app,)).fetchone()[0]
        if n < MAX_WARNINGS_PER_APP:
            conn.execute(
                "INSERT INTO warnings(app, offset, message, time) VALUES (?,?,?,?)",
                (app, offset, message, time.time()),
            )
        conn.execute("UPDATE apps SET num_warnings=num_warnings+1 WHERE id=?", (app,))

    def _reset_app(self, app: int) -> None:
        conn = self._write
        for table in ("steps", "edges", "warnings", "children"):
            conn.execute(f"DELETE FROM {table} WHERE app=?", (app,))
        conn.execute(
            "UPDATE apps SET log_offset=0, log_size=0, children_offset=0, children_size=0, num_steps=0, "
            "last_seq=NULL, last_action=NULL, status='empty', num_warnings=0, num_children=0 WHERE id=?",
            (app,),
        )

    def _tail_log(self, app: int, path: str, size: int, tick: _AppTick) -> None:
        conn = self._write
        st = conn.execute(
            "SELECT log_offset, last_action, first_written, last_written, num_steps, created "
            "FROM apps WHERE id=?",
            (app,),
        ).fetchone()
        offset = int(st["log_offset"])
        if size < offset:  # rewritten or truncated: start over
            self._reset_app(app)
            offset = 0
            st = conn.execute(
                "SELECT log_offset, last_action, first_written, last_written, num_steps, created "
                "FROM apps WHERE id=?",
                (app,),
            ).fetchone()
        try:
            data, consumed = self._read_new(path, offset, size)
        except OSError:
            return
        cur = _Cursor(
            tick=tick,
            last_action=st["last_action"],
            first_written=st["first_written"] if st["num_steps"] else None,
            # before the first step, last_written is the directory's ctime: replace it with event times
            last_written=st["last_written"] if st["num_steps"] else 0.0,
        )
        for off, line in split_lines(data[:consumed], offset):
            rec, warning = parse_line(line)
            if warning:
                self._warn(app, off, warning)
            if rec is None:
                continue
            try:
                t = self._apply(app, off, rec, cur)
            except (
                sqlite3.InterfaceError,
                sqlite3.ProgrammingError,
                TypeError,
                ValueError,
                OverflowError,
            ) as e:
                self._warn(app, off, f"record skipped ({type(e).__name__}: {e})")
                continue
            if t is not None:
                if cur.first_written is None or t < cur.first_written:
                    cur.first_written = t
                if t > cur.last_written:
                    cur.last_written = t
        pending = len(data) - consumed
        conn.execute(
            "UPDATE apps SET log_offset=?, log_size=?, pending_bytes=?, first_written=coalesce(?, first_written), "
            "last_written=? WHERE id=?",
            # log_size=-1 when more than one tick's worth is waiting, so the next tick looks again
            (
                offset + consumed,
                size if offset + len(data) >= size else -1,
                pending,
                cur.first_written,
                cur.last_written or st["created"],
                app,
            ),
        )

    def _apply(self, app: int, off: int, rec: dict[str, Any], cur: _Cursor) -> float | None:
        """Index one log record; returns its timestamp (epoch seconds) if it has one."""
        conn = self._write
        kind = rec.get("type")
        t = None
        if kind == "begin_entry":
            seq = rec.get("sequence_id")
            action = str(rec.get("action"))
            if not isinstance(seq, int):
                self._warn(app, off, "begin_entry without an integer sequence_id; skipped")
                return None
            t = to_epoch(rec.get("start_time"))
            existed = conn.execute("SELECT 1 FROM steps WHERE app=? AND seq=?", (app, seq)).fetchone()
            attempt = rec.get("attempt")
            if existed and isinstance(attempt, int) and attempt > 1:
                # a retry of the same step: one row, the time span and records of all attempts
                conn.execute(
                    "UPDATE steps SET attempts=?, status='running', end=NULL WHERE app=? AND seq=?",
                    (attempt, app, seq),
                )
                conn.execute("UPDATE apps SET status='running' WHERE id=? AND last_seq=?", (app, seq))
                cur.tick.steps[seq] = {"seq": seq, "action": action, "status": "running", "attempt": attempt}
                return t
            conn.execute(
                "INSERT OR REPLACE INTO steps(app, seq, action, start, status, begin_off) "
                "VALUES (?,?,?,?,'running',?)",
                (app, seq, action, t, off),
            )
            if not existed:
                conn.execute("UPDATE apps SET num_steps=num_steps+1 WHERE id=?", (app,))
            conn.execute(
                "INSERT INTO edges VALUES (?,?,?,1) ON CONFLICT(app, src, dst) DO UPDATE SET count=count+1",
                (app, cur.last_action or "", action),
            )
            cur.last_action = action
            conn.execute(
                "UPDATE apps SET last_seq=?, last_action=?, status='running' WHERE id=?",
                (seq, action, app),
            )
            cur.tick.steps[seq] = {"seq": seq, "action": action, "status": "running", "start": t}
        elif kind == "end_entry":
            seq = rec.get("sequence_id")
            t = to_epoch(rec.get("end_time"))
            exc = rec.get("exception")
            status = "failed" if exc else "completed"
            error = _error_summary(exc) if exc else None
            snapshot = 1 if rec.get("state") is not None else 0
            if not isinstance(seq, int):
                self._warn(app, off, "end_entry without an integer sequence_id; skipped")
                return None
            res = conn.execute(
                "UPDATE steps SET end=?, status=?, error=?, end_off=?, snapshot=? WHERE app=? AND seq=?",
                (t, status, error, off, snapshot, app, seq),
            )
            if res.rowcount == 0:
                self._warn(app, off, f"end_entry for sequence id {seq} without its begin_entry")
                return None
            conn.execute("UPDATE apps SET status=? WHERE id=? AND last_seq=?", (status, app, seq))
            step = cur.tick.steps.setdefault(seq, {"seq": seq, "action": rec.get("action")})
            step.update(status=status, end=t, error=error)
        elif kind == "begin_span":
            conn.execute(
                "UPDATE steps SET n_spans=n_spans+1 WHERE app=? AND seq=?",
                (app, rec.get("action_sequence_id")),
            )
            t = to_epoch(rec.get("start_time"))
        elif kind == "attribute":
            conn.execute(
                "UPDATE steps SET n_attrs=n_attrs+1 WHERE app=? AND seq=?",
                (app, rec.get("action_sequence_id")),
            )
        elif kind == "begin_stream":
            conn.execute(
                "UPDATE steps SET stream_start=? WHERE app=? AND seq=?",
                (to_epoch(rec.get("stream_init_time")), app, rec.get("action_sequence_id")),
            )
        elif kind == "first_item_stream":
            conn.execute(
                "UPDATE steps SET stream_first=? WHERE app=? AND seq=?",
                (to_epoch(rec.get("first_item_time")), app, rec.get("action_sequence_id")),
            )
        elif kind == "end_stream":
            conn.execute(
                "UPDATE steps SET stream_end=?, stream_items=? WHERE app=? AND seq=?",
                (
                    to_epoch(rec.get("end_time")),
                    rec.get("items_streamed") if isinstance(rec.get("items_streamed"), int) else None,
                    app,
                    rec.get("action_sequence_id"),
                ),
            )
        elif kind in ("end_span",):
            t = to_epoch(rec.get("end_time"))
        return t

    def _tail_children(self, app: int, path: str, size: int) -> None:
        conn = self._write
        offset = int(conn.execute("SELECT children_offset FROM apps WHERE id=?", (app,)).fetchone()[0])
        if size < offset:
            conn.execute("DELETE FROM children WHERE app=?", (app,))
            conn.execute("UPDATE apps SET num_children=0 WHERE id=?", (app,))
            offset = 0
        try:
            data, consumed = self._read_new(path, offset, size)
        except OSError:
            return
        n = 0
        for _off, line in split_lines(data[:consumed], offset):
            rec, warning = parse_line(line)
            if warning:
                self._warn(app, None, f"children.jsonl: {warning}")
            if rec is None or not isinstance(rec.get("child"), dict):
                continue
            child = rec["child"]
            conn.execute(
                "INSERT INTO children VALUES (?,?,?,?,?,?)",
                (
                    app,
                    str(child.get("app_id")),
                    child.get("partition_key"),
                    rec.get("event_type"),
                    rec.get("sequence_id"),
                    to_epoch(rec.get("event_time")),
                ),
            )
            n += 1
        conn.execute(
            "UPDATE apps SET children_offset=?, children_size=?, num_children=num_children+? WHERE id=?",
            (offset + consumed, size if offset + len(data) >= size else -1, n, app),
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _pointer_fields(pointer: Any) -> dict[str, Any]:
    """A parent pointer with only well-typed fields (metadata written by anyone is untrusted)."""
    if not isinstance(pointer, dict) or pointer.get("app_id") is None:
        return {}
    seq = pointer.get("sequence_id")
    return {
        "app_id": str(pointer["app_id"]),
        "sequence_id": seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        "partition_key": _text(pointer.get("partition_key")),
    }


def _error_summary(exc: str) -> str:
    """The last non-empty line of a traceback: ``ValueError: ...``."""
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else str(exc))[:300]
