"""``AsyncSQLitePersister`` on aiosqlite: the async twin of ``SQLitePersister`` (same table and format)."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

try:
    import aiosqlite
except ImportError as e:  # pragma: no cover
    from burr.integrations.base import require_plugin

    require_plugin(e, "aiosqlite")

from burr.core._checkpoint import DEFAULT_SNAPSHOT_EVERY, DEFAULT_SNAPSHOT_RATIO
from burr.core._sql import (
    DEFAULT_JOURNAL_SIZE_LIMIT,
    DEFAULT_MMAP_SIZE,
    DEFAULT_WAL_AUTOCHECKPOINT,
    SQLITE_DIALECT,
    SQLITE_TABLE_EXISTS_SQL,
)
from burr.integrations.persisters._plan import Plan, call
from burr.integrations.persisters._sql_core import AsyncSQLPersister

logger = logging.getLogger(__name__)


class AsyncSQLitePersister(AsyncSQLPersister):
    """Async SQLite persister.

    :param connection: an open ``aiosqlite.Connection``.
    :param table_name: table to use; Apache Burr's tables load as they are.
    :param serde_kwargs: passed to every (de)serializer.
    """

    _dialect = SQLITE_DIALECT
    _backend_name = "SQLite"

    def __init__(
        self,
        connection: Any,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
    ) -> None:
        super().__init__(table_name, serde_kwargs, snapshot_every, snapshot_ratio)
        self.connection = connection

    @classmethod
    async def from_values(
        cls,
        db_path: str,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        journal_mode: str = "WAL",
        synchronous: str = "NORMAL",
        wal_autocheckpoint: int = DEFAULT_WAL_AUTOCHECKPOINT,
        journal_size_limit: int = DEFAULT_JOURNAL_SIZE_LIMIT,
        mmap_size: int = DEFAULT_MMAP_SIZE,
        **kwargs: Any,
    ) -> AsyncSQLitePersister:
        """Open ``db_path`` with WAL, ``synchronous=NORMAL`` and the WAL bounds and memory-mapped
        reads of ``SQLitePersister`` (same arguments and defaults)."""
        pragmas: list[tuple[str, Any]] = [("journal_mode", journal_mode), ("synchronous", synchronous)]
        for name, value in (
            ("mmap_size", mmap_size),
            ("wal_autocheckpoint", wal_autocheckpoint),
            ("journal_size_limit", journal_size_limit),
        ):
            if type(value) is not int or value < -1:
                raise ValueError(f"SQLite {name}={value!r} is not valid; pass a whole number.")
            pragmas.append((name, value))
        for name, value in pragmas[:2]:
            if not str(value).isalnum():
                raise ValueError(f"SQLite {name}={value!r} is not valid.")
        conn = await aiosqlite.connect(db_path, **(connect_kwargs or {}))
        for name, value in pragmas:
            await (await conn.execute(f"PRAGMA {name}={value}")).fetchall()
        return cls(conn, table_name, serde_kwargs, **kwargs)

    @classmethod
    async def from_config(cls, config: dict[str, Any]) -> AsyncSQLitePersister:
        return await cls.from_values(**config)

    def copy(self) -> AsyncSQLitePersister:
        """A persister sharing this connection (Apache Burr's semantics)."""
        return AsyncSQLitePersister(self.connection, *self._settings())

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            async with self.connection.execute(sql, params) as cur:
                return [tuple(r) for r in await cur.fetchall()]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                raise self._uninitialized() from e
            raise

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        async with self.connection.execute(sql, params) as cur:
            return int(cur.rowcount)

    async def _conn(self) -> Any:
        return self.connection

    async def _begin(self, conn: Any) -> None:
        if not conn.in_transaction:
            await conn.execute("BEGIN IMMEDIATE")

    def _table_exists(self) -> Plan[bool]:
        return bool((yield call(self._fetch, SQLITE_TABLE_EXISTS_SQL, (self.table_name,))))

    def _columns_present(self) -> Plan[set[str]]:
        return {r[1] for r in (yield call(self._fetch, f"PRAGMA table_info({self.table_name})"))}

    async def cleanup(self) -> None:
        """Close the connection."""
        await self.connection.close()

    async def close(self) -> None:
        """Deprecated: use ``cleanup()``."""
        logger.warning("AsyncSQLitePersister.close() is deprecated; use cleanup() (or `async with`).")
        await self.cleanup()
