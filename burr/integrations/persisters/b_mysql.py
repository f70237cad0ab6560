"""MySQL / MariaDB persisters: ``MySQLPersister`` (PyMySQL) and ``AsyncMySQLPersister`` (aiomysql).

Apache Burr has no MySQL persister; these use the same columns and delta format as our SQLite and
PostgreSQL ones (keys are ``VARCHAR(191)`` so the primary key fits InnoDB's index limit). Writers of
one application are serialised with a named lock (``GET_LOCK``) held until the insert commits.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

try:
    import pymysql
except ImportError as e:  # pragma: no cover
    from burr.integrations.base import require_plugin

    require_plugin(e, "mysql")

from burr.core._checkpoint import DEFAULT_SNAPSHOT_EVERY, DEFAULT_SNAPSHOT_RATIO
from burr.core._sql import SQLDialect
from burr.integrations.persisters._plan import Plan, Scoped, call
from burr.integrations.persisters._sql_core import AsyncSQLPersister, SyncSQLPersister, _SQLPlans

MYSQL_DIALECT = SQLDialect(
    placeholder="%s",
    state_type="LONGTEXT",
    text_key_type="VARCHAR(191)",
    int_type="BIGINT",
    timestamp="TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)",
    select_from=" FROM DUAL",
    agg="CONCAT('[', GROUP_CONCAT({state}{order} SEPARATOR ','), ']')",
    length_fn="CHAR_LENGTH",
)
# GROUP_CONCAT truncates at group_concat_max_len (1 KiB on MySQL by default): raise it, for our
# session, to the largest result the server may send. A result cut anyway is detected (its row
# count differs) and the chain is then read row by row.
RAISE_GROUP_CONCAT_SQL = (
    "SET SESSION group_concat_max_len = GREATEST(@@SESSION.group_concat_max_len, @@max_allowed_packet)"
)
TABLE_EXISTS_SQL = (
    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s"
)
COLUMNS_SQL = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = %s"
)
LOCK_TIMEOUT_S = 30


def _lock_name(table: str, pk: str, app_id: str) -> str:
    # GET_LOCK names are limited to 64 characters
    return "burr:" + hashlib.sha1(f"{table}\x1f{pk}\x1f{app_id}".encode()).hexdigest()


def _lock_timeout_error(keys: list[tuple[str, str]]) -> TimeoutError:
    return TimeoutError(
        f"Timed out after {LOCK_TIMEOUT_S}s waiting for another writer of {keys} to finish saving. "
        "Is another process stuck mid-save? Retry, or check the server's active sessions."
    )


def _connect_kwargs(
    db_name: str,
    user: str,
    password: str | None,
    host: str,
    port: int,
    extra: dict[str, Any],
    db_key: str = "database",  # aiomysql calls it "db"
) -> dict[str, Any]:
    return {
        db_key: db_name,
        "user": user,
        "password": password or "",
        "host": host,
        "port": port,
        **extra,
    }


class _MySQL(_SQLPlans):
    """What the sync and async MySQL persisters share: settings, schema queries, the writer lock."""

    _dialect = MYSQL_DIALECT
    _backend_name = "MySQL"
    _connection_errors = (pymysql.err.OperationalError, pymysql.err.InterfaceError)

    def __init__(
        self,
        connection: Any,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
        _connect_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(table_name, serde_kwargs, snapshot_every, snapshot_ratio)
        self.connection = connection
        self._connect_kwargs = _connect_kwargs

    def _table_exists(self) -> Plan[bool]:
        return bool((yield call(self._fetch, TABLE_EXISTS_SQL, (self.table_name,)))[0][0])

    def _columns_present(self) -> Plan[set[str]]:
        return {r[0].lower() for r in (yield call(self._fetch, COLUMNS_SQL, (self.table_name,)))}

    def _write_scope(self, keys: list[tuple[str, str]], plan: Plan[Any]) -> Plan[Any]:
        """Hold a named lock per application until the transaction has committed."""
        acquired: list[str] = []
        try:
            for name in [_lock_name(self.table_name, pk, app) for pk, app in keys]:
                if (yield call(self._fetch, "SELECT GET_LOCK(%s, %s)", (name, LOCK_TIMEOUT_S)))[0][0] != 1:
                    raise _lock_timeout_error(keys)
                acquired.append(name)
            return (yield Scoped(self._tx, (), plan))
        finally:
            for name in acquired:
                with contextlib.suppress(Exception):
                    yield call(self._fetch, "SELECT RELEASE_LOCK(%s)", (name,))

    def _before_bulk(self) -> Plan[None]:
        # once per server session: a reconnect (ping) starts a new one with the default limit
        session = (id(self.connection), self.connection.thread_id())
        if getattr(self, "_agg_session", None) != session:
            yield call(self._run, RAISE_GROUP_CONCAT_SQL)
            self._agg_session = session

    def _is_duplicate(self, e: BaseException) -> bool:
        return isinstance(e, pymysql.err.IntegrityError) and bool(e.args) and e.args[0] == 1062


class MySQLPersister(_MySQL, SyncSQLPersister):
    """Persists steps to MySQL/MariaDB (InnoDB) as delta checkpoints.

    :param connection: an open ``pymysql`` connection (autocommit on or off).
    :param table_name: table to use (created by ``initialize``).
    :param serde_kwargs: passed to every (de)serializer.
    """

    @classmethod
    def from_values(
        cls,
        db_name: str,
        user: str,
        password: str | None,
        host: str = "127.0.0.1",
        port: int = 3306,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> MySQLPersister:
        """Connect with these values (autocommit on; the persister opens its own transactions)."""
        ckw = _connect_kwargs(
            db_name, user, password, host, port, {"autocommit": True, **(connect_kwargs or {})}
        )
        return cls(pymysql.connect(**ckw), table_name, serde_kwargs, _connect_kwargs=ckw, **kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MySQLPersister:
        return cls.from_values(**config)

    def copy(self) -> MySQLPersister:
        """A persister with its own connection (needs connection values: build with ``from_values``)."""
        if self._connect_kwargs is None:
            raise ValueError(
                "MySQLPersister.copy() needs the connection values: create it with from_values(...)."
            )
        return MySQLPersister(self._reconnect(), *self._settings(), _connect_kwargs=self._connect_kwargs)

    def _conn(self) -> Any:
        conn = self.connection
        if not conn.open:
            conn.ping(reconnect=True)
        return conn

    def _begin(self, conn: Any) -> None:
        conn.begin()

    def _end_read(self) -> None:
        conn = self.connection
        if conn.open and not conn.get_autocommit():
            with contextlib.suppress(Exception):
                conn.rollback()

    def cleanup(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):
            self.connection.close()

    def _reconnect(self) -> Any:
        return pymysql.connect(**self._connect_kwargs)  # type: ignore[arg-type]

    def __getstate__(self) -> dict[str, Any]:
        if self._connect_kwargs is None:
            raise TypeError("A MySQLPersister can only be pickled when created with from_values(...).")
        return super().__getstate__()


class AsyncMySQLPersister(_MySQL, AsyncSQLPersister):
    """Async MySQL/MariaDB persister on aiomysql (same table and format as ``MySQLPersister``)."""

    @classmethod
    async def from_values(
        cls,
        db_name: str,
        user: str,
        password: str | None,
        host: str = "127.0.0.1",
        port: int = 3306,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncMySQLPersister:
        import aiomysql

        extra = {"autocommit": True, **(connect_kwargs or {})}
        ckw = _connect_kwargs(db_name, user, password, host, port, extra, db_key="db")
        return cls(await aiomysql.connect(**ckw), table_name, serde_kwargs, _connect_kwargs=ckw, **kwargs)

    @classmethod
    async def from_config(cls, config: dict[str, Any]) -> AsyncMySQLPersister:
        return await cls.from_values(**config)

    def copy(self) -> AsyncMySQLPersister:
        """A persister sharing this connection (as Apache Burr's async persisters do)."""
        return AsyncMySQLPersister(self.connection, *self._settings(), _connect_kwargs=self._connect_kwargs)

    async def _conn(self) -> Any:
        conn = self.connection
        if conn.closed:
            await conn.ping(reconnect=True)
        return conn

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        async with (await self._conn()).cursor() as cur:
            await cur.execute(sql, params)
            return list(await cur.fetchall()) if cur.description else []

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        async with (await self._conn()).cursor() as cur:
            await cur.execute(sql, params)
            return int(cur.rowcount)

    async def _begin(self, conn: Any) -> None:
        await conn.begin()

    async def _end_read(self) -> None:
        conn = self.connection
        if not conn.closed and not conn.get_autocommit():
            with contextlib.suppress(Exception):
                await conn.rollback()

    async def cleanup(self) -> None:
        """Close the connection."""
        self.connection.close()
