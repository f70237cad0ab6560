"""Persistence through ApplicationBuilder: resume, fork, conflicts, cadences, Apache Burr's files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from burr.core import ApplicationBuilder, State, action, default
from burr.core.persistence import (
    InMemoryPersister,
    PersisterHook,
    SQLitePersister,
    StateConflictError,
)

FIXTURE = Path("/work/shared/fixtures/apache-burr-0.43/apache-burr-persister.sqlite")


@action(reads=["chat"], writes=["chat"])
def chat(state: State) -> State:
    return state.append(chat=f"turn {len(state['chat'])}")


@action(reads=["counter"], writes=["counter"])
def counter(state: State) -> State:
    return state.update(counter=state["counter"] + 1)


@action(reads=["counter"], writes=["history"])
def remember(state: State) -> State:
    return state.append(history={"n": state["counter"]})


def chat_app(p: Any, app_id: str = "a", on_every: str = "step", **fork: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(chat=chat)
        .with_transitions(("chat", "chat", default))
        .initialize_from(
            p, resume_at_next_action=True, default_state={"chat": []}, default_entrypoint="chat", **fork
        )
        .with_state_persister(p, on_every=on_every)
        .with_identifiers(app_id=app_id, partition_key="u")
        .build()
    )


def test_resume_continues_the_sequence(backend: Any) -> None:
    app = chat_app(backend.make())
    for _ in range(4):
        app.step()
    resumed = chat_app(backend.make())
    resumed.step()
    assert resumed.sequence_id == 4
    assert backend.make().load("u", "a")["state"]["chat"] == [f"turn {i}" for i in range(5)]


def test_resumed_steps_are_stored_as_deltas(backend: Any) -> None:
    app = chat_app(backend.make())
    for _ in range(6):
        app.step()
    resumed = chat_app(backend.make())
    resumed.step()
    assert not backend.make().list_steps("u", "a")[-1].is_snapshot


def test_fork_starts_a_new_app_from_a_past_step(backend: Any) -> None:
    app = chat_app(backend.make())
    for _ in range(5):
        app.step()
    fork = chat_app(
        backend.make(), app_id="f", fork_from_app_id="a", fork_from_partition_key="u", fork_from_sequence_id=1
    )
    fork.step()
    reader = backend.make()
    assert reader.load("u", "f")["state"]["chat"] == ["turn 0", "turn 1", "turn 2"]
    assert fork.parent_pointer.sequence_id == 1
    assert reader.load("u", "a")["sequence_id"] == 4


def test_second_worker_on_the_same_app_gets_a_conflict(backend: Any) -> None:
    chat_app(backend.make()).step()
    w1, w2 = chat_app(backend.make()), chat_app(backend.make())
    w1.step()
    with pytest.raises(StateConflictError, match="initialize_from"):
        w2.step()
    assert [s.sequence_id for s in backend.make().list_steps("u", "a")] == [0, 1]


def test_halt_cadence_saves_only_when_the_call_returns(backend: Any) -> None:
    p = backend.make()
    app = chat_app(p, on_every="halt")
    app.run(halt_after=["chat"])  # one step
    for _ in range(3):
        app.step()
    assert [s.sequence_id for s in p.list_steps("u", "a")] == [0, 1, 2, 3]
    app2 = chat_app(backend.make(), on_every="halt")
    gen = app2.iterate(halt_after=[])
    for _ in range(3):
        next(gen)
    gen.close()
    assert backend.make().load("u", "a")["state"]["chat"][-1] == "turn 6"


def test_write_behind_cadence_saves_every_step_by_the_end_of_the_call(backend: Any) -> None:
    p = backend.make()
    app = chat_app(p, on_every="write_behind")
    for _ in range(20):
        app.step()
    assert [s.sequence_id for s in backend.make().list_steps("u", "a")] == list(range(20))
    assert backend.make().load("u", "a")["state"]["chat"][-1] == "turn 19"


def test_unknown_cadence_is_rejected_with_the_valid_values() -> None:
    with pytest.raises(ValueError, match="on_every 'sometimes' not supported.*'halt'"):
        PersisterHook(InMemoryPersister(), "sometimes")


def test_in_memory_persister_resumes(tmp_path: Path) -> None:
    p = InMemoryPersister()
    app = chat_app(p)
    app.step()
    app.step()
    assert chat_app(p).state["chat"] == ["turn 0", "turn 1"]


def _burr_copy(tmp_path: Path) -> SQLitePersister:
    path = tmp_path / "burr.sqlite"
    shutil.copy(FIXTURE, path)
    return SQLitePersister(str(path), "burr_state")


def counter_app(p: Any, app_id: str, **fork: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(counter=counter, remember=remember)
        .with_transitions(("counter", "remember", default), ("remember", "counter", default))
        .initialize_from(
            p,
            resume_at_next_action=True,
            default_state={"counter": 0, "history": []},
            default_entrypoint="counter",
            **fork,
        )
        .with_state_persister(p)
        .with_identifiers(app_id=app_id, partition_key="user-1")
        .build()
    )


def test_rows_written_by_apache_burr_load(tmp_path: Path) -> None:
    loaded = _burr_copy(tmp_path).load("user-1", "counter-app")
    assert loaded["sequence_id"] == 5
    assert loaded["state"]["message"] == "count is 3 and done"
    assert loaded["state"]["squares"] == [0, 1, 4]


def test_apache_burr_history_resumes_and_continues_with_deltas(tmp_path: Path) -> None:
    p = _burr_copy(tmp_path)
    app = counter_app(p, "forked-app")
    assert app.sequence_id == 3
    app.step()
    app.step()
    reread = SQLitePersister(p.db_path, "burr_state")
    assert reread.load("user-1", "forked-app")["state"]["history"] == [{"n": 3}, {"n": 4}]
    assert reread.load("user-1", "counter-app", 2)["state"]["counter"] == 3  # Burr's rows untouched


def test_apache_burr_history_forks(tmp_path: Path) -> None:
    p = _burr_copy(tmp_path)
    fork = counter_app(
        p, "new", fork_from_app_id="counter-app", fork_from_partition_key="user-1", fork_from_sequence_id=3
    )
    fork.step()
    assert p.load("user-1", "new")["state"]["counter"] == 4
    assert "new" in p.list_app_ids("user-1")
