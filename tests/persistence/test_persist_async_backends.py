"""The async twins (aiosqlite, psycopg async, aiomysql, redis.asyncio) share the sync behaviour."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from persist_helpers import chat_states

from burr.core.persistence import StateConflictError
from burr.core.state import _commit


async def save_all(p: Any, states: list[Any], app_id: str = "app") -> None:
    for s in states:
        await p.save("pk", app_id, s["__SEQUENCE_ID"], "chat", s, "completed")


async def test_every_step_loads_its_own_state(abackend: Any) -> None:
    p = await abackend.make(snapshot_every=3)
    states = chat_states(10)
    await save_all(p, states)
    for s in states:
        assert dict((await p.load("pk", "app", s["__SEQUENCE_ID"]))["state"]) == dict(s)


async def test_appends_are_stored_as_deltas(abackend: Any) -> None:
    p = await abackend.make()
    await save_all(p, chat_states(20))
    assert sum(not s.is_snapshot for s in await p.list_steps("pk", "app")) > 10


async def test_load_latest_and_missing(abackend: Any) -> None:
    p = await abackend.make()
    await save_all(p, chat_states(3))
    assert (await p.load("pk", "app"))["sequence_id"] == 2
    assert await p.load("pk", "other") is None
    assert await p.list_app_ids("pk") == ["app"]


async def test_concurrent_resumers_exactly_one_advances(abackend: Any) -> None:
    first = await abackend.make()
    await save_all(first, chat_states(2))
    workers = [await abackend.make() for _ in range(3)]

    async def work(p: Any) -> str:
        loaded = (await p.load("pk", "app"))["state"]
        nxt = _commit(loaded, loaded.increment(turns=1), {"__SEQUENCE_ID": 2, "__PRIOR_STEP": "chat"})
        try:
            await p.save("pk", "app", 2, "chat", nxt, "completed")
            return "saved"
        except StateConflictError:
            return "conflict"

    outcomes = await asyncio.gather(*(work(p) for p in workers))
    assert sorted(outcomes) == ["conflict", "conflict", "saved"]


async def test_prune_and_delete(abackend: Any) -> None:
    p = await abackend.make(snapshot_every=4)
    states = chat_states(12)
    await save_all(p, states)
    await p.prune("pk", "app", keep_last=3)
    assert [s.sequence_id for s in await p.list_steps("pk", "app")] == [9, 10, 11]
    assert dict((await p.load("pk", "app", 9))["state"]) == dict(states[9])
    assert await p.delete_app("pk", "app") == 3
    assert await p.load("pk", "app") is None


async def test_async_persister_reports_async(abackend: Any) -> None:
    p = await abackend.make()
    assert p.is_async() is True
    assert await p.is_initialized() is True


@pytest.mark.parametrize("kind", ["aiosqlite"])
async def test_close_is_a_deprecated_cleanup(kind: str, tmp_path: Any) -> None:
    from burr.integrations.persisters.b_aiosqlite import AsyncSQLitePersister

    p = await AsyncSQLitePersister.from_values(str(tmp_path / "x.db"))
    await p.initialize()
    await p.close()
    with pytest.raises(ValueError):
        await p.load("pk", "app")
