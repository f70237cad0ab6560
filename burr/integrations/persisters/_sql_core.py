"""The delta-checkpoint logic of the client/server SQL persisters (PostgreSQL, MySQL, async SQLite).

Every operation is written once, in ``_SQLPlans``, as a sans-IO plan (see ``_plan``): it yields
the driver calls it needs (``_fetch``, ``_run``, ``_end_read`` ...) and transaction scopes.
``SyncSQLPersister`` and ``AsyncSQLPersister`` only run those plans, with blocking or awaited calls.

A backend supplies the dialect, the driver hooks (sync or async, matching its base), the queries
behind ``_table_exists``/``_columns_present``, how to serialise writers of one application
(``_write_scope``) and which driver errors mean "the server went away".
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from burr.core import persistence
from burr.core._checkpoint import (
    DEFAULT_SNAPSHOT_EVERY,
    DEFAULT_SNAPSHOT_RATIO,
    Checkpointer,
    Row,
    StoredRow,
    conflict_message,
    join_chain,
    rebuild_snapshot,
)
from burr.core._sql import (
    SQLDialect,
    Statements,
    StepInfo,
    chain_is_plain,
    chain_params,
    chain_rows,
    check_keep_last,
    created_text,
    locked,
    missing_columns,
    prune_plan,
)
from burr.core.state import State
from burr.integrations.persisters._plan import Plan, Scoped, call, run_async, run_sync, single

PK_DEFAULT = ""
_REFUSED = object()  # the bulk load declined a chain: decode it row by row


def _pk(partition_key: str | None) -> str:
    return PK_DEFAULT if partition_key is None else partition_key


def _conflict(row: Row, stored: int | None, expected: int | None) -> persistence.StateConflictError:
    return persistence.StateConflictError(
        conflict_message(row.partition_key, row.app_id, row.sequence_id, stored, expected),
        partition_key=row.partition_key,
        app_id=row.app_id,
        sequence_id=row.sequence_id,
        stored_sequence_id=stored,
    )


def _unavailable(backend: str, what: str, e: BaseException) -> persistence.StorageUnavailableError:
    return persistence.StorageUnavailableError(
        f"Lost the connection to {backend} while {what}: {e}. Nothing was saved for this step; the last "
        "committed step is intact. The persister reconnects on its next use (when it knows the "
        "connection values); reload the application with initialize_from(...) to resume from it."
    )


class _SQLPlans:
    """State, pure helpers and the plan of every operation; the same for sync and async drivers."""

    _dialect: SQLDialect
    _backend_name = "the database"
    _connection_errors: tuple[type[BaseException], ...] = ()
    PARTITION_KEY_DEFAULT = PK_DEFAULT
    table_name: str
    connection: Any
    _checkpoints: Checkpointer
    _sql: Statements
    # driver hooks, sync or async (plans call them and never await: the driver does)
    _fetch: Any
    _run: Any
    _tx: Any
    _end_read: Any

    def __init__(
        self,
        table_name: str,
        serde_kwargs: dict[str, Any] | None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
    ) -> None:
        self._dialect.check_table_name(table_name)
        self.table_name = table_name
        self._checkpoints = Checkpointer(serde_kwargs, snapshot_every, snapshot_ratio)
        self._sql = self._dialect.statements(table_name)
        self._columns: bool | None = None  # do our two columns exist? None: not checked yet
        self._initialized = False
        self._conn_lock = threading.RLock()

    def set_serde_kwargs(self, serde_kwargs: dict[str, Any]) -> None:
        self._checkpoints.serde_kwargs = dict(serde_kwargs)

    @property
    def serde_kwargs(self) -> dict[str, Any]:
        return self._checkpoints.serde_kwargs

    def _settings(self) -> tuple[str, dict[str, Any], int, float]:
        """Constructor arguments after ``connection`` (for ``copy``)."""
        cp = self._checkpoints
        return self.table_name, self.serde_kwargs, cp.snapshot_every, cp.snapshot_ratio

    def _uninitialized(self) -> RuntimeError:
        return RuntimeError(
            f"Uninitialized persister: table '{self.table_name}' does not exist. Make sure to call "
            ".initialize() on the persister before using it."
        )

    def _is_duplicate(self, e: BaseException) -> bool:
        return False

    # -- backend queries (plans) ----------------------------------------------------------------

    def _table_exists(self) -> Plan[bool]:
        raise NotImplementedError
        yield

    def _columns_present(self) -> Plan[set[str]]:
        raise NotImplementedError
        yield

    def _write_scope(self, keys: list[tuple[str, str]], plan: Plan[Any]) -> Plan[Any]:
        """Run ``plan`` in a transaction in which no other writer of these apps can run."""
        return (yield Scoped(self._tx, (), plan))

    # -- schema ---------------------------------------------------------------------------------

    def _statements(self, statements: list[str], quiet: bool = False) -> Plan[None]:
        with warnings.catch_warnings() if quiet else contextlib.nullcontext():
            if quiet:
                warnings.simplefilter("ignore")  # MySQL warns "already exists" on IF NOT EXISTS
            for sql in statements:
                yield call(self._run, sql)

    def _create_table(self, table_name: str) -> Plan[None]:
        sql = self._dialect.statements(table_name)
        index = table_name.replace(".", "_")
        ddl = [d.format(table=table_name, index=index) for d in self._dialect.extra_ddl]
        yield Scoped(self._tx, (), self._statements([sql.create_table, sql.create_index, *ddl], quiet=True))

    def _initialize(self) -> Plan[None]:
        try:
            yield from self._create_table(self.table_name)
            yield from self._ensure_columns()
        except self._connection_errors as e:
            raise _unavailable(self._backend_name, "initializing", e) from e
        self._initialized = True

    def _is_initialized(self) -> Plan[bool]:
        if not self._initialized:
            self._initialized = yield from self._table_exists()
            yield call(self._end_read)
        return self._initialized

    def _ensure_columns(self) -> Plan[None]:
        present = yield from self._columns_present()
        if not present:
            raise self._uninitialized()
        missing = missing_columns(self._sql, present)
        if missing:  # nullable columns: existing rows are not rewritten
            yield Scoped(self._tx, (), self._statements(missing))
        self._columns = True

    def _read_sql(self) -> Plan[Statements]:
        if self._columns is None:
            present = yield from self._columns_present()
            if not present:
                raise self._uninitialized()
            self._columns = not missing_columns(self._sql, present)
        return self._sql if self._columns else self._sql.legacy

    # -- save -----------------------------------------------------------------------------------

    def _save_many(self, steps: list[tuple[Any, ...]]) -> Plan[None]:
        prepared: list[Row] = []
        try:
            if not self._columns:
                yield from self._ensure_columns()
            keys = sorted({(_pk(s[0]), s[1]) for s in steps})
            yield from self._write_scope(keys, self._insert(steps, prepared))
        except BaseException as e:
            for row in prepared:
                self._checkpoints.forget(row.partition_key, row.app_id)
            if isinstance(e, self._connection_errors):
                step = f"step {steps[0][2]} of app '{steps[0][1]}'"
                raise _unavailable(self._backend_name, f"saving {step}", e) from e
            if self._is_duplicate(e) and prepared:
                raise _conflict(prepared[-1], None, None) from e
            raise

    def _insert(self, steps: list[tuple[Any, ...]], prepared: list[Row]) -> Plan[None]:
        for pk, app_id, seq, position, state, status in steps:
            row, head = self._checkpoints.prepare(_pk(pk), app_id, seq, position, state, status)
            prepared.append(row)
            cas = (row.partition_key, app_id, row.head_low, row.head_high)
            if (yield call(self._run, self._sql.insert_cas, row.params() + cas)) != 1:
                stored = (yield call(self._fetch, self._sql.head, (row.partition_key, app_id)))[0][0]
                raise _conflict(row, stored, self._checkpoints.expected_head(row.partition_key, app_id))
            # the next step of a batch builds on this one (undone by _save_many if the batch fails)
            self._checkpoints.commit(row, head)

    # -- load -----------------------------------------------------------------------------------

    def _load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None
    ) -> Plan[persistence.PersistedStateData | None]:
        pk = _pk(partition_key)
        try:
            sql = yield from self._read_sql()
            if app_id is None:
                found = yield call(self._fetch, sql.latest_app, (pk,))
                if not found:
                    return None
                app_id = found[0][0]
            if sql is self._sql:
                loaded = yield from self._load_bulk(pk, app_id, sequence_id)
                if loaded is not _REFUSED:
                    return loaded  # type: ignore[no-any-return]
            query = sql.chain_latest if sequence_id is None else sql.chain_exact
            params = chain_params(sql is not self._sql, pk, app_id, sequence_id)
            rows = yield call(self._fetch, query, params)
            if not rows:
                return None
        except self._connection_errors as e:
            raise _unavailable(self._backend_name, f"loading app '{app_id}'", e) from e
        finally:
            yield call(self._end_read)
        assert app_id is not None
        target = rows[-1]
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=target[0],
            position=target[1],
            state=self._checkpoints.decode(pk, app_id, chain_rows(rows)),
            created_at=created_text(target[4]),
            status=target[2],
        )

    def _before_bulk(self) -> Plan[None]:
        """Prepare the session for the string aggregate (MySQL raises its length limit)."""
        return
        yield

    def _load_bulk(self, pk: str, app_id: str, sequence_id: int | None) -> Plan[Any]:
        """The step and its whole chain as one JSON array text, in one round trip where the
        database's string aggregate takes an ORDER BY (SQLite's does not before 3.44: there the
        ordered rows are joined here). ``_REFUSED``: decode the rows one by one instead."""
        sql = self._sql
        if self._dialect.agg is not None:
            yield from self._before_bulk()
            query = sql.bulk_latest if sequence_id is None else sql.bulk_exact
            found = yield call(self._fetch, query, chain_params(False, pk, app_id, sequence_id))
            if not found or not found[0][4]:
                return None
            seq, position, status, created_at, count, odd, first, snap_len, text = found[0]
            if odd or not isinstance(text, str):
                return _REFUSED
        else:
            query = sql.target_latest if sequence_id is None else sql.target_exact
            key = (pk, app_id) if sequence_id is None else (pk, app_id, sequence_id)
            found = yield call(self._fetch, query, key)
            if not found:
                return None
            seq, position, status, created_at, snap = found[0]
            first = seq if snap is None else snap
            rows = yield call(self._fetch, sql.chain_flagged, (first, first, pk, app_id, first, seq))
            if not chain_is_plain(rows):
                return _REFUSED
            text, count, snap_len = join_chain([r[0] for r in rows]), len(rows), len(rows[0][0])
        state = self._checkpoints.decode_bulk(
            pk, app_id, seq, position, text, int(count), first, int(snap_len or 0)
        )
        if state is None:
            return _REFUSED
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=seq,
            position=position,
            state=state,
            created_at=created_text(created_at),
            status=status,
        )

    def _reading(self, plan: Plan[Any]) -> Plan[Any]:
        try:
            return (yield from plan)
        finally:
            yield call(self._end_read)

    def _list_app_ids(self, partition_key: str | None) -> Plan[list[str]]:
        rows = yield call(self._fetch, self._sql.list_apps, (_pk(partition_key),))
        return [r[0] for r in rows]

    # -- history and retention ------------------------------------------------------------------

    def _list_steps(self, partition_key: str | None, app_id: str) -> Plan[list[StepInfo]]:
        sql = yield from self._read_sql()
        return [
            StepInfo.from_row(r)
            for r in (yield call(self._fetch, sql.list_steps, (_pk(partition_key), app_id)))
        ]

    def _delete_app(self, partition_key: str | None, app_id: str) -> Plan[int]:
        pk = _pk(partition_key)
        n = yield from self._write_scope(
            [(pk, app_id)], single(call(self._run, self._sql.delete_app, (pk, app_id)))
        )
        self._checkpoints.forget(pk, app_id)
        return n  # type: ignore[no-any-return]

    def _prune(self, partition_key: str | None, app_id: str, keep_last: int) -> Plan[int]:
        check_keep_last(keep_last)
        pk = _pk(partition_key)
        yield from self._ensure_columns()
        n = yield from self._write_scope([(pk, app_id)], self._prune_rows(pk, app_id, keep_last))
        if n is None:
            return 0
        self._checkpoints.forget(pk, app_id)
        return n  # type: ignore[no-any-return]

    def _prune_rows(self, pk: str, app_id: str, keep_last: int) -> Plan[int | None]:
        steps = yield call(self._fetch, self._sql.list_steps, (pk, app_id))
        plan = prune_plan([StepInfo.from_row(r) for r in steps], keep_last)
        if plan is None:
            return None
        if plan.rewrite:
            rows = yield call(self._fetch, self._sql.load_chain, (pk, app_id, plan.snap, plan.cut + 1))
            payload = rebuild_snapshot(pk, app_id, [StoredRow(*r) for r in rows], self.serde_kwargs)
            yield call(self._run, self._sql.make_snapshot, (payload, pk, app_id, plan.cut))
            yield call(self._run, self._sql.rebase_chain, (plan.cut, pk, app_id, plan.snap, plan.cut))
        return (yield call(self._run, self._sql.delete_before, (pk, app_id, plan.cut)))  # type: ignore[no-any-return]


class SyncSQLPersister(_SQLPlans, persistence.BaseStatePersister):
    """Sync driver: subclasses implement ``_conn`` (or ``_fetch``/``_run``) and the backend queries."""

    def _conn(self) -> Any:
        raise NotImplementedError

    def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._conn().cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self._conn().cursor() as cur:
            cur.execute(sql, params)
            return int(cur.rowcount)

    def _begin(self, conn: Any) -> None:
        """Start a transaction (drivers that start one implicitly need nothing here)."""

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        conn = self._conn()
        self._begin(conn)
        try:
            yield
            conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise

    def _end_read(self) -> None:
        """End the read transaction some drivers leave open (so the next read sees new rows)."""
        with contextlib.suppress(Exception):
            self._conn().rollback()

    def create_table(self, table_name: str) -> None:
        run_sync(self._create_table(table_name))

    @locked
    def initialize(self) -> None:
        run_sync(self._initialize())

    @locked
    def is_initialized(self) -> bool:
        return run_sync(self._is_initialized())

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
        self.save_many([(partition_key, app_id, sequence_id, position, state, status)])

    @locked
    def save_many(self, steps: list[tuple[Any, ...]]) -> None:
        """Save several steps in one transaction (used by the ``write_behind`` cadence)."""
        run_sync(self._save_many(steps))

    @locked
    def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        return run_sync(self._load(partition_key, app_id, sequence_id))

    @locked
    def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        return run_sync(self._reading(self._list_app_ids(partition_key)))

    @locked
    def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first."""
        return run_sync(self._reading(self._list_steps(partition_key, app_id)))

    @locked
    def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of rows removed."""
        return run_sync(self._delete_app(partition_key, app_id))

    @locked
    def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep the last ``keep_last`` steps; the oldest kept one becomes a snapshot. Returns rows removed."""
        return run_sync(self._prune(partition_key, app_id, keep_last))

    def cleanup(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> Literal[False]:
        self.cleanup()
        return False

    # -- pickling: settings travel, the connection is reopened ----------------------------------

    def _reconnect(self) -> Any:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("connection", None)
        state.pop("_conn_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._conn_lock = threading.RLock()
        self.connection = self._reconnect()


class AsyncSQLPersister(_SQLPlans, persistence.AsyncBaseStatePersister):
    """Async driver: subclasses implement ``_conn`` (or ``_tx``), ``_fetch``, ``_run`` and the backend queries."""

    async def _conn(self) -> Any:
        raise NotImplementedError

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        raise NotImplementedError

    async def _begin(self, conn: Any) -> None:
        """Start a transaction."""

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[None]:
        conn = await self._conn()
        await self._begin(conn)
        try:
            yield
            await conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.rollback()
            raise

    async def _end_read(self) -> None:
        pass

    async def create_table(self, table_name: str) -> None:
        await run_async(self._create_table(table_name))

    async def initialize(self) -> None:
        await run_async(self._initialize())

    async def is_initialized(self) -> bool:
        return await run_async(self._is_initialized())

    async def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        await self.save_many([(partition_key, app_id, sequence_id, position, state, status)])

    async def save_many(self, steps: list[tuple[Any, ...]]) -> None:
        """Save several steps in one transaction."""
        await run_async(self._save_many(steps))

    async def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        return await run_async(self._load(partition_key, app_id, sequence_id))

    async def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        return await run_async(self._reading(self._list_app_ids(partition_key)))

    async def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first."""
        return await run_async(self._reading(self._list_steps(partition_key, app_id)))

    async def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of rows removed."""
        return await run_async(self._delete_app(partition_key, app_id))

    async def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep the last ``keep_last`` steps; the oldest kept one becomes a snapshot."""
        return await run_async(self._prune(partition_key, app_id, keep_last))

    async def cleanup(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: Any) -> Literal[False]:
        await self.cleanup()
        return False
