"""Async drivers: astep/arun/aiterate mirror the sync ones."""

from __future__ import annotations

from typing import Any

import pytest

from burr.core import Action, ApplicationBuilder, ApplicationContext, State, action, default, expr
from burr.core.persistence import AsyncInMemoryPersister


@action(reads=["count"], writes=["count"])
async def acounter(state: State) -> State:
    return state.update(count=state["count"] + 1)


@action(reads=["count"], writes=[])
def done(state: State) -> State:
    return state


def _builder() -> ApplicationBuilder:
    return (
        ApplicationBuilder()
        .with_actions(counter=acounter, done=done)
        .with_transitions(("counter", "counter", expr("count < 3")), ("counter", "done", default))
        .with_state(count=0)
        .with_entrypoint("counter")
    )


async def test_astep_runs_async_action() -> None:
    app = _builder().build()
    act, result, state = await app.astep()
    assert (act.name, result, state["count"], app.sequence_id) == ("counter", {}, 1, 0)


async def test_arun_returns_halt_after_triple() -> None:
    act, result, state = await _builder().build().arun(halt_after=["done"])
    assert (act.name, result, state["count"]) == ("done", {}, 3)


async def test_arun_halt_before() -> None:
    act, result, _ = await _builder().build().arun(halt_before=["done"])
    assert (act.name, result) == ("done", None)


async def test_aiterate_yields_every_step() -> None:
    names = [a.name async for a, _, _ in _builder().build().aiterate(halt_after=["done"])]
    assert names == ["counter", "counter", "counter", "done"]


async def test_astep_at_dead_end_returns_none() -> None:
    app = _builder().build()
    await app.arun(halt_after=["done"])
    assert await app.astep() is None


async def test_async_failure_consumes_sequence_id() -> None:
    @action(reads=[], writes=[])
    async def boom(state: State) -> State:
        raise RuntimeError("x")

    app = ApplicationBuilder().with_actions(boom=boom).with_transitions().with_entrypoint("boom").build()
    with pytest.raises(RuntimeError):
        await app.astep()
    assert app.sequence_id == 0


async def test_async_class_action_gets_mangled_context() -> None:
    class AsyncCtx(Action):
        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["app"]

        @property
        def inputs(self) -> list[str]:
            return ["__context"]

        async def run(self, state: State, __context: ApplicationContext) -> dict:
            return {"app": __context.app_id}

        def update(self, result: dict, state: State) -> State:
            return state.update(**result)

    app = (
        ApplicationBuilder()
        .with_actions(c=AsyncCtx())
        .with_transitions()
        .with_entrypoint("c")
        .with_identifiers(app_id="Z")
        .build()
    )
    assert (await app.astep())[2]["app"] == "Z"


async def test_context_get_inside_async_action() -> None:
    seen: list[Any] = []

    @action(reads=[], writes=[])
    async def look(state: State) -> State:
        seen.append(ApplicationContext.get())
        return state

    app = ApplicationBuilder().with_actions(look=look).with_transitions().with_entrypoint("look").build()
    await app.astep()
    assert seen[0].action_name == "look" and seen[0].sequence_id == 0


async def test_abuild_with_async_persister_saves_steps() -> None:
    persister = AsyncInMemoryPersister()
    app = (
        await _builder()
        .with_state_persister(persister)
        .with_identifiers(app_id="A", partition_key="pk")
        .abuild()
    )
    await app.arun(halt_after=["done"])
    record = await persister.load("pk", "A")
    assert (record["sequence_id"], record["position"], record["state"]["count"]) == (3, "done", 3)


async def test_abuild_loads_from_async_initializer() -> None:
    persister = AsyncInMemoryPersister()
    first = (
        await _builder()
        .with_state_persister(persister)
        .with_identifiers(app_id="A", partition_key="pk")
        .abuild()
    )
    await first.astep()
    app = await (
        ApplicationBuilder()
        .with_actions(counter=acounter, done=done)
        .with_transitions(("counter", "counter", expr("count < 3")), ("counter", "done", default))
        .initialize_from(
            persister, resume_at_next_action=True, default_state={"count": 0}, default_entrypoint="counter"
        )
        .with_identifiers(app_id="A", partition_key="pk")
        .abuild()
    )
    assert (app.state["count"], app.sequence_id) == (1, 0)


async def test_sync_build_rejects_async_initializer() -> None:
    builder = (
        ApplicationBuilder()
        .with_actions(counter=acounter)
        .with_transitions()
        .initialize_from(
            AsyncInMemoryPersister(),
            resume_at_next_action=True,
            default_state={},
            default_entrypoint="counter",
        )
    )
    with pytest.raises(ValueError, match="async initializer"):
        builder.build()
