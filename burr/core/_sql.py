"""SQL shared by the SQLite, PostgreSQL and MySQL persisters (one table layout, three dialects)."""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

_STEP_COLUMNS = "sequence_id, position, status, created_at, snapshot_sequence_id"
# a step's stored fields, in the order loads read them (Redis reads its hash fields in this order too)
TARGET_FIELDS = (
    "sequence_id",
    "position",
    "status",
    "state",
    "created_at",
    "format_version",
    "snapshot_sequence_id",
)
_TARGET_COLUMNS = ", ".join(TARGET_FIELDS)
_TARGET_META = "sequence_id, position, status, created_at, snapshot_sequence_id"
_CHAIN_COLUMNS = "sequence_id, state, format_version, snapshot_sequence_id, position"


@dataclasses.dataclass(frozen=True)
class StepInfo:
    """One stored step, as ``list_steps`` returns it."""

    sequence_id: int
    position: str
    status: str
    created_at: str
    is_snapshot: bool  # a full state row (ours or Apache Burr's) rather than a delta
    snapshot_sequence_id: int | None  # for a delta: the snapshot its chain starts at

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> StepInfo:
        seq, position, status, created_at, snap = row
        return cls(int(seq), position, status, created_text(created_at), snap is None, snap)


def created_text(value: Any) -> str:
    """A ``created_at`` column value as text (drivers return datetimes or strings)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def locked(fn: Any) -> Any:
    """Run the method holding ``self._conn_lock``: a driver connection is not safe to share between
    threads (the write_behind thread saves while the application thread may load)."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._conn_lock:
            return fn(self, *args, **kwargs)

    return wrapper


def check_keep_last(keep_last: int) -> None:
    if keep_last < 1:
        raise ValueError(
            f"prune(keep_last={keep_last}) must keep at least one step; use delete_app to remove all."
        )


def missing_columns(sql: Statements, present: set[str]) -> list[str]:
    """The DDL adding our nullable columns that ``present`` (the table's columns) lacks."""
    return [ddl for c, ddl in sql.added_columns if c not in present]


@dataclasses.dataclass(frozen=True)
class PrunePlan:
    cut: int  # oldest kept sequence id
    snap: int  # the snapshot its chain starts at
    rewrite: bool  # the cut row is a delta and must become a snapshot


def prune_plan(steps: list[StepInfo], keep_last: int) -> PrunePlan | None:
    if len(steps) <= keep_last:
        return None
    first_kept = steps[-keep_last]
    if first_kept.is_snapshot:
        return PrunePlan(first_kept.sequence_id, first_kept.sequence_id, False)
    assert first_kept.snapshot_sequence_id is not None
    return PrunePlan(first_kept.sequence_id, first_kept.snapshot_sequence_id, True)


def _chain_query(table: str, p: str, state_select: str, where: str) -> str:
    """Rows from the target's snapshot up to the target (ascending); params: pk, app[, seq], pk, app."""
    cols = ", ".join(f"t.{state_select if c == 'state' else c}" for c in TARGET_FIELDS)
    return (
        f"SELECT {cols} FROM {table} t JOIN (SELECT sequence_id AS seq, "
        f"COALESCE(snapshot_sequence_id, sequence_id) AS start FROM {table} "
        f"WHERE partition_key = {p} AND app_id = {p}{where} ORDER BY sequence_id DESC LIMIT 1) h "
        f"ON t.sequence_id BETWEEN h.start AND h.seq WHERE t.partition_key = {p} AND t.app_id = {p} "
        "ORDER BY t.sequence_id"
    )


def _odd(v: int, seq: str, fmt: str, snap: str, start: str, target_snap: str) -> str:
    """1 for a row that does not belong to a plain chain starting at ``start`` (0 otherwise)."""
    return (
        f"CASE WHEN ({seq} = {start} AND {snap} IS NULL AND ({fmt} IS NULL OR {fmt} <= {v})) OR "
        f"({snap} = {target_snap} AND {fmt} = {v}) THEN 0 ELSE 1 END"
    )


