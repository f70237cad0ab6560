"""Redis persisters: ``RedisBasePersister`` (redis-py), ``AsyncRedisBasePersister`` (redis.asyncio) and
the deprecated ``RedisPersister``.

Layout (``ns:`` = ``namespace + ":"`` when a namespace is set), as in Apache Burr plus one index:

* hash ``ns:pk:app_id:seq`` per step: partition_key, app_id, sequence_id, position, status, state,
  created_at, and ours: format_version, snapshot_sequence_id (see ``burr.core._checkpoint``);
* sorted set ``ns:pk`` per partition: member app_id, score = its latest sequence id;
* sorted set ``ns:pk:app_id:__steps`` per application: member = score = each stored sequence id.

A save is one Lua script (atomic on the server): it checks the stored head (compare-and-set),
then writes the hash and both indexes, so a killed client never leaves a half-written step.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

try:
    import redis
except ImportError as e:  # pragma: no cover
    from burr.integrations.base import require_plugin

    require_plugin(e, "redis")

from burr.core import persistence
from burr.core._sql import StepInfo
from burr.core.state import State
from burr.integrations.persisters._plan import run_sync
from burr.integrations.persisters._redis_async import AsyncRedisBasePersister
from burr.integrations.persisters._redis_core import RedisStateConflictError as RedisStateConflictError
from burr.integrations.persisters._redis_core import _RedisPlans

logger = logging.getLogger(__name__)


class RedisBasePersister(_RedisPlans, persistence.BaseStatePersister):
    """Persists steps to Redis as delta checkpoints.

    :param connection: a ``redis.Redis`` client.
    :param serde_kwargs: passed to every (de)serializer.
    :param namespace: prefix for every key (lets apps share a database).
    """

    _client_class = redis.Redis

    def copy(self) -> RedisBasePersister:
        return type(self)(self.connection, *self._settings())

    def is_initialized(self) -> bool:
        return True  # Redis needs no schema

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
        run_sync(self._save(partition_key, app_id, sequence_id, position, state, status))

    def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        return run_sync(self._load(partition_key, app_id, sequence_id))

    def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        return run_sync(self._list_app_ids(partition_key))

    # -- history and retention -----------------------------------------------------------------

    def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first."""
        return run_sync(self._list_steps(partition_key, app_id))

    def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of steps removed."""
        return run_sync(self._delete_app(partition_key, app_id))

    def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep the last ``keep_last`` steps; the oldest kept one becomes a snapshot. Returns steps removed."""
        return run_sync(self._prune(partition_key, app_id, keep_last))

    def cleanup(self) -> None:
        """Close the client's connections."""
        self.connection.close()

    def __enter__(self) -> RedisBasePersister:
        return self

    def __exit__(self, *exc: Any) -> Literal[False]:
        self.cleanup()
        return False

    def __getstate__(self) -> dict[str, Any]:
        kwargs = self.connection.connection_pool.connection_kwargs
        return {"connection_kwargs": dict(kwargs), "settings": self._settings()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        RedisBasePersister.__init__(self, redis.Redis(**state["connection_kwargs"]), *state["settings"])


class RedisPersister(RedisBasePersister):
    """Deprecated: use ``RedisBasePersister.from_values(...)``."""

    def __init__(
        self,
        host: str,
        port: int,
        db: int,
        password: str | None = None,
        serde_kwargs: dict[str, Any] | None = None,
        redis_client_kwargs: dict[str, Any] | None = None,
        namespace: str | None = None,
    ) -> None:
        logger.warning("RedisPersister is deprecated; use RedisBasePersister.from_values(...) instead.")
        client = redis.Redis(host=host, port=port, db=db, password=password, **(redis_client_kwargs or {}))
        super().__init__(client, serde_kwargs, namespace)

    def copy(self) -> RedisBasePersister:
        return RedisBasePersister(self.connection, self.serde_kwargs, self.namespace)


__all__ = ["RedisBasePersister", "AsyncRedisBasePersister", "RedisPersister"]
