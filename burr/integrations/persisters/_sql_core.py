"""The delta-checkpoint logic of the client/server SQL persisters (PostgreSQL, MySQL), sync and async.

A backend module supplies the dialect, how to get a live connection, how to serialise writers of
one application (``_lock_app``), and which driver errors mean "the server went away".
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from burr.core import persistence
from burr.core._checkpoint import (
    DEFAULT_SNAPSHOT_EVERY,
    DEFAULT_SNAPSHOT_RATIO,
    Checkpointer,
    Head,
    Row,
    StoredRow,
    conflict_message,
)
from burr.core._sql import SQLDialect, Statements, StepInfo, chain_params, chain_rows, prune_plan
from burr.core.state import State

PK_DEFAULT = ""


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


def _created(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _locked(fn: Any) -> Any:
    """Driver connections are not safe to share between threads (the write_behind thread saves)."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._conn_lock:
            return fn(self, *args, **kwargs)

    return wrapper


class _Common:
    _dialect: SQLDialect
    _backend_name = "the database"
    table_name: str
    _checkpoints: Checkpointer
    _sql: Statements

    def _setup(
        self, table_name: str, serde_kwargs: dict[str, Any] | None, snapshot_every: int, snapshot_ratio: float
    ) -> None:
        self._dialect.check_table_name(table_name)
        self.table_name = table_name
        self._checkpoints = Checkpointer(serde_kwargs, snapshot_every, snapshot_ratio)
        self._sql = self._dialect.statements(table_name)
        self._columns: bool | None = None
        self._initialized = False
        self._conn_lock = threading.RLock()

    def set_serde_kwargs(self, serde_kwargs: dict[str, Any]) -> None:
        self._checkpoints.serde_kwargs = dict(serde_kwargs)

    @property
    def serde_kwargs(self) -> dict[str, Any]:
        return self._checkpoints.serde_kwargs

    def _uninitialized(self) -> RuntimeError:
        return RuntimeError(
            f"Uninitialized persister: table '{self.table_name}' does not exist. Make sure to call "
            ".initialize() on the persister before using it."
        )


