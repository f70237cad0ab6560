"""``SQLitePersister``: the embedded default persister (stdlib ``sqlite3``).

Same table as Apache Burr's (so its files load), plus two nullable columns added on first use
(see ``burr.core._checkpoint``). Connections we open use WAL and ``synchronous=NORMAL``: a commit
is durable against a process crash at once and against power loss after the next checkpoint (see
docs/persistence.md; pass ``synchronous="FULL"`` for per-commit power-loss durability). They also
bound the WAL file (``wal_autocheckpoint``/``journal_size_limit``) and read through a memory map.
Loads fetch a step's delta chain in one query and parse it with one ``json.loads``.
"""

from __future__ import annotations

import logging
import pathlib
import sqlite3
import threading
from typing import Any, Literal, Union

from burr.core import persistence
from burr.core._checkpoint import (
    DEFAULT_SNAPSHOT_EVERY,
    DEFAULT_SNAPSHOT_RATIO,
    FORMAT_VERSION,
    Checkpointer,
    Head,
    Row,
    StoredRow,
    conflict_message,
    join_chain,
    rebuild_snapshot,
)
from burr.core._sql import (
    DEFAULT_JOURNAL_SIZE_LIMIT,
    DEFAULT_MMAP_SIZE,
    DEFAULT_WAL_AUTOCHECKPOINT,
    SQLITE_DIALECT,
    SQLITE_TABLE_EXISTS_SQL,
    StepInfo,
    chain_is_plain,
    check_keep_last,
    locked,
    missing_columns,
    prune_plan,
)
from burr.core.state import State

logger = logging.getLogger(__name__)

_REFUSED = object()  # the bulk load declined a chain: decode it row by row


_DIALECT = SQLITE_DIALECT


class SQLiteStateConflictError(persistence.StateConflictError, sqlite3.IntegrityError):
    """A conflict on SQLite (also an ``sqlite3.IntegrityError``, which Apache Burr raised for a duplicate step)."""


