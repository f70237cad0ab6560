"""``PostgreSQLPersister`` on psycopg 3 (module name kept from Apache Burr, which used psycopg2).

Apache Burr's table (JSONB ``state``) loads as it is; two nullable columns are added on first use.
Writers of one application are serialised with a transaction-scoped advisory lock, then the
compare-and-set insert checks the stored head.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:
    import psycopg
except ImportError as e:  # pragma: no cover - depends on the environment
    from burr.integrations.base import require_plugin

    require_plugin(e, "postgresql")

from burr.core._checkpoint import DEFAULT_SNAPSHOT_EVERY, DEFAULT_SNAPSHOT_RATIO
from burr.core._sql import SQLDialect
from burr.integrations.persisters._plan import Plan, Scoped, call
from burr.integrations.persisters._sql_core import SyncSQLPersister, _SQLPlans

PG_DIALECT = SQLDialect(
    placeholder="%s",
    state_type="JSONB",
    text_key_type="TEXT",
    state_param="{p}::jsonb",
    state_select="state::text",
    value_casts=("::text", "::text", "::integer", "::text", "::text", "", "::integer", "::integer"),
    agg="'[' || string_agg({state}, ','{order}) || ']'",
)
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
TABLE_EXISTS_SQL = "SELECT to_regclass(%s) IS NOT NULL"
COLUMNS_SQL = (
    "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
    "AND table_schema = COALESCE(%s, current_schema())"
)


_SYNC_COMMIT = ("on", "off", "local", "remote_write", "remote_apply")


def check_synchronous_commit(value: str | None) -> str | None:
    """PostgreSQL's ``synchronous_commit`` for our write transactions (None: the server's setting).

    ``"off"`` skips waiting for the WAL flush: a crash of the *server* can lose the last few
    commits (never corrupts); a crash of your process loses nothing that was committed.
    """
    if value is not None and value not in _SYNC_COMMIT:
        raise ValueError(
            f"synchronous_commit={value!r} is not valid; use one of {list(_SYNC_COMMIT)} or None."
        )
    return value


def lock_key(table: str, pk: str, app_id: str) -> str:
    return f"burr\x1f{table}\x1f{pk}\x1f{app_id}"


def split_table(table: str) -> tuple[str, str | None]:
    schema, _, name = table.rpartition(".")
    return name, schema or None


def conninfo_from_values(
    db_name: str, user: str, password: str | None, host: str, port: int
) -> dict[str, Any]:
    return {"dbname": db_name, "user": user, "password": password, "host": host, "port": port}


class _PostgreSQL(_SQLPlans):
    """What the sync and async PostgreSQL persisters share: settings, schema queries, locking."""

    _dialect = PG_DIALECT
    _backend_name = "PostgreSQL"
    _connection_errors = (psycopg.OperationalError, psycopg.InterfaceError)

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

    def _table_exists(self) -> Plan[bool]:
        return bool((yield call(self._fetch, TABLE_EXISTS_SQL, (self.table_name,)))[0][0])

    def _columns_present(self) -> Plan[set[str]]:
        name, schema = split_table(self.table_name)
        return {r[0] for r in (yield call(self._fetch, COLUMNS_SQL, (name, schema)))}

    def _write_scope(self, keys: list[tuple[str, str]], plan: Plan[Any]) -> Plan[Any]:
        return (yield Scoped(self._tx, (), self._locked_apps(keys, plan)))

    def _locked_apps(self, keys: list[tuple[str, str]], plan: Plan[Any]) -> Plan[Any]:
        if self.synchronous_commit is not None:
            yield call(self._run, f"SET LOCAL synchronous_commit TO {self.synchronous_commit}", None)
        for pk, app_id in keys:  # sorted by the caller: no lock-order deadlocks
            yield call(self._run, LOCK_SQL, (lock_key(self.table_name, pk, app_id),))
        return (yield from plan)

    def _is_duplicate(self, e: BaseException) -> bool:
        return isinstance(e, psycopg.errors.UniqueViolation)


class PostgreSQLPersister(_PostgreSQL, SyncSQLPersister):
    """Persists steps to PostgreSQL as delta checkpoints.

    :param connection: an open ``psycopg.Connection``.
    :param table_name: table (optionally ``schema.table``); Apache Burr's tables load as they are.
    :param serde_kwargs: passed to every (de)serializer.
    :param snapshot_every / snapshot_ratio: snapshot policy (see ``SQLitePersister``).
    """

    @classmethod
    def from_values(
        cls,
        db_name: str,
        user: str,
        password: str | None,
        host: str,
        port: int,
        table_name: str = "burr_state",
        serde_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PostgreSQLPersister:
        """Connect with these values; the persister reconnects with them after a dropped connection."""
        conninfo = conninfo_from_values(db_name, user, password, host, port)
        return cls(psycopg.connect(**conninfo), table_name, serde_kwargs, _conninfo=conninfo, **kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PostgreSQLPersister:
        return cls.from_values(**config)

    def copy(self) -> PostgreSQLPersister:
        """A persister with its own connection to the same database."""
        conninfo = self._conninfo or _conninfo_of(self.connection)
        return PostgreSQLPersister(
            psycopg.connect(**conninfo),
            *self._settings(),
            _conninfo=conninfo,
            synchronous_commit=self.synchronous_commit,
        )

    # -- driver hooks --------------------------------------------------------------------------

    def _conn(self) -> Any:
        conn = self.connection
        if (conn.closed or conn.broken) and self._conninfo is not None:
            self.connection = conn = psycopg.connect(**self._conninfo)
        return conn

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        self._end_read()  # a transaction left open by a read would otherwise become a savepoint
        with self._conn().transaction():
            yield

    def _run(self, sql: str, params: tuple[Any, ...] | None = ()) -> int:
        return int(self._conn().execute(sql, params).rowcount)

    def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn().execute(sql, params)
        return list(cur.fetchall()) if cur.description else []

    def _end_read(self) -> None:
        conn = self.connection
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            conn.rollback()

    # -- lifecycle -----------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Close the connection."""
        self.connection.close()

    def _reconnect(self) -> Any:
        return psycopg.connect(**self._conninfo)  # type: ignore[arg-type]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_conninfo"] = self._conninfo or _conninfo_of(self.connection)
        return state


def _conninfo_of(connection: Any) -> dict[str, Any]:
    info = connection.info
    return {
        "dbname": info.dbname,
        "user": info.user,
        "password": info.password or None,
        "host": info.host,
        "port": info.port,
    }
