"""The Redis persisters' layout, save script and the plan of every operation (sync and async).

See ``b_redis`` for the key layout. ``RedisBasePersister`` and ``AsyncRedisBasePersister`` run
these plans (see ``_plan``) with a ``redis.Redis`` or a ``redis.asyncio.Redis`` client.
"""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

try:
    import redis
except ImportError as e:  # pragma: no cover
    from burr.integrations.base import require_plugin

    require_plugin(e, "redis")

from burr.core import persistence
from burr.core._checkpoint import (
    DEFAULT_SNAPSHOT_EVERY,
    DEFAULT_SNAPSHOT_RATIO,
    FORMAT_VERSION,
    Checkpointer,
    Row,
    StoredRow,
    conflict_message,
    join_chain,
    snapshot_payload,
)
from burr.core._sql import TARGET_FIELDS, StepInfo, check_keep_last, prune_plan
from burr.core.state import State
from burr.integrations.persisters._plan import Plan, call

_P = TypeVar("_P", bound="_RedisPlans")

# KEYS: partition zset, app steps zset, step hash. ARGV: app_id, seq, low, high, field, value, ...
_SAVE_LUA = """
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local head = -1
if top[2] then head = tonumber(top[2]) else
  local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if s then head = tonumber(s) end
end
if head < tonumber(ARGV[3]) or head > tonumber(ARGV[4]) then return {0, head} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {0, head} end
redis.call('HSET', KEYS[3], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return {1, head}
"""

# One round trip for a whole delta chain. The step hashes are not declared in KEYS (their names
# come from the index), so this needs a single Redis node, not Redis Cluster.
_CHAIN_LUA = """
local seqs = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3])
local out = {}
for _, s in ipairs(seqs) do
  local v = redis.call('HMGET', ARGV[1] .. s, 'position', 'state', 'format_version', 'snapshot_sequence_id')
  out[#out + 1] = s
  out[#out + 1] = v[1] or ''
  out[#out + 1] = v[2] or ''
  out[#out + 1] = v[3] or ''
  out[#out + 1] = v[4] or ''
end
return out
"""

# The same chain as one string (payloads joined with ","), and how many rows are not part of a
# plain chain starting at ARGV[2] (a newer format, a missing snapshot ...: then read row by row).
# ARGV: step key prefix, first, last, format version. Returns odd, rows, bytes of the first, text.
_CHAIN_BULK_LUA = """
local seqs = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3])
local parts = {}
local odd = 0
local v = tonumber(ARGV[4])
for i, s in ipairs(seqs) do
  local r = redis.call('HMGET', ARGV[1] .. s, 'state', 'format_version', 'snapshot_sequence_id')
  local fmt = tonumber(r[2] or '')
  local snap = r[3] or ''
  if i == 1 then
    if s ~= ARGV[2] or snap ~= '' or (fmt ~= nil and fmt > v) then odd = odd + 1 end
  elseif snap ~= ARGV[2] or fmt ~= v then
    odd = odd + 1
  end
  if not r[1] then odd = odd + 1 else parts[#parts + 1] = r[1] end
end
local first_len = 0
if parts[1] then first_len = #parts[1] end
return {odd, #parts, first_len, table.concat(parts, ',')}
"""

_FIELDS = TARGET_FIELDS


