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

from burr.integrations.persisters._sql_core import AsyncSQLPersister
from burr.integrations.persisters.b_psycopg2 import _PostgreSQL, conninfo_from_values


class AsyncPostgreSQLPersister(_PostgreSQL, AsyncSQLPersister):
    """Async PostgreSQL persister.

    :param connection: an open ``psycopg.AsyncConnection``.
    :param table_name: table (optionally ``schema.table``).
    :param serde_kwargs: passed to every (de)serializer.
    """

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
            *self._settings(),
            _conninfo=self._conninfo,
            synchronous_commit=self.synchronous_commit,
        )

    async def _conn(self) -> Any:
        conn = self.connection
        if (conn.closed or conn.broken) and self._conninfo is not None:
            self.connection = conn = await psycopg.AsyncConnection.connect(**self._conninfo)
        return conn

    async def _run(self, sql: str, params: tuple[Any, ...] | None = ()) -> int:
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

    async def cleanup(self) -> None:
        """Close the connection."""
        await self.connection.close()
