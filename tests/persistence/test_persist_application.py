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

# written by the real Apache Burr 0.43 (a copy of shared/fixtures, see its README)
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/apache-burr-0.43/apache-burr-persister.sqlite"


@action(reads=["chat"], writes=["chat"])
def chat(state: State) -> State:
    return state.append(chat=f"turn {len(state['chat'])}")


@action(reads=["counter"], writes=["counter"])
def counter(state: State) -> State:
    return state.update(counter=state["counter"] + 1)


@action(reads=["counter"], writes=["history"])
def remember(state: State) -> State:
    return state.append(history={"n": state["counter"]})


def chat_app(p: Any, app_id: str = "a", on_every: str = "step", notes: str = "", **fork: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(chat=chat)
        .with_transitions(("chat", "chat", default))
        .initialize_from(
            p,
            resume_at_next_action=True,
            default_state={"chat": [], "notes": notes},
            default_entrypoint="chat",
            **fork,
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
    app = chat_app(backend.make(), notes="n" * 600)  # big enough that a delta beats a snapshot
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


BURR_TABLE = (
    "CREATE TABLE {t} (partition_key TEXT DEFAULT '', app_id TEXT NOT NULL, sequence_id INTEGER NOT NULL, "
    "position TEXT NOT NULL, status TEXT NOT NULL, state {state} NOT NULL, created_at TIMESTAMP DEFAULT "
    "CURRENT_TIMESTAMP, PRIMARY KEY (partition_key, app_id, sequence_id, position))"
)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_table_in_apache_burr_schema_resumes_and_gets_columns_added(kind: str, tmp_path: Path) -> None:
    from persist_helpers import SyncBackend

    backend = SyncBackend(kind, tmp_path)
    try:
        if kind == "sqlite":
            import sqlite3

            conn: Any = sqlite3.connect(backend.path)
            conn.execute(BURR_TABLE.format(t=backend.table, state="TEXT"))
            rows = [("u", "a", i, "chat", "completed", _burr_state(i)) for i in range(3)]
            conn.executemany(
                f"INSERT INTO {backend.table} VALUES (?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)", rows
            )
            conn.commit()
            persister: Any = SQLitePersister(backend.path, backend.table)
        else:
            import psycopg
            from persist_helpers import PG

            from burr.integrations.persisters.b_psycopg2 import PostgreSQLPersister

            persister = PostgreSQLPersister.from_values(**PG, table_name=backend.table)
            backend.made.append(persister)
            conn = persister.connection
            conn.execute(BURR_TABLE.format(t=backend.table, state="JSONB"))
            for i in range(3):
                conn.execute(
                    f"INSERT INTO {backend.table} (partition_key, app_id, sequence_id, position, status, state) "
                    "VALUES (%s, %s, %s, %s, %s, %s::jsonb)",
                    ("u", "a", i, "chat", "completed", _burr_state(i)),
                )
            conn.commit()
            assert isinstance(conn, psycopg.Connection)
        app = chat_app(persister)  # no initialize(): Apache Burr's table is already there
        assert app.sequence_id == 2
        app.step()
        app.step()
        record = persister.load("u", "a")
        assert record["state"]["chat"] == [f"turn {i}" for i in range(5)]
        assert persister.load("u", "a", 1)["state"]["chat"] == ["turn 0", "turn 1"]
    finally:
        backend.close()


def _burr_state(i: int) -> str:
    import json

    return json.dumps(
        {"chat": [f"turn {k}" for k in range(i + 1)], "__SEQUENCE_ID": i, "__PRIOR_STEP": "chat"}
    )


class _Flaky:
    fail = True


@action(reads=["chat"], writes=["chat"])
def flaky(state: State) -> State:
    if _Flaky.fail and len(state["chat"]) == 2:
        raise RuntimeError("model timeout")
    return state.append(chat=f"turn {len(state['chat'])}")


def flaky_app(p: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(chat=flaky)
        .with_transitions(("chat", "chat", default))
        .initialize_from(p, resume_at_next_action=True, default_state={"chat": []}, default_entrypoint="chat")
        .with_state_persister(p)
        .with_identifiers(app_id="a", partition_key="u")
        .build()
    )


def test_failed_step_is_stored_and_rerun_on_resume(backend: Any) -> None:
    _Flaky.fail = True
    app = flaky_app(backend.make())
    app.step()
    app.step()
    with pytest.raises(RuntimeError, match="model timeout"):
        app.step()
    _Flaky.fail = False
    resumed = flaky_app(backend.make())
    resumed.step()
    steps = backend.make().list_steps("u", "a")
    assert [(s.sequence_id, s.status) for s in steps] == [
        (0, "completed"),
        (1, "completed"),
        (2, "failed"),
        (3, "completed"),
    ]
    assert backend.make().load("u", "a")["state"]["chat"] == ["turn 0", "turn 1", "turn 2"]


@action(reads=["chat"], writes=["chat"])
def ask(state: State) -> State:
    return state.append(chat=f"turn {len(state['chat'])}")


def cycle_app(p: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(a=ask, b=ask, c=ask)
        .with_transitions(("a", "b", default), ("b", "c", default), ("c", "a", default))
        .initialize_from(
            p,
            resume_at_next_action=True,
            default_state={"chat": [], "notes": "n" * 600},
            default_entrypoint="a",
        )
        .with_state_persister(p, on_every="halt")
        .with_identifiers(app_id="cyc", partition_key="u")
        .build()
    )


def test_halt_cadence_stores_a_multi_step_call_as_one_delta(backend: Any) -> None:
    app = cycle_app(backend.make())
    for _ in range(3):
        app.run(halt_after=["c"])  # three steps per call, one row per call
    steps = backend.make().list_steps("u", "cyc")
    assert [(s.sequence_id, s.is_snapshot) for s in steps] == [(2, True), (5, False), (8, False)]
    resumed = cycle_app(backend.make())
    resumed.run(halt_after=["c"])
    assert backend.make().load("u", "cyc")["state"]["chat"] == [f"turn {i}" for i in range(12)]
    assert not backend.make().list_steps("u", "cyc")[-1].is_snapshot
