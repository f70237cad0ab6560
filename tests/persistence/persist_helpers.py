"""Helpers shared by the persistence tests."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pytest


def chat_states(n: int, start: Any = None) -> list[Any]:
    """n committed States, each appending one message (as the engine would commit them)."""
    from burr.core.state import State, _commit, _snapshot_base

    prev = start if start is not None else _snapshot_base(State({"chat": [], "turns": 0}))
    out = []
    first = prev.get("__SEQUENCE_ID", -1) + 1
    for i in range(first, first + n):
        new = _commit(
            prev,
            prev.append(chat={"role": "user", "text": f"message {i} " + "lorem ipsum " * 8}).increment(
                turns=1
            ),
            {"__SEQUENCE_ID": i, "__PRIOR_STEP": "chat"},
        )
        out.append(new)
        prev = new
    return out


SERVICES = {"postgresql": ("127.0.0.1", 5432), "mysql": ("127.0.0.1", 3306), "redis": ("127.0.0.1", 6379)}
SYNC_BACKENDS = ["sqlite", "postgresql", "mysql", "redis"]
ASYNC_BACKENDS = ["aiosqlite", "asyncpg", "aiomysql", "aredis"]
PG = {"db_name": "test", "user": "postgres", "password": None, "host": "127.0.0.1", "port": 5432}
MY = {"db_name": "test", "user": "root", "password": "", "host": "127.0.0.1", "port": 3306}


def require_service(name: str) -> None:
    host, port = SERVICES[name]
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as e:
        reason = f"{name} is not reachable at {host}:{port} ({e}); start it (see DEVELOPERS.md, .ci/run)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class SyncBackend:
    """Creates persisters sharing one store (table / namespace) and drops it afterwards."""

    def __init__(self, kind: str, tmp_path: Any) -> None:
        self.kind = kind
        self.table = unique("burr")
        self.path = str(tmp_path / "state.db")
        self.made: list[Any] = []
        if kind != "sqlite":
            require_service(kind)

    def make(self, **kwargs: Any) -> Any:
        if self.kind == "sqlite":
            from burr.core.persistence import SQLitePersister

            p = SQLitePersister(self.path, self.table, **kwargs)
        elif self.kind == "postgresql":
            from burr.integrations.persisters.b_psycopg2 import PostgreSQLPersister

            p = PostgreSQLPersister.from_values(**PG, table_name=self.table, **kwargs)
        elif self.kind == "mysql":
            from burr.integrations.persisters.b_mysql import MySQLPersister

            p = MySQLPersister.from_values(**MY, table_name=self.table, **kwargs)
        else:
            from burr.integrations.persisters.b_redis import RedisBasePersister

            p = RedisBasePersister.from_values("127.0.0.1", 6379, 0, namespace=self.table, **kwargs)
        p.initialize()
        self.made.append(p)
        return p

    def close(self) -> None:
        if self.kind in ("postgresql", "mysql") and self.made:
            p = self.made[0]
            p._run(f"DROP TABLE IF EXISTS {self.table}")
            if self.kind == "postgresql":
                p.connection.commit()
        if self.kind == "redis" and self.made:
            conn = self.made[0].connection
            keys = list(conn.scan_iter(f"{self.table}:*"))
            if keys:
                conn.delete(*keys)
        for p in self.made:
            try:
                p.cleanup()
            except Exception:
                pass


class AsyncBackend:
    def __init__(self, kind: str, tmp_path: Any) -> None:
        self.kind = kind
        self.table = unique("burr")
        self.path = str(tmp_path / "state.db")
        self.made: list[Any] = []
        service = {"asyncpg": "postgresql", "aiomysql": "mysql", "aredis": "redis"}.get(kind)
        if service:
            require_service(service)

    async def make(self, **kwargs: Any) -> Any:
        if self.kind == "aiosqlite":
            from burr.integrations.persisters.b_aiosqlite import AsyncSQLitePersister

            p = await AsyncSQLitePersister.from_values(self.path, self.table, **kwargs)
        elif self.kind == "asyncpg":
            from burr.integrations.persisters.b_asyncpg import AsyncPostgreSQLPersister

            p = await AsyncPostgreSQLPersister.from_values(**PG, table_name=self.table, **kwargs)
        elif self.kind == "aiomysql":
            from burr.integrations.persisters.b_mysql import AsyncMySQLPersister

            p = await AsyncMySQLPersister.from_values(**MY, table_name=self.table, **kwargs)
        else:
            from burr.integrations.persisters.b_redis import AsyncRedisBasePersister

            p = AsyncRedisBasePersister.from_values("127.0.0.1", 6379, 0, namespace=self.table, **kwargs)
        await p.initialize()
        self.made.append(p)
        return p

    async def close(self) -> None:
        if self.kind in ("asyncpg", "aiomysql") and self.made:
            async with self.made[0]._tx():
                await self.made[0]._run(f"DROP TABLE IF EXISTS {self.table}")
        if self.kind == "aredis" and self.made:
            conn = self.made[0].connection
            keys = [k async for k in conn.scan_iter(f"{self.table}:*")]
            if keys:
                await conn.delete(*keys)
        for p in self.made:
            try:
                await p.cleanup()
            except Exception:
                pass
