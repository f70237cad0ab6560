"""PersisterHook cadences called directly, and through async applications."""

from __future__ import annotations

from typing import Any

import pytest
from persist_helpers import chat_states

from burr.core import ApplicationBuilder, State, action, default
from burr.core.persistence import (
    AsyncInMemoryPersister,
    InMemoryPersister,
    PersisterHook,
    PersisterHookAsync,
)
from burr.lifecycle.base import ExecuteMethod


class _Named:
    name = "chat"


def _step(hook: PersisterHook, state: Any, exception: Exception | None = None) -> None:
    hook.post_run_step(
        app_id="a",
        partition_key="pk",
        sequence_id=state["__SEQUENCE_ID"],
        state=state,
        action=_Named(),
        result={},
        exception=exception,
    )


def _end(hook: PersisterHook) -> None:
    hook.post_run_execute_call(
        app_id="a", partition_key="pk", state=State(), method=ExecuteMethod.run, exception=None
    )


def test_step_cadence_saves_positionally_with_status() -> None:
    p = InMemoryPersister()
    s = chat_states(1)[0]
    _step(PersisterHook(p), s, exception=ValueError("boom"))
    record = p.load("pk", "a")
    assert (record["sequence_id"], record["position"], record["status"]) == (0, "chat", "failed")


def test_halt_cadence_saves_only_the_last_step_at_the_end_of_the_call() -> None:
    p = InMemoryPersister()
    hook = PersisterHook(p, "halt")
    for s in chat_states(3):
        _step(hook, s)
    assert p.load("pk", "a") is None
    _end(hook)
    assert [r["sequence_id"] for r in p._storage["pk"]["a"]] == [2]


def test_write_behind_flushes_every_step_in_order() -> None:
    p = InMemoryPersister()
    hook = PersisterHook(p, "write_behind")
    for s in chat_states(50):
        _step(hook, s)
    _end(hook)
    assert [r["sequence_id"] for r in p._storage["pk"]["a"]] == list(range(50))


def test_write_behind_reports_a_background_failure_at_flush() -> None:
    class Broken(InMemoryPersister):
        def save(self, *args: Any, **kwargs: Any) -> None:
            raise OSError("disk full")

    hook = PersisterHook(Broken(), "write_behind")
    _step(hook, chat_states(1)[0])
    with pytest.raises(RuntimeError, match="background.*disk full"):
        _end(hook)


@action(reads=["chat"], writes=["chat"])
async def achat(state: State) -> State:
    return state.append(chat="x")


async def _async_app(p: Any, on_every: str) -> Any:
    return await (
        ApplicationBuilder()
        .with_actions(chat=achat)
        .with_transitions(("chat", "chat", default))
        .initialize_from(p, resume_at_next_action=True, default_state={"chat": []}, default_entrypoint="chat")
        .with_state_persister(p, on_every=on_every)
        .with_identifiers(app_id="a", partition_key="pk")
        .abuild()
    )


@pytest.mark.parametrize("on_every", ["step", "halt", "write_behind"])
async def test_async_app_saves_with_each_cadence(on_every: str, abackend: Any) -> None:
    p = await abackend.make()
    app = await _async_app(p, on_every)
    for _ in range(3):
        await app.astep()
    resumed = await _async_app(await abackend.make(), on_every)
    assert resumed.sequence_id == 2
    assert resumed.state["chat"] == ["x", "x", "x"]


async def test_async_hook_rejects_unknown_cadence() -> None:
    with pytest.raises(ValueError, match="on_every 'never' not supported"):
        PersisterHookAsync(AsyncInMemoryPersister(), "never")


def test_idle_write_behind_thread_exits_and_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from burr.core import _write_behind

    monkeypatch.setattr(_write_behind, "IDLE_S", 0.05)
    p = InMemoryPersister()
    writer = _write_behind.WriteBehind(p)
    states = chat_states(2)
    writer.submit(("pk", "a", 0, "chat", states[0], "completed"))
    writer.flush()
    deadline = time.monotonic() + 5
    while writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer._thread is None
    writer.submit(("pk", "a", 1, "chat", states[1], "completed"))
    writer.flush()
    assert [r["sequence_id"] for r in p._storage["pk"]["a"]] == [0, 1]