def _bulk_query(table: str, p: str, d: SQLDialect, where: str) -> str:
    """The target step and its whole chain in one row: seq, position, status, created_at, count,
    odd, first, snapshot length, payloads (params: pk, app[, seq], pk, app).

    The chain's payloads come back as one JSON array text (snapshot first, target last), built by the
    database's string aggregate, so a long delta chain costs one fetch and one ``json.loads``. ``odd``
    counts rows that are not a plain chain (a newer format, a delta of another snapshot ...): the
    caller then decodes row by row, which names the culprit.
    """
    from burr.core._checkpoint import FORMAT_VERSION as v

    start = "COALESCE(h.snap, h.seq)"
    odd = _odd(v, "t.sequence_id", "t.format_version", "t.snapshot_sequence_id", start, "h.snap")
    snap_len = f"CASE WHEN t.sequence_id = {start} THEN {d.length_fn}({d.state_text('t.state')}) END"
    target = (
        "SELECT sequence_id AS seq, position AS pos, status AS st, created_at AS ca, "
        f"format_version AS fmt, snapshot_sequence_id AS snap FROM {table} "
        f"WHERE partition_key = {p} AND app_id = {p}{where} ORDER BY sequence_id DESC"
        + (", created_at DESC" if where else "")
        + " LIMIT 1"
    )
    inner = (
        f"SELECT h.*, t.sequence_id AS s, {odd} AS odd, {snap_len} AS snap_len, t.state AS state "
        f"FROM ({target}) h JOIN {table} t ON t.partition_key = {p} AND t.app_id = {p} "
        f"AND t.sequence_id BETWEEN {start} AND h.seq"
    )
    if d.agg is None:
        return ""
    agg = d.agg.format(state=d.state_text("state"), order=" ORDER BY s")
    heads = "MAX(h.seq), MAX(h.pos), MAX(h.st), MAX(h.ca), COUNT(*), SUM(odd), MIN(s), MAX(snap_len)"
    return f"SELECT {heads}, {agg} FROM ({inner}) h"


def _chain_rows_flagged(table: str, p: str, d: SQLDialect) -> str:
    """The payloads of a chain, ascending, each with a flag: 1 the snapshot it starts at, 0 a delta
    of that snapshot (both in a format we read), 2 anything else (see ``chain_is_plain``).
    Params: start, start, pk, app, start, seq (``start``: the chain's snapshot, or the target
    when it is one).
    """
    from burr.core._checkpoint import FORMAT_VERSION as v

    flag = (
        f"CASE WHEN snapshot_sequence_id = {p} AND format_version = {v} THEN 0 "
        f"WHEN sequence_id = {p} AND snapshot_sequence_id IS NULL AND "
        f"(format_version IS NULL OR format_version <= {v}) THEN 1 ELSE 2 END"
    )
    return (
        f"SELECT {d.state_select}, {flag} FROM {table} WHERE partition_key = {p} AND app_id = {p} "
        f"AND sequence_id BETWEEN {p} AND {p} ORDER BY sequence_id"
    )


def chain_is_plain(rows: list[tuple[Any, ...]]) -> bool:
    """Do the ``chain_rows_flagged`` rows form a snapshot followed by its deltas?"""
    return bool(rows) and rows[0][1] == 1 and not any([r[1] for r in rows[1:]])


def chain_params(legacy: bool, pk: str, app_id: str, seq: int | None) -> tuple[Any, ...]:
    key = (pk, app_id) if seq is None else (pk, app_id, seq)
    return key if legacy else key + (pk, app_id)


def chain_rows(rows: list[tuple[Any, ...]]) -> list[Any]:
    """``StoredRow``s for the rows of a chain query (the last one is the target)."""
    from burr.core._checkpoint import StoredRow

    return [StoredRow(r[0], r[3], r[5], r[6], r[1]) for r in rows]


@dataclasses.dataclass
class Statements:
    create_table: str
    create_index: str
    added_columns: list[tuple[str, str]]
    insert_cas: str
    insert: str
    head: str
    latest_app: str
    load_latest: str
    load_exact: str
    load_chain: str
    chain_latest: str  # the latest step and the chain it needs, ascending, in one query
    chain_exact: str
    bulk_latest: str  # the latest step and its chain as one JSON array (see _bulk_query)
    bulk_exact: str
    chain_flagged: str  # the payloads of a chain with their shape (see _chain_rows_flagged)
    target_latest: str  # the fields of a step, without its payload
    target_exact: str
    list_apps: str
    list_steps: str
    delete_app: str
    make_snapshot: str
    rebase_chain: str
    delete_before: str
    legacy: Any = None  # the read statements for a table without our two columns


