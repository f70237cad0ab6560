"""``AsyncRedisBasePersister`` (redis.asyncio): same layout, save script and plans as ``RedisBasePersister``."""

from __future__ import annotations

from typing import Any, Literal

import redis.asyncio as aredis

from burr.core import persistence
from burr.core._sql import StepInfo
from burr.core.state import State
from burr.integrations.persisters._plan import run_async
from burr.integrations.persisters._redis_core import _RedisPlans


class AsyncRedisBasePersister(_RedisPlans, persistence.AsyncBaseStatePersister):
    """Async Redis persister.

    :param connection: a ``redis.asyncio.Redis`` client.
    :param serde_kwargs: passed to every (de)serializer.
    :param namespace: prefix for every key.
    """

    _client_class = aredis.Redis

    def copy(self) -> AsyncRedisBasePersister:
        return AsyncRedisBasePersister(self.connection, *self._settings())

    async def is_initialized(self) -> bool:
        return True

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
        await run_async(self._save(partition_key, app_id, sequence_id, position, state, status))

    async def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        return await run_async(self._load(partition_key, app_id, sequence_id))

    async def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        return await run_async(self._list_app_ids(partition_key))

    async def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first."""
        return await run_async(self._list_steps(partition_key, app_id))

    async def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of steps removed."""
        return await run_async(self._delete_app(partition_key, app_id))

    async def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep the last ``keep_last`` steps; the oldest kept one becomes a snapshot."""
        return await run_async(self._prune(partition_key, app_id, keep_last))

    async def cleanup(self) -> None:
        """Close the client's connections."""
        await self.connection.aclose()

    async def __aenter__(self) -> AsyncRedisBasePersister:
        return self

    async def __aexit__(self, *exc: Any) -> Literal[False]:
        await self.cleanup()
        return False