class SQLitePersister(persistence.BaseStatePersister):
    """Persists steps to a SQLite table (default ``burr_state``) as delta checkpoints.

    :param db_path: file path (or ``":memory:"``); ignored when ``connection`` is given.
    :param table_name: table to use; Apache Burr's tables load as they are.
    :param serde_kwargs: passed to every (de)serializer.
    :param connect_kwargs: passed to ``sqlite3.connect``.
    :param connection: an open connection to use instead of opening one.
    :param journal_mode / synchronous: PRAGMAs for connections we open (default ``WAL`` /
        ``NORMAL``); applied to a ``connection`` you pass only when given explicitly.
    :param snapshot_every: at most this many deltas between full snapshots (bounds load cost).
    :param snapshot_ratio: store a snapshot once the deltas since the last one exceed this
        multiple of its size (bounds storage at about ``1 + (1 + r) / r`` times the state).
    :param wal_autocheckpoint / journal_size_limit: PRAGMAs bounding the ``-wal`` file (default
        64 pages / 128 KiB for connections we open; applied to a ``connection`` you pass only when
        given). Larger values checkpoint less often (slightly faster saves on disk) but let the WAL
        grow; ``-1`` for ``journal_size_limit`` never truncates it (see docs/persistence.md).
    :param mmap_size: ``PRAGMA mmap_size`` (default 64 MiB for connections we open, ``0`` = off):
        faster loads from a fresh connection; a disk read error then raises SIGBUS.
    """

    PARTITION_KEY_DEFAULT = ""

    def __init__(
        self,
        db_path: Union[str, pathlib.Path],
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        connection: sqlite3.Connection | None = None,
        journal_mode: str | None = None,
        synchronous: str | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
        wal_autocheckpoint: int | None = None,
        journal_size_limit: int | None = None,
        mmap_size: int | None = None,
    ) -> None:
        _DIALECT.check_table_name(table_name)
        for name, value in (
            ("wal_autocheckpoint", wal_autocheckpoint),
            ("journal_size_limit", journal_size_limit),
            ("mmap_size", mmap_size),
        ):
            if value is not None and (type(value) is not int or value < -1):
                raise ValueError(
                    f"SQLite {name}={value!r} is not valid; pass a whole number (or None for the default)."
                )
        self.wal_autocheckpoint = wal_autocheckpoint
        self.journal_size_limit = journal_size_limit
        self.mmap_size = mmap_size
        self.db_path = db_path
        self.table_name = table_name
        self.connect_kwargs = connect_kwargs
        self.journal_mode = journal_mode
        self.synchronous = synchronous
        self._checkpoints = Checkpointer(serde_kwargs, snapshot_every, snapshot_ratio)
        self._owns_connection = connection is None
        self.connection = connection if connection is not None else self._connect()
        if connection is not None and (journal_mode or synchronous):
            self._apply_pragmas(journal_mode, synchronous)
        if connection is not None:
            self._apply_wal_limits(connection, wal_autocheckpoint, journal_size_limit, mmap_size)
        self._initialized = False
        self._columns: bool | None = None  # do our two columns exist? None: not checked yet
        self._conn_lock = threading.RLock()
        self._sql = _DIALECT.statements(table_name)

    # -- construction --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # autocommit: a single-step save is one atomic INSERT statement, no BEGIN/COMMIT round trip
        kwargs = {"check_same_thread": False, "isolation_level": None, **(self.connect_kwargs or {})}
        conn = sqlite3.connect(self.db_path, **kwargs)
        self._apply_pragmas_to(conn, self.journal_mode or "WAL", self.synchronous or "NORMAL")
        self._apply_wal_limits(
            conn,
            DEFAULT_WAL_AUTOCHECKPOINT if self.wal_autocheckpoint is None else self.wal_autocheckpoint,
            DEFAULT_JOURNAL_SIZE_LIMIT if self.journal_size_limit is None else self.journal_size_limit,
            DEFAULT_MMAP_SIZE if self.mmap_size is None else self.mmap_size,
        )
        return conn

    @staticmethod
    def _apply_wal_limits(
        conn: sqlite3.Connection,
        wal_autocheckpoint: int | None,
        journal_size_limit: int | None,
        mmap_size: int | None = None,
    ) -> None:
        # validated as ints in __init__: safe to format into the PRAGMA
        if mmap_size is not None:
            conn.execute(f"PRAGMA mmap_size={int(mmap_size)}").fetchall()
        if wal_autocheckpoint is not None:
            conn.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}").fetchall()
        if journal_size_limit is not None:
            conn.execute(f"PRAGMA journal_size_limit={int(journal_size_limit)}").fetchall()

    def _apply_pragmas(self, journal_mode: str | None, synchronous: str | None) -> None:
        self._apply_pragmas_to(self.connection, journal_mode, synchronous)

    @staticmethod
    def _apply_pragmas_to(
        conn: sqlite3.Connection, journal_mode: str | None, synchronous: str | None
    ) -> None:
        for name, value, allowed in (
            ("journal_mode", journal_mode, {"WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF"}),
            ("synchronous", synchronous, {"OFF", "NORMAL", "FULL", "EXTRA", "0", "1", "2", "3"}),
        ):
            if value is None:
                continue
            if str(value).upper() not in allowed:
                raise ValueError(f"SQLite {name}={value!r} is not valid; use one of {sorted(allowed)}.")
            conn.execute(f"PRAGMA {name}={value}").fetchall()

    @classmethod
    def from_values(
        cls,
        db_path: Union[str, pathlib.Path],
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SQLitePersister:
        """Open ``db_path`` (same arguments as the constructor)."""
        return cls(db_path, table_name, serde_kwargs, connect_kwargs, **kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SQLitePersister:
        """``from_values(**config)``."""
        return cls.from_values(**config)

    def copy(self) -> SQLitePersister:
        """A persister on the same file with its own connection (for another thread or app)."""
        return SQLitePersister(
            self.db_path,
            self.table_name,
            self._checkpoints.serde_kwargs,
            self.connect_kwargs,
            journal_mode=self.journal_mode,
            synchronous=self.synchronous,
            snapshot_every=self._checkpoints.snapshot_every,
            snapshot_ratio=self._checkpoints.snapshot_ratio,
            wal_autocheckpoint=self.wal_autocheckpoint,
            journal_size_limit=self.journal_size_limit,
            mmap_size=self.mmap_size,
        )

    def set_serde_kwargs(self, serde_kwargs: dict[str, Any]) -> None:
        self._checkpoints.serde_kwargs = dict(serde_kwargs)

    @property
    def serde_kwargs(self) -> dict[str, Any]:
        return self._checkpoints.serde_kwargs

    # -- schema --------------------------------------------------------------------------------

    def create_table_if_not_exists(self, table_name: str) -> None:
        """Create the table (Apache Burr's columns + ours) and its indexes if missing."""
        sql = _DIALECT.statements(table_name)
        with self.connection:
            self.connection.execute(sql.create_table)
            self.connection.execute(sql.create_index)
        self._ensure_columns()

    def initialize(self) -> None:
        self.create_table_if_not_exists(self.table_name)
        self._initialized = True

    def is_initialized(self) -> bool:
        if self._initialized:
            return True
        row = self.connection.execute(SQLITE_TABLE_EXISTS_SQL, (self.table_name,)).fetchone()
        self._initialized = row is not None
        return self._initialized

    def _present_columns(self) -> set[str]:
        present = {r[1] for r in self.connection.execute(f"PRAGMA table_info({self.table_name})")}
        if not present:
            self._raise_uninitialized()
        return present

    def _ensure_columns(self) -> None:
        missing = missing_columns(self._sql, self._present_columns())
        with self.connection:
            for ddl in missing:  # adding nullable columns never rewrites or drops existing rows
                self.connection.execute(ddl)
        self._columns = True

    def _has_columns(self) -> bool:
        if self._columns is None:
            self._columns = not missing_columns(self._sql, self._present_columns())
        return self._columns

    def _pk(self, partition_key: str | None) -> str:
        return self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key

    def _raise_uninitialized(self) -> None:
        raise RuntimeError(
            f"Uninitialized persister: table '{self.table_name}' does not exist in {self.db_path}. "
            "Make sure to call .initialize() on the persister before using it."
        )

    # -- save ----------------------------------------------------------------------------------

    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        """Store one step: a single compare-and-set INSERT, committed at once (autocommit)."""
        pk = self._pk(partition_key)
        with self._conn_lock:
            if not self._columns:
                self._ensure_columns()
            row, head = self._checkpoints.prepare(pk, app_id, sequence_id, position, state, status)
            conn = self.connection
            try:
                cur = conn.execute(
                    self._sql.insert_cas, row.params() + (pk, app_id, row.head_low, row.head_high)
                )
                if cur.rowcount != 1:
                    self._conflict(row)
                if conn.in_transaction:  # a connection you passed in, in sqlite3's legacy transaction mode
                    conn.commit()
            except sqlite3.IntegrityError as e:
                if conn.in_transaction:
                    conn.rollback()
                self._checkpoints.forget(pk, app_id)
                if isinstance(e, persistence.StateConflictError):
                    raise
                raise self._duplicate(pk, app_id, sequence_id, e) from e
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                self._checkpoints.forget(pk, app_id)
                raise
            self._checkpoints.commit(row, head)

    @locked
    def save_many(self, steps: list[tuple[Any, ...]]) -> None:
        """Save several steps in one transaction (used by the ``write_behind`` cadence)."""
        if not self._columns:
            self._ensure_columns()
        prepared: list[tuple[Row, Head]] = []
        conn = self.connection
        try:
            if len(steps) > 1:
                conn.execute("BEGIN IMMEDIATE")
            for pk, app_id, seq, position, state, status in steps:
                pk = self._pk(pk)
                row, head = self._checkpoints.prepare(pk, app_id, seq, position, state, status)
                cur = conn.execute(
                    self._sql.insert_cas, row.params() + (pk, app_id, row.head_low, row.head_high)
                )
                if cur.rowcount != 1:
                    self._conflict(row)
                prepared.append((row, head))
                # the next step of a batch builds on this one (undone below if the batch fails)
                self._checkpoints.commit(row, head)
            conn.commit()
        except BaseException as e:
            if conn.in_transaction:
                conn.rollback()
            for row, _ in prepared:
                self._checkpoints.forget(row.partition_key, row.app_id)
            if isinstance(e, sqlite3.IntegrityError) and not isinstance(e, persistence.StateConflictError):
                pk, app_id, seq = steps[len(prepared)][:3]
                raise self._duplicate(pk, app_id, seq, e) from e
            raise

    def _duplicate(
        self, partition_key: str | None, app_id: str, seq: int, e: sqlite3.IntegrityError
    ) -> SQLiteStateConflictError:
        """The conflict for a step whose key is already stored (Apache Burr raised the IntegrityError)."""
        return SQLiteStateConflictError(
            conflict_message(self._pk(partition_key), app_id, seq, None, None) + f" ({e})",
            partition_key=partition_key,
            app_id=app_id,
            sequence_id=seq,
        )

    def _conflict(self, row: Row) -> None:
        stored = self.connection.execute(self._sql.head, (row.partition_key, row.app_id)).fetchone()[0]
        expected = self._checkpoints.expected_head(row.partition_key, row.app_id)
        self._checkpoints.forget(row.partition_key, row.app_id)
        raise SQLiteStateConflictError(
            conflict_message(row.partition_key, row.app_id, row.sequence_id, stored, expected),
            partition_key=row.partition_key,
            app_id=row.app_id,
            sequence_id=row.sequence_id,
            stored_sequence_id=stored,
        )

    # -- load ----------------------------------------------------------------------------------

    @locked
    def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        pk = self._pk(partition_key)
        conn = self.connection
        try:
            if app_id is None:
                sql = self._sql if self._has_columns() else self._sql.legacy
                found = conn.execute(sql.latest_app, (pk,)).fetchone()
                if found is None:
                    return None
                app_id = found[0]
            if self._columns is not False:
                try:
                    loaded = self._load_bulk(pk, app_id, sequence_id)
                except sqlite3.OperationalError as e:
                    if "no such column" not in str(e):
                        raise
                    self._columns = False  # an Apache Burr table we have not written to yet
                else:
                    self._columns = True  # the query read our columns
                    if loaded is not _REFUSED:
                        return loaded  # type: ignore[no-any-return]
            return self._load_rows(pk, app_id, sequence_id, self._sql if self._columns else self._sql.legacy)
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                self._raise_uninitialized()
            raise

    def _load_bulk(self, pk: str, app_id: str, sequence_id: int | None) -> Any:
        """The step and its whole delta chain in two queries and one ``json.loads`` (a snapshot
        step: one query); ``_REFUSED`` when the rows are not a plain chain (``_load_rows`` then
        names the bad row)."""
        conn, sql = self.connection, self._sql
        if sequence_id is None:
            target = conn.execute(sql.load_latest, (pk, app_id)).fetchone()
        else:
            target = conn.execute(sql.load_exact, (pk, app_id, sequence_id)).fetchone()
        if target is None:
            return None
        seq, position, status, payload, created_at, fmt, snap = target
        state: State | None
        if snap is None:
            if fmt is not None and fmt > FORMAT_VERSION:
                return _REFUSED
            state = self._checkpoints.decode(pk, app_id, [StoredRow(seq, payload, fmt, None, position)])
        else:
            if fmt != FORMAT_VERSION:
                return _REFUSED
            rows = conn.execute(sql.chain_flagged, (snap, snap, pk, app_id, snap, seq - 1)).fetchall()
            if not chain_is_plain(rows):
                return _REFUSED
            # joined here: SQLite hands rows over faster than its group_concat builds one string
            parts = [r[0] for r in rows]
            parts.append(payload)
            state = self._checkpoints.decode_bulk(
                pk, app_id, seq, position, join_chain(parts), len(parts), snap, len(parts[0])
            )
            if state is None:
                return _REFUSED
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=seq,
            position=position,
            state=state,
            created_at=created_at,
            status=status,
        )

    def _load_rows(
        self, pk: str, app_id: str, sequence_id: int | None, sql: Any
    ) -> persistence.PersistedStateData | None:
        """Load row by row: Apache Burr's tables, and chains the bulk path refused (to name the bad row)."""
        conn = self.connection
        if sequence_id is None:
            target = conn.execute(sql.load_latest, (pk, app_id)).fetchone()
        else:
            target = conn.execute(sql.load_exact, (pk, app_id, sequence_id)).fetchone()
        if target is None:
            return None
        seq, position, status, payload, created_at, fmt, snap = target
        chain = []
        if snap is not None:
            chain = [StoredRow(*r) for r in conn.execute(sql.load_chain, (pk, app_id, snap, seq))]
        chain.append(StoredRow(seq, payload, fmt, snap, position))
        state = self._checkpoints.decode(pk, app_id, chain)
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=seq,
            position=position,
            state=state,
            created_at=created_at,
            status=status,
        )

    @locked
    def list_app_ids(self, partition_key: str | None, **kwargs: Any) -> list[str]:
        pk = self._pk(partition_key)
        return [r[0] for r in self.connection.execute(self._sql.list_apps, (pk,))]

    # -- history and retention -----------------------------------------------------------------

    @locked
    def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first (load any with ``load(pk, app_id, seq)``)."""
        pk = self._pk(partition_key)
        sql = self._sql if self._has_columns() else self._sql.legacy
        return [StepInfo.from_row(r) for r in self.connection.execute(sql.list_steps, (pk, app_id))]

    @locked
    def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of rows removed."""
        pk = self._pk(partition_key)
        with self.connection:
            n = self.connection.execute(self._sql.delete_app, (pk, app_id)).rowcount
        self._checkpoints.forget(pk, app_id)
        return n

    @locked
    def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep only the last ``keep_last`` steps of ``app_id``; returns the number of rows removed.

        The oldest kept step is rewritten as a full snapshot first (in the same transaction), so
        every kept step still loads. Forks never depend on their parent's rows.
        """
        check_keep_last(keep_last)
        pk = self._pk(partition_key)
        self._ensure_columns()
        conn = self.connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            steps = [StepInfo.from_row(r) for r in conn.execute(self._sql.list_steps, (pk, app_id))]
            plan = prune_plan(steps, keep_last)
            if plan is None:
                conn.rollback()
                return 0
            cut = plan.cut
            if plan.rewrite:
                rows = conn.execute(self._sql.load_chain, (pk, app_id, plan.snap, cut + 1))
                payload = rebuild_snapshot(pk, app_id, [StoredRow(*r) for r in rows], self.serde_kwargs)
                conn.execute(self._sql.make_snapshot, (payload, pk, app_id, cut))
                conn.execute(self._sql.rebase_chain, (cut, pk, app_id, plan.snap, cut))
            n = conn.execute(self._sql.delete_before, (pk, app_id, cut)).rowcount
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        self._checkpoints.forget(pk, app_id)
        return n

    # -- lifecycle -----------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Close the connection."""
        conn = getattr(self, "connection", None)
        if conn is not None:
            conn.close()

    def __enter__(self) -> SQLitePersister:
        return self

    def __exit__(self, *exc: Any) -> Literal[False]:
        self.cleanup()
        return False

    def __del__(self) -> None:
        if getattr(self, "_owns_connection", False):
            try:
                self.cleanup()
            except Exception:
                pass

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("connection", None)
        state.pop("_conn_lock", None)
        return state  # the Checkpointer pickles as its settings

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._owns_connection = True
        self._conn_lock = threading.RLock()
        self.connection = self._connect()