@dataclasses.dataclass(frozen=True)
class SQLDialect:
    placeholder: str
    state_type: str
    text_key_type: str
    int_type: str = "INTEGER"
    timestamp: str = "TIMESTAMP DEFAULT CURRENT_TIMESTAMP"
    state_param: str = "{p}"  # how the state parameter is written (PostgreSQL casts to JSONB)
    state_select: str = "state"  # how the state column is read (PostgreSQL reads JSONB as text)
    value_casts: tuple[str, ...] = ("",) * 8  # PostgreSQL needs the INSERT ... SELECT parameters typed
    select_from: str = ""  # MySQL wants "SELECT ... FROM DUAL WHERE ..."
    extra_ddl: tuple[str, ...] = ()  # more statements run by initialize ({table}, {index} filled in)
    # the string aggregate building "[payload,payload,...]" in order ({order}: " ORDER BY s");
    # None: it takes no ORDER BY (SQLite before 3.44), so loads join the ordered rows themselves
    agg: str | None = None
    length_fn: str = "LENGTH"  # characters of a text value

    def state_text(self, column: str) -> str:
        return self.state_select.replace("state", column)

    def check_table_name(self, table_name: str) -> None:
        if not isinstance(table_name, str) or not _TABLE_NAME.match(table_name):
            raise ValueError(
                f"Table name {table_name!r} is not a valid SQL identifier: use letters, digits and "
                "underscores (optionally 'schema.table')."
            )

    def statements(self, table: str) -> Statements:
        p = self.placeholder
        sp = self.state_param.format(p=p)
        index = table.replace(".", "_") + "_created_at_index"
        key = f"partition_key = {p} AND app_id = {p}"
        cols = "partition_key, app_id, sequence_id, position, status, state, format_version, snapshot_sequence_id"
        values = (
            ", ".join(f"{p}{c}" for c in self.value_casts[:5])
            + f", {sp}, "
            + ", ".join(f"{p}{c}" for c in self.value_casts[6:])
        )
        st = Statements(
            create_table=(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                f"partition_key {self.text_key_type} DEFAULT '', "
                f"app_id {self.text_key_type} NOT NULL, "
                f"sequence_id {self.int_type} NOT NULL, "
                f"position {self.text_key_type} NOT NULL, "
                "status VARCHAR(64) NOT NULL, "
                f"state {self.state_type} NOT NULL, "
                f"created_at {self.timestamp}, "
                f"format_version {self.int_type} NULL, "
                f"snapshot_sequence_id {self.int_type} NULL, "
                "PRIMARY KEY (partition_key, app_id, sequence_id, position))"
            ),
            create_index=f"CREATE INDEX IF NOT EXISTS {index} ON {table} (created_at)",
            # (MariaDB and SQLite accept IF NOT EXISTS on indexes; PostgreSQL too)
            added_columns=[
                ("format_version", f"ALTER TABLE {table} ADD COLUMN format_version {self.int_type} NULL"),
                (
                    "snapshot_sequence_id",
                    f"ALTER TABLE {table} ADD COLUMN snapshot_sequence_id {self.int_type} NULL",
                ),
            ],
            insert_cas=(
                f"INSERT INTO {table} ({cols}) SELECT {values}{self.select_from} WHERE "
                f"(SELECT COALESCE(MAX(sequence_id), -1) FROM {table} WHERE {key}) BETWEEN {p} AND {p}"
            ),
            insert=f"INSERT INTO {table} ({cols}) VALUES ({values})",
            head=f"SELECT MAX(sequence_id) FROM {table} WHERE {key}",
            latest_app=f"SELECT app_id FROM {table} WHERE partition_key = {p} ORDER BY created_at DESC, sequence_id DESC LIMIT 1",
            load_latest=f"SELECT {_TARGET_COLUMNS} FROM {table} WHERE {key} ORDER BY sequence_id DESC LIMIT 1",
            load_exact=(
                f"SELECT {_TARGET_COLUMNS} FROM {table} WHERE {key} AND sequence_id = {p} "
                "ORDER BY created_at DESC LIMIT 1"
            ),
            load_chain=(
                f"SELECT {_CHAIN_COLUMNS} FROM {table} WHERE {key} AND sequence_id >= {p} AND sequence_id < {p} "
                "ORDER BY sequence_id"
            ),
            chain_latest=_chain_query(table, p, self.state_select, ""),
            chain_exact=_chain_query(table, p, self.state_select, f" AND sequence_id = {p}"),
            bulk_latest=_bulk_query(table, p, self, ""),
            bulk_exact=_bulk_query(table, p, self, f" AND sequence_id = {p}"),
            chain_flagged=_chain_rows_flagged(table, p, self),
            target_latest=f"SELECT {_TARGET_META} FROM {table} WHERE {key} ORDER BY sequence_id DESC LIMIT 1",
            target_exact=(
                f"SELECT {_TARGET_META} FROM {table} WHERE {key} AND sequence_id = {p} "
                "ORDER BY created_at DESC LIMIT 1"
            ),
            list_apps=(
                f"SELECT app_id FROM {table} WHERE partition_key = {p} GROUP BY app_id ORDER BY MAX(created_at) DESC"
            ),
            list_steps=f"SELECT {_STEP_COLUMNS} FROM {table} WHERE {key} ORDER BY sequence_id",
            delete_app=f"DELETE FROM {table} WHERE {key}",
            make_snapshot=(
                f"UPDATE {table} SET state = {sp}, snapshot_sequence_id = NULL WHERE {key} AND sequence_id = {p}"
            ),
            rebase_chain=(
                f"UPDATE {table} SET snapshot_sequence_id = {p} WHERE {key} AND snapshot_sequence_id = {p} "
                f"AND sequence_id > {p}"
            ),
            delete_before=f"DELETE FROM {table} WHERE {key} AND sequence_id < {p}",
        )
        if self.state_select != "state":
            for f in ("load_latest", "load_exact", "load_chain"):
                sql = getattr(st, f)
                head, _, rest = sql.partition(" FROM ")
                setattr(st, f, head.replace(" state,", f" {self.state_select},") + " FROM " + rest)
        st.legacy = dataclasses.replace(
            st,
            chain_latest=st.load_latest.replace("format_version, snapshot_sequence_id", "NULL, NULL"),
            chain_exact=st.load_exact.replace("format_version, snapshot_sequence_id", "NULL, NULL"),
            load_latest=st.load_latest.replace("format_version, snapshot_sequence_id", "NULL, NULL"),
            load_exact=st.load_exact.replace("format_version, snapshot_sequence_id", "NULL, NULL"),
            load_chain=st.load_chain.replace("format_version, snapshot_sequence_id", "NULL, NULL"),
            list_steps=st.list_steps.replace(
                _STEP_COLUMNS, "sequence_id, position, status, created_at, NULL"
            ),
        )
        return st


# Bound the WAL while an app runs (SQLite's defaults let it reach ~4 MB): checkpoint every 64
# pages (256 KiB with 4 KiB pages) and truncate the file back to 128 KiB after a checkpoint.
# See docs/persistence.md for the trade-off (a checkpoint copies pages into the database file).
DEFAULT_WAL_AUTOCHECKPOINT = 64
DEFAULT_JOURNAL_SIZE_LIMIT = 128 * 1024
# Memory-mapped reads are opt-in (mmap_size=64 * 1024 * 1024 saves ~0.2 ms on a 0.4 MB resume):
# with them, a disk I/O error while reading kills the process with SIGBUS instead of raising a
# clear exception, and storage failures must surface as errors the app can handle.
DEFAULT_MMAP_SIZE = 0

SQLITE_DIALECT = SQLDialect(placeholder="?", state_type="TEXT", text_key_type="TEXT")
SQLITE_TABLE_EXISTS_SQL = "SELECT name FROM sqlite_master WHERE type='table' AND name=?"
