"""``AsyncPostgreSQLPersister`` on psycopg 3's async API (Apache Burr's module name; no asyncpg needed).

Same table, locking and delta format as ``PostgreSQLPersister``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

try:
    import psycopg
except ImportError as e:  # pragma: no cover
    from burr.integrations.base import require_plugin

    require_plugin(e, "postgresql")

from burr.core._checkpoint import DEFAULT_SNAPSHOT_EVERY, DEFAULT_SNAPSHOT_RATIO
from burr.integrations.persisters._sql_core import AsyncSQLPersister
from burr.integrations.persisters.b_psycopg2 import (
    COLUMNS_SQL,
    LOCK_SQL,
    PG_DIALECT,
    TABLE_EXISTS_SQL,
    check_synchronous_commit,
    conninfo_from_values,
    lock_key,
    split_table,
)


class AsyncPostgreSQLPersister(AsyncSQLPersister):
    """Async PostgreSQL persister.

    :param connection: an open ``psycopg.AsyncConnection``.
    :param table_name: table (optionally ``schema.table``).
    :param serde_kwargs: passed to every (de)serializer.
    """

    _dialect = PG_DIALECT
    _backend_name = "PostgreSQL"
    _connection_errors = (psycopg.OperationalError, psycopg.InterfaceError)
    PARTITION_KEY_DEFAULT = ""

    def __init__(
        self,
        connection: Any,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
        _conninfo: dict[str, Any] | None = None,
        synchronous_commit: str | None = None,
    ) -> None:
        super().__init__(table_name, serde_kwargs, snapshot_every, snapshot_ratio)
        self.connection = connection
        self._conninfo = _conninfo
        self.synchronous_commit = check_synchronous_commit(synchronous_commit)

    @classmethod
    async def from_values(
        cls,
        db_name: str,
        user: str,
        password: str | None,
        host: str,
        port: int,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncPostgreSQLPersister:
        """Connect with these values; the persister reconnects with them after a dropped connection."""
        conninfo = conninfo_from_values(db_name, user, password, host, port)
        conn = await psycopg.AsyncConnection.connect(**conninfo)
        return cls(conn, table_name, serde_kwargs, _conninfo=conninfo, **kwargs)

    @classmethod
    async def from_config(cls, config: dict[str, Any]) -> AsyncPostgreSQLPersister:
        return await cls.from_values(**config)

    def copy(self) -> AsyncPostgreSQLPersister:
        """A persister sharing this connection (Apache Burr's semantics for the async persisters)."""
        return AsyncPostgreSQLPersister(
            self.connection,
            self.table_name,
            self.serde_kwargs,
            self._checkpoints.snapshot_every,
            self._checkpoints.snapshot_ratio,
            _conninfo=self._conninfo,
            synchronous_commit=self.synchronous_commit,
        )

    async def _conn(self) -> Any:
        conn = self.connection
        if (conn.closed or conn.broken) and self._conninfo is not None:
            self.connection = conn = await psycopg.AsyncConnection.connect(**self._conninfo)
        return conn

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        cur = await (await self._conn()).execute(sql, params)
        return int(cur.rowcount)

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = await (await self._conn()).execute(sql, params)
        return list(await cur.fetchall()) if cur.description else []

    async def _end_read(self) -> None:
        conn = self.connection
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            await conn.rollback()

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[None]:
        await self._end_read()
        async with (await self._conn()).transaction():
            yield

    @contextlib.asynccontextmanager
    async def _write_scope(self, keys: list[tuple[str, str]]) -> AsyncIterator[None]:
        async with self._tx():
            conn = await self._conn()
            if self.synchronous_commit is not None:
                await conn.execute(f"SET LOCAL synchronous_commit TO {self.synchronous_commit}")
            for pk, app_id in keys:
                await conn.execute(LOCK_SQL, (lock_key(self.table_name, pk, app_id),))
            yield

    async def _table_exists(self) -> bool:
        return bool((await self._fetch(TABLE_EXISTS_SQL, (self.table_name,)))[0][0])

    async def _columns_present(self) -> set[str]:
        name, schema = split_table(self.table_name)
        return {r[0] for r in await self._fetch(COLUMNS_SQL, (name, schema))}

    def _is_duplicate(self, e: BaseException) -> bool:
        return isinstance(e, psycopg.errors.UniqueViolation)

    async def cleanup(self) -> None:
        """Close the connection."""
        await self.connection.close()