class SyncSQLPersister(_Common, persistence.BaseStatePersister):
    """Sync base: subclasses implement ``_conn``, ``_table_exists``, ``_columns_present``."""

    _connection_errors: tuple[type[BaseException], ...] = ()

    def __init__(
        self,
        table_name: str,
        serde_kwargs: dict[str, Any] | None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
    ) -> None:
        self._setup(table_name, serde_kwargs, snapshot_every, snapshot_ratio)

    # -- driver hooks --------------------------------------------------------------------------

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

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        conn = self._conn()
        try:
            yield
            conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise

    @contextlib.contextmanager
    def _write_scope(self, keys: list[tuple[str, str]]) -> Iterator[None]:
        """A transaction in which no other writer of these apps can run."""
        with self._tx():
            yield

    def _end_read(self) -> None:
        """End the read transaction some drivers leave open (so the next read sees new rows)."""
        with contextlib.suppress(Exception):
            self._conn().rollback()

    def _table_exists(self) -> bool:
        raise NotImplementedError

    def _columns_present(self) -> set[str]:
        raise NotImplementedError

    # -- schema --------------------------------------------------------------------------------

    def create_table(self, table_name: str) -> None:
        sql = self._dialect.statements(table_name)
        with self._tx(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MySQL warns "already exists" on IF NOT EXISTS
            self._run(sql.create_table)
            self._run(sql.create_index)
            for ddl in self._dialect.extra_ddl:
                self._run(ddl.format(table=table_name, index=table_name.replace(".", "_")))

    @_locked
    def initialize(self) -> None:
        try:
            self.create_table(self.table_name)
            self._ensure_columns()
        except self._connection_errors as e:
            raise _unavailable(self._backend_name, "initializing", e) from e
        self._initialized = True

    @_locked
    def is_initialized(self) -> bool:
        if not self._initialized:
            self._initialized = self._table_exists()
            self._end_read()
        return self._initialized

    def _ensure_columns(self) -> None:
        present = self._columns_present()
        if not present:
            raise self._uninitialized()
        missing = [ddl for c, ddl in self._sql.added_columns if c not in present]
        if missing:
            with self._tx():
                for ddl in missing:
                    self._run(ddl)  # nullable columns: existing rows are not rewritten
        self._columns = True

    def _read_sql(self) -> Statements:
        if self._columns is None:
            present = self._columns_present()
            if not present:
                raise self._uninitialized()
            self._columns = all(c in present for c, _ in self._sql.added_columns)
        return self._sql if self._columns else self._sql.legacy

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
        self.save_many([(partition_key, app_id, sequence_id, position, state, status)])

    @_locked
    def save_many(self, steps: list[tuple[Any, ...]]) -> None:
        """Save several steps in one transaction (used by the ``write_behind`` cadence)."""
        prepared: list[tuple[Row, Head]] = []
        try:
            if not self._columns:
                self._ensure_columns()
            keys = sorted({(_pk(s[0]), s[1]) for s in steps})
            with self._write_scope(keys):
                for pk, app_id, seq, position, state, status in steps:
                    row, head = self._checkpoints.prepare(_pk(pk), app_id, seq, position, state, status)
                    prepared.append((row, head))
                    n = self._run(
                        self._sql.insert_cas,
                        row.params() + (row.partition_key, app_id, row.head_low, row.head_high),
                    )
                    if n != 1:
                        stored = self._fetch(self._sql.head, (row.partition_key, app_id))[0][0]
                        raise _conflict(
                            row, stored, self._checkpoints.expected_head(row.partition_key, app_id)
                        )
                    # the next step of a batch builds on this one (undone below if the batch fails)
                    self._checkpoints.commit(row, head)
        except BaseException as e:
            for row, _ in prepared:
                self._checkpoints.forget(row.partition_key, row.app_id)
            if isinstance(e, self._connection_errors):
                step = f"step {steps[0][2]} of app '{steps[0][1]}'"
                raise _unavailable(self._backend_name, f"saving {step}", e) from e
            if self._is_duplicate(e) and prepared:
                row = prepared[-1][0]
                raise _conflict(row, None, None) from e
            raise

    def _is_duplicate(self, e: BaseException) -> bool:
        return False

    # -- load ----------------------------------------------------------------------------------

    @_locked
    def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        pk = _pk(partition_key)
        try:
            sql = self._read_sql()
            if app_id is None:
                found = self._fetch(sql.latest_app, (pk,))
                if not found:
                    return None
                app_id = found[0][0]
            query = sql.chain_latest if sequence_id is None else sql.chain_exact
            rows = self._fetch(query, chain_params(sql is not self._sql, pk, app_id, sequence_id))
            if not rows:
                return None
            target = rows[-1]
        except self._connection_errors as e:
            raise _unavailable(self._backend_name, f"loading app '{app_id}'", e) from e
        finally:
            self._end_read()
        assert app_id is not None
        state = self._checkpoints.decode(pk, app_id, chain_rows(rows))
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=target[0],
            position=target[1],
            state=state,
            created_at=_created(target[4]),
            status=target[2],
        )

    @_locked
    def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        try:
            return [r[0] for r in self._fetch(self._sql.list_apps, (_pk(partition_key),))]
        finally:
            self._end_read()

    # -- history and retention -----------------------------------------------------------------

    @_locked
    def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first."""
        try:
            return [
                StepInfo.from_row(r)
                for r in self._fetch(self._read_sql().list_steps, (_pk(partition_key), app_id))
            ]
        finally:
            self._end_read()

    @_locked
    def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of rows removed."""
        pk = _pk(partition_key)
        with self._write_scope([(pk, app_id)]):
            n = self._run(self._sql.delete_app, (pk, app_id))
        self._checkpoints.forget(pk, app_id)
        return n

    @_locked
    def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep the last ``keep_last`` steps; the oldest kept one becomes a snapshot. Returns rows removed."""
        if keep_last < 1:
            raise ValueError(
                f"prune(keep_last={keep_last}) must keep at least one step; use delete_app to remove all."
            )
        pk = _pk(partition_key)
        self._ensure_columns()
        with self._write_scope([(pk, app_id)]):
            steps = [StepInfo.from_row(r) for r in self._fetch(self._sql.list_steps, (pk, app_id))]
            plan = prune_plan(steps, keep_last)
            if plan is None:
                return 0
            if plan.rewrite:
                chain = [
                    StoredRow(*r)
                    for r in self._fetch(self._sql.load_chain, (pk, app_id, plan.snap, plan.cut + 1))
                ]
                state = Checkpointer(self.serde_kwargs).decode(pk, app_id, chain)
                payload = json.dumps(
                    state.serialize(**self.serde_kwargs), ensure_ascii=False, separators=(",", ":")
                )
                self._run(self._sql.make_snapshot, (payload, pk, app_id, plan.cut))
                self._run(self._sql.rebase_chain, (plan.cut, pk, app_id, plan.snap, plan.cut))
            n = self._run(self._sql.delete_before, (pk, app_id, plan.cut))
        self._checkpoints.forget(pk, app_id)
        return n

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> Literal[False]:
        self.cleanup()
        return False

    def cleanup(self) -> None:
        raise NotImplementedError


class AsyncSQLPersister(_Common, persistence.AsyncBaseStatePersister):
    """Async base: subclasses implement ``_conn``, ``_fetch``, ``_run``, ``_tx``, ``_table_exists``..."""

    _connection_errors: tuple[type[BaseException], ...] = ()

    def __init__(
        self,
        table_name: str,
        serde_kwargs: dict[str, Any] | None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
    ) -> None:
        self._setup(table_name, serde_kwargs, snapshot_every, snapshot_ratio)

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[None]:
        raise NotImplementedError
        yield

    @contextlib.asynccontextmanager
    async def _write_scope(self, keys: list[tuple[str, str]]) -> AsyncIterator[None]:
        """A transaction in which no other writer of these apps can run."""
        async with self._tx():
            yield

    async def _end_read(self) -> None:
        pass

    async def _table_exists(self) -> bool:
        raise NotImplementedError

    async def _columns_present(self) -> set[str]:
        raise NotImplementedError

    async def create_table(self, table_name: str) -> None:
        sql = self._dialect.statements(table_name)
        async with self._tx():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MySQL warns "already exists" on IF NOT EXISTS
                await self._run(sql.create_table)
                await self._run(sql.create_index)
                for ddl in self._dialect.extra_ddl:
                    await self._run(ddl.format(table=table_name, index=table_name.replace(".", "_")))

    async def initialize(self) -> None:
        try:
            await self.create_table(self.table_name)
            await self._ensure_columns()
        except self._connection_errors as e:
            raise _unavailable(self._backend_name, "initializing", e) from e
        self._initialized = True

    async def is_initialized(self) -> bool:
        if not self._initialized:
            self._initialized = await self._table_exists()
            await self._end_read()
        return self._initialized

    async def _ensure_columns(self) -> None:
        present = await self._columns_present()
        if not present:
            raise self._uninitialized()
        missing = [ddl for c, ddl in self._sql.added_columns if c not in present]
        if missing:
            async with self._tx():
                for ddl in missing:
                    await self._run(ddl)
        self._columns = True

    async def _read_sql(self) -> Statements:
        if self._columns is None:
            present = await self._columns_present()
            if not present:
                raise self._uninitialized()
            self._columns = all(c in present for c, _ in self._sql.added_columns)
        return self._sql if self._columns else self._sql.legacy

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
        prepared: list[tuple[Row, Head]] = []
        try:
            if not self._columns:
                await self._ensure_columns()
            keys = sorted({(_pk(s[0]), s[1]) for s in steps})
            async with self._write_scope(keys):
                for pk, app_id, seq, position, state, status in steps:
                    row, head = self._checkpoints.prepare(_pk(pk), app_id, seq, position, state, status)
                    prepared.append((row, head))
                    n = await self._run(
                        self._sql.insert_cas,
                        row.params() + (row.partition_key, app_id, row.head_low, row.head_high),
                    )
                    if n != 1:
                        stored = (await self._fetch(self._sql.head, (row.partition_key, app_id)))[0][0]
                        raise _conflict(
                            row, stored, self._checkpoints.expected_head(row.partition_key, app_id)
                        )
                    self._checkpoints.commit(row, head)
        except BaseException as e:
            for row, _ in prepared:
                self._checkpoints.forget(row.partition_key, row.app_id)
            if isinstance(e, self._connection_errors):
                raise _unavailable(
                    self._backend_name, f"saving step {steps[0][2]} of app '{steps[0][1]}'", e
                ) from e
            if self._is_duplicate(e) and prepared:
                raise _conflict(prepared[-1][0], None, None) from e
            raise

    def _is_duplicate(self, e: BaseException) -> bool:
        return False

    async def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        pk = _pk(partition_key)
        try:
            sql = await self._read_sql()
            if app_id is None:
                found = await self._fetch(sql.latest_app, (pk,))
                if not found:
                    return None
                app_id = found[0][0]
            query = sql.chain_latest if sequence_id is None else sql.chain_exact
            rows = await self._fetch(query, chain_params(sql is not self._sql, pk, app_id, sequence_id))
            if not rows:
                return None
            target = rows[-1]
        except self._connection_errors as e:
            raise _unavailable(self._backend_name, f"loading app '{app_id}'", e) from e
        finally:
            await self._end_read()
        assert app_id is not None
        state = self._checkpoints.decode(pk, app_id, chain_rows(rows))
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=target[0],
            position=target[1],
            state=state,
            created_at=_created(target[4]),
            status=target[2],
        )

    async def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        try:
            return [r[0] for r in await self._fetch(self._sql.list_apps, (_pk(partition_key),))]
        finally:
            await self._end_read()

    async def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first."""
        try:
            sql = await self._read_sql()
            return [
                StepInfo.from_row(r) for r in await self._fetch(sql.list_steps, (_pk(partition_key), app_id))
            ]
        finally:
            await self._end_read()

    async def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of rows removed."""
        pk = _pk(partition_key)
        async with self._write_scope([(pk, app_id)]):
            n = await self._run(self._sql.delete_app, (pk, app_id))
        self._checkpoints.forget(pk, app_id)
        return n

    async def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep the last ``keep_last`` steps; the oldest kept one becomes a snapshot."""
        if keep_last < 1:
            raise ValueError(
                f"prune(keep_last={keep_last}) must keep at least one step; use delete_app to remove all."
            )
        pk = _pk(partition_key)
        await self._ensure_columns()
        async with self._write_scope([(pk, app_id)]):
            steps = [StepInfo.from_row(r) for r in await self._fetch(self._sql.list_steps, (pk, app_id))]
            plan = prune_plan(steps, keep_last)
            if plan is None:
                return 0
            if plan.rewrite:
                rows = await self._fetch(self._sql.load_chain, (pk, app_id, plan.snap, plan.cut + 1))
                state = Checkpointer(self.serde_kwargs).decode(pk, app_id, [StoredRow(*r) for r in rows])
                payload = json.dumps(
                    state.serialize(**self.serde_kwargs), ensure_ascii=False, separators=(",", ":")
                )
                await self._run(self._sql.make_snapshot, (payload, pk, app_id, plan.cut))
                await self._run(self._sql.rebase_chain, (plan.cut, pk, app_id, plan.snap, plan.cut))
            n = await self._run(self._sql.delete_before, (pk, app_id, plan.cut))
        self._checkpoints.forget(pk, app_id)
        return n

    async def cleanup(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: Any) -> Literal[False]:
        await self.cleanup()
        return False
