"""``AsyncRedisBasePersister`` (redis.asyncio): same layout and save script as ``RedisBasePersister``."""

from __future__ import annotations

import json
from typing import Any, Literal

import redis
import redis.asyncio as aredis

from burr.core import persistence
from burr.core._checkpoint import DEFAULT_SNAPSHOT_EVERY, DEFAULT_SNAPSHOT_RATIO, Checkpointer
from burr.core._sql import StepInfo, prune_plan
from burr.core.state import State
from burr.integrations.persisters import b_redis as _sync


class AsyncRedisBasePersister(_sync._RedisKeys, persistence.AsyncBaseStatePersister):
    """Async Redis persister.

    :param connection: a ``redis.asyncio.Redis`` client.
    :param serde_kwargs: passed to every (de)serializer.
    :param namespace: prefix for every key.
    """

    PARTITION_KEY_DEFAULT = ""

    def __init__(
        self,
        connection: Any,
        serde_kwargs: dict[str, Any] | None = None,
        namespace: str | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        self._checkpoints = Checkpointer(serde_kwargs, snapshot_every, snapshot_ratio)
        self._script = connection.register_script(_sync._SAVE_LUA)
        self._chain_script = connection.register_script(_sync._CHAIN_LUA)

    @classmethod
    def from_values(
        cls,
        host: str,
        port: int,
        db: int,
        password: str | None = None,
        serde_kwargs: dict[str, Any] | None = None,
        redis_client_kwargs: dict[str, Any] | None = None,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> AsyncRedisBasePersister:
        client = aredis.Redis(host=host, port=port, db=db, password=password, **(redis_client_kwargs or {}))
        return cls(client, serde_kwargs, namespace, **kwargs)

    def set_serde_kwargs(self, serde_kwargs: dict[str, Any]) -> None:
        self._checkpoints.serde_kwargs = dict(serde_kwargs)

    @property
    def serde_kwargs(self) -> dict[str, Any]:
        return self._checkpoints.serde_kwargs

    def copy(self) -> AsyncRedisBasePersister:
        return AsyncRedisBasePersister(
            self.connection,
            self.serde_kwargs,
            self.namespace,
            self._checkpoints.snapshot_every,
            self._checkpoints.snapshot_ratio,
        )

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
        pk = self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        row, head = self._checkpoints.prepare(pk, app_id, sequence_id, position, state, status)
        keys, args = self._save_args(row)
        try:
            ok, stored = await self._script(keys=keys, args=args)
        except (redis.ConnectionError, redis.TimeoutError) as e:
            self._checkpoints.forget(pk, app_id)
            raise _sync._unavailable(f"saving step {sequence_id} of app '{app_id}'", e) from e
        if not ok:
            expected = self._checkpoints.expected_head(pk, app_id)
            self._checkpoints.forget(pk, app_id)
            raise _sync._conflict(row, int(stored), expected)
        self._checkpoints.commit(row, head)

    async def _latest_seq(self, pk: str, app_id: str) -> int | None:
        top = await self.connection.zrevrange(self._steps_key(pk, app_id), 0, 0)
        if top:
            return int(_sync._s(top[0]))
        score = await self.connection.zscore(self._partition_key(pk), app_id)
        return None if score is None else int(score)

    async def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> persistence.PersistedStateData | None:
        pk = self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        try:
            if app_id is None:
                latest = await self.connection.zrevrange(self._partition_key(pk), 0, 0)
                if not latest:
                    return None
                app_id = _sync._s(latest[0])
            assert app_id is not None
            seq = await self._latest_seq(pk, app_id) if sequence_id is None else sequence_id
            if seq is None:
                return None
            values = await self.connection.hmget(self._step_key(pk, app_id, seq), _sync._FIELDS)
            if values[3] is None:
                return None
            target = _sync._stored(values, seq)
            chain = []
            if target.snapshot_seq is not None:
                chain = _sync._chain_rows(
                    await self._chain_script(
                        keys=[self._steps_key(pk, app_id)],
                        args=[self._step_key(pk, app_id, ""), target.snapshot_seq, seq - 1],
                    )
                )
            chain.append(target)
        except (redis.ConnectionError, redis.TimeoutError) as e:
            raise _sync._unavailable(f"loading app '{app_id}'", e) from e
        state = self._checkpoints.decode(pk, app_id, chain)
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=seq,
            position=_sync._s(values[1]),
            state=state,
            created_at=_sync._s(values[4]),
            status=_sync._s(values[2]),
        )

    async def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        pk = self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        return [_sync._s(a) for a in await self.connection.zrevrange(self._partition_key(pk), 0, -1)]

    async def list_steps(self, partition_key: str | None, app_id: str) -> list[StepInfo]:
        """Every stored step of ``app_id``, oldest first."""
        pk = self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        seqs = [int(_sync._s(s)) for s in await self.connection.zrange(self._steps_key(pk, app_id), 0, -1)]
        pipe = self.connection.pipeline(transaction=False)
        for s in seqs:
            pipe.hmget(
                self._step_key(pk, app_id, s), ("position", "status", "created_at", "snapshot_sequence_id")
            )
        return [
            StepInfo(
                s, _sync._s(v[0]), _sync._s(v[1]), _sync._s(v[2]), _sync._int(v[3]) is None, _sync._int(v[3])
            )
            for s, v in zip(seqs, await pipe.execute())
        ]

    async def delete_app(self, partition_key: str | None, app_id: str) -> int:
        """Delete every step of ``app_id``; returns the number of steps removed."""
        pk = self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        seqs = [int(_sync._s(s)) for s in await self.connection.zrange(self._steps_key(pk, app_id), 0, -1)]
        pipe = self.connection.pipeline(transaction=True)
        for s in seqs:
            pipe.delete(self._step_key(pk, app_id, s))
        pipe.delete(self._steps_key(pk, app_id))
        pipe.zrem(self._partition_key(pk), app_id)
        await pipe.execute()
        self._checkpoints.forget(pk, app_id)
        return len(seqs)

    async def prune(self, partition_key: str | None, app_id: str, keep_last: int) -> int:
        """Keep the last ``keep_last`` steps; the oldest kept one becomes a snapshot."""
        if keep_last < 1:
            raise ValueError(
                f"prune(keep_last={keep_last}) must keep at least one step; use delete_app to remove all."
            )
        pk = self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        plan = prune_plan(await self.list_steps(pk, app_id), keep_last)
        if plan is None:
            return 0
        steps_key = self._steps_key(pk, app_id)
        doomed = [
            int(_sync._s(s)) for s in await self.connection.zrangebyscore(steps_key, "-inf", plan.cut - 1)
        ]
        pipe = self.connection.pipeline(transaction=True)
        if plan.rewrite:
            record = await self.load(pk, app_id, plan.cut)
            assert record is not None
            payload = json.dumps(
                record["state"].serialize(**self.serde_kwargs), ensure_ascii=False, separators=(",", ":")
            )
            pipe.hset(
                self._step_key(pk, app_id, plan.cut), mapping={"state": payload, "snapshot_sequence_id": ""}
            )
            later = [
                int(_sync._s(s)) for s in await self.connection.zrangebyscore(steps_key, plan.cut + 1, "+inf")
            ]
            for s in later:
                snap = await self.connection.hget(self._step_key(pk, app_id, s), "snapshot_sequence_id")
                if _sync._int(snap) == plan.snap:
                    pipe.hset(self._step_key(pk, app_id, s), "snapshot_sequence_id", plan.cut)
        for s in doomed:
            pipe.delete(self._step_key(pk, app_id, s))
        pipe.zremrangebyscore(steps_key, "-inf", plan.cut - 1)
        await pipe.execute()
        self._checkpoints.forget(pk, app_id)
        return len(doomed)

    async def cleanup(self) -> None:
        """Close the client's connections."""
        await self.connection.aclose()

    async def __aenter__(self) -> AsyncRedisBasePersister:
        return self

    async def __aexit__(self, *exc: Any) -> Literal[False]:
        await self.cleanup()
        return False