def _s(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _int(value: Any) -> int | None:
    value = _s(value)
    return None if value in (None, "") else int(value)


def _ints(values: list[Any]) -> list[int]:
    return [int(_s(v)) for v in values]


class RedisStateConflictError(persistence.StateConflictError, ValueError):
    """A conflict on Redis (also a ValueError, which Apache Burr raised for an existing step key)."""


def _conflict(row: Row, stored: int, expected: int | None) -> persistence.StateConflictError:
    stored_seq = None if stored < 0 else stored
    return RedisStateConflictError(
        conflict_message(row.partition_key, row.app_id, row.sequence_id, stored_seq, expected),
        partition_key=row.partition_key,
        app_id=row.app_id,
        sequence_id=row.sequence_id,
        stored_sequence_id=stored_seq,
    )


def _stored(values: list[Any], seq: int) -> StoredRow:
    _, position, _, state, _, fmt, snap = values
    return StoredRow(seq, _s(state), _int(fmt), _int(snap), _s(position))


def _chain_rows(flat: list[Any]) -> list[StoredRow]:
    return [
        StoredRow(int(_s(flat[i])), _s(flat[i + 2]), _int(flat[i + 3]), _int(flat[i + 4]), _s(flat[i + 1]))
        for i in range(0, len(flat), 5)
    ]


def _unavailable(what: str, e: BaseException) -> persistence.StorageUnavailableError:
    return persistence.StorageUnavailableError(
        f"Lost the connection to Redis while {what}: {e}. Nothing was saved for this step; the last committed "
        "step is intact. Reload the application with initialize_from(...) once Redis is reachable."
    )


class _RedisPlans:
    """Keys, settings and the plan of every operation (see ``_plan``); the same for both clients.

    Plans call the client's methods and never await: with ``redis.asyncio`` each call returns an
    awaitable, which the async driver awaits. Pipeline commands only queue, on either client.
    """

    PARTITION_KEY_DEFAULT = ""
    _connection_errors = (redis.ConnectionError, redis.TimeoutError)
    _client_class: Any  # redis.Redis or redis.asyncio.Redis

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
        self._script = connection.register_script(_SAVE_LUA)
        self._chain_script = connection.register_script(_CHAIN_LUA)
        self._chain_bulk_script = connection.register_script(_CHAIN_BULK_LUA)

    @classmethod
    def from_values(
        cls: type[_P],
        host: str,
        port: int,
        db: int,
        password: str | None = None,
        serde_kwargs: dict[str, Any] | None = None,
        redis_client_kwargs: dict[str, Any] | None = None,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> _P:
        """Connect a client with these values."""
        kw = redis_client_kwargs or {}
        client = cls._client_class(host=host, port=port, db=db, password=password, **kw)
        return cls(client, serde_kwargs, namespace, **kwargs)

    def set_serde_kwargs(self, serde_kwargs: dict[str, Any]) -> None:
        self._checkpoints.serde_kwargs = dict(serde_kwargs)

    @property
    def serde_kwargs(self) -> dict[str, Any]:
        return self._checkpoints.serde_kwargs

    def _settings(self) -> tuple[dict[str, Any], str | None, int, float]:
        """Constructor arguments after ``connection`` (for ``copy``)."""
        cp = self._checkpoints
        return self.serde_kwargs, self.namespace, cp.snapshot_every, cp.snapshot_ratio

    def _pk(self, partition_key: str | None) -> str:
        return self.PARTITION_KEY_DEFAULT if partition_key is None else partition_key

    # -- keys -----------------------------------------------------------------------------------

    def _prefix(self) -> str:
        return f"{self.namespace}:" if self.namespace else ""

    def _partition_key(self, pk: str) -> str:
        return f"{self._prefix()}{pk}"

    def _steps_key(self, pk: str, app_id: str) -> str:
        return f"{self._prefix()}{pk}:{app_id}:__steps"

    def _step_key(self, pk: str, app_id: str, seq: int | str) -> str:
        return f"{self._prefix()}{pk}:{app_id}:{seq}"

    def _save_args(self, row: Row) -> tuple[list[str], list[Any]]:
        keys = [
            self._partition_key(row.partition_key),
            self._steps_key(row.partition_key, row.app_id),
            self._step_key(row.partition_key, row.app_id, row.sequence_id),
        ]
        fields = {
            "partition_key": row.partition_key,
            "app_id": row.app_id,
            "sequence_id": row.sequence_id,
            "position": row.position,
            "status": row.status,
            "state": row.payload,
            "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "format_version": FORMAT_VERSION,
            "snapshot_sequence_id": "" if row.snapshot_seq is None else row.snapshot_seq,
        }
        args: list[Any] = [row.app_id, row.sequence_id, row.head_low, row.head_high]
        for k, v in fields.items():
            args += [k, v]
        return keys, args

    # -- plans ----------------------------------------------------------------------------------

    def _save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: str,
    ) -> Plan[None]:
        pk = self._pk(partition_key)
        row, head = self._checkpoints.prepare(pk, app_id, sequence_id, position, state, status)
        keys, args = self._save_args(row)
        try:
            ok, stored = yield call(self._script, keys=keys, args=args)
        except self._connection_errors as e:
            self._checkpoints.forget(pk, app_id)
            raise _unavailable(f"saving step {sequence_id} of app '{app_id}'", e) from e
        if not ok:
            expected = self._checkpoints.expected_head(pk, app_id)
            self._checkpoints.forget(pk, app_id)
            raise _conflict(row, int(stored), expected)
        self._checkpoints.commit(row, head)

    def _latest_seq(self, pk: str, app_id: str) -> Plan[int | None]:
        top = yield call(self.connection.zrevrange, self._steps_key(pk, app_id), 0, 0)
        if top:
            return int(_s(top[0]))
        score = yield call(self.connection.zscore, self._partition_key(pk), app_id)
        return None if score is None else int(score)

    def _load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None
    ) -> Plan[persistence.PersistedStateData | None]:
        pk = self._pk(partition_key)
        try:
            if app_id is None:
                latest = yield call(self.connection.zrevrange, self._partition_key(pk), 0, 0)
                if not latest:
                    return None
                app_id = _s(latest[0])
            assert app_id is not None
            seq = (yield from self._latest_seq(pk, app_id)) if sequence_id is None else sequence_id
            if seq is None:
                return None
            values = yield call(self.connection.hmget, self._step_key(pk, app_id, seq), _FIELDS)
            if values[3] is None:
                return None
            target = _stored(values, seq)
            state = None
            chain = []
            if target.snapshot_seq is not None:
                steps, first = self._steps_key(pk, app_id), target.snapshot_seq
                prefix = self._step_key(pk, app_id, "")
                if target.format_version == FORMAT_VERSION:
                    # the whole chain in one string: one json.loads and one replay loop
                    odd, count, snap_bytes, joined = yield call(
                        self._chain_bulk_script, keys=[steps], args=[prefix, first, seq - 1, FORMAT_VERSION]
                    )
                    if not odd and count:
                        text = join_chain([_s(joined), target.payload])
                        state = self._checkpoints.decode_bulk(
                            pk,
                            app_id,
                            seq,
                            target.position or "",
                            text,
                            int(count) + 1,
                            first,
                            int(snap_bytes),
                        )
                if state is None:
                    flat = yield call(self._chain_script, keys=[steps], args=[prefix, first, seq - 1])
                    chain = _chain_rows(flat)
            chain.append(target)
        except self._connection_errors as e:
            raise _unavailable(f"loading app '{app_id}'", e) from e
        return persistence.PersistedStateData(
            partition_key=pk,
            app_id=app_id,
            sequence_id=seq,
            position=_s(values[1]),
            state=state if state is not None else self._checkpoints.decode(pk, app_id, chain),
            created_at=_s(values[4]),
            status=_s(values[2]),
        )

    def _list_app_ids(self, partition_key: str | None) -> Plan[list[str]]:
        apps = yield call(self.connection.zrevrange, self._partition_key(self._pk(partition_key)), 0, -1)
        return [_s(a) for a in apps]

    def _list_steps(self, partition_key: str | None, app_id: str) -> Plan[list[StepInfo]]:
        pk = self._pk(partition_key)
        seqs = _ints((yield call(self.connection.zrange, self._steps_key(pk, app_id), 0, -1)))
        pipe = self.connection.pipeline(transaction=False)
        for s in seqs:
            pipe.hmget(
                self._step_key(pk, app_id, s), ("position", "status", "created_at", "snapshot_sequence_id")
            )
        return [
            StepInfo(s, _s(v[0]), _s(v[1]), _s(v[2]), _int(v[3]) is None, _int(v[3]))
            for s, v in zip(seqs, (yield call(pipe.execute)))
        ]

    def _delete_app(self, partition_key: str | None, app_id: str) -> Plan[int]:
        pk = self._pk(partition_key)
        seqs = _ints((yield call(self.connection.zrange, self._steps_key(pk, app_id), 0, -1)))
        pipe = self.connection.pipeline(transaction=True)
        for s in seqs:
            pipe.delete(self._step_key(pk, app_id, s))
        pipe.delete(self._steps_key(pk, app_id))
        pipe.zrem(self._partition_key(pk), app_id)
        yield call(pipe.execute)
        self._checkpoints.forget(pk, app_id)
        return len(seqs)

    def _prune(self, partition_key: str | None, app_id: str, keep_last: int) -> Plan[int]:
        check_keep_last(keep_last)
        pk = self._pk(partition_key)
        plan = prune_plan((yield from self._list_steps(pk, app_id)), keep_last)
        if plan is None:
            return 0
        steps_key = self._steps_key(pk, app_id)
        doomed = _ints((yield call(self.connection.zrangebyscore, steps_key, "-inf", plan.cut - 1)))
        pipe = self.connection.pipeline(transaction=True)
        if plan.rewrite:
            record = yield from self._load(pk, app_id, plan.cut)
            assert record is not None
            payload = snapshot_payload(record["state"], self.serde_kwargs)
            pipe.hset(
                self._step_key(pk, app_id, plan.cut), mapping={"state": payload, "snapshot_sequence_id": ""}
            )
            later = _ints((yield call(self.connection.zrangebyscore, steps_key, plan.cut + 1, "+inf")))
            snaps = self.connection.pipeline(transaction=False)
            for s in later:
                snaps.hget(self._step_key(pk, app_id, s), "snapshot_sequence_id")
            for s, snap in zip(later, (yield call(snaps.execute))):
                if _int(snap) == plan.snap:
                    pipe.hset(self._step_key(pk, app_id, s), "snapshot_sequence_id", plan.cut)
        for s in doomed:
            pipe.delete(self._step_key(pk, app_id, s))
        pipe.zremrangebyscore(steps_key, "-inf", plan.cut - 1)
        yield call(pipe.execute)
        self._checkpoints.forget(pk, app_id)
        return len(doomed)
