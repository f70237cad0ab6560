"""SQLitePersister specifics: Apache Burr's constructor surface, pragmas, pickling, batching."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import pytest
from persist_helpers import chat_states

from burr.core.persistence import SQLitePersister, SQLLitePersister, StateConflictError
from burr.core.state import State


def test_alias_is_the_same_class() -> None:
    assert SQLLitePersister is SQLitePersister


def test_memory_database_works() -> None:
    p = SQLitePersister(":memory:")
    p.initialize()
    p.save(None, "a", 0, "x", State({"n": 1}), "completed")
    assert p.load(None, "a")["state"]["n"] == 1


def test_fresh_persister_on_existing_table_reports_initialized(tmp_path: Path) -> None:
    SQLitePersister(tmp_path / "s.db").initialize()
    assert SQLitePersister(tmp_path / "s.db").is_initialized() is True


def test_opened_connections_use_wal_and_normal_sync(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    assert p.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert p.connection.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_synchronous_full_can_be_chosen(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"), synchronous="FULL")
    assert p.connection.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_invalid_pragma_value_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SQLitePersister(str(tmp_path / "s.db"), synchronous="SOMETIMES")


def test_user_connection_is_used_as_given(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db")
    p = SQLitePersister("ignored", connection=conn)
    p.initialize()
    p.save("pk", "a", 0, "x", State({"n": 1}), "completed")
    assert sqlite3.connect(tmp_path / "s.db").execute("SELECT COUNT(*) FROM burr_state").fetchone()[0] == 1


def test_from_config_and_copy_share_the_file(tmp_path: Path) -> None:
    p = SQLitePersister.from_config({"db_path": str(tmp_path / "s.db"), "table_name": "t"})
    p.initialize()
    p.save("pk", "a", 0, "x", State({"n": 1}), "completed")
    c = p.copy()
    assert c.connection is not p.connection
    assert c.load("pk", "a")["state"]["n"] == 1


def test_pickled_persister_reopens_its_file(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    p.initialize()
    p.save("pk", "a", 0, "x", State({"n": 1}), "completed")
    assert pickle.loads(pickle.dumps(p)).load("pk", "a")["state"]["n"] == 1


def test_context_manager_closes_the_connection(tmp_path: Path) -> None:
    with SQLitePersister(str(tmp_path / "s.db")) as p:
        p.initialize()
    with pytest.raises(sqlite3.ProgrammingError):
        p.connection.execute("SELECT 1")


def test_duplicate_step_is_also_an_integrity_error(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    p.initialize()
    p.save("pk", "a", 0, "x", State({"n": 1}), "completed")
    with pytest.raises(sqlite3.IntegrityError) as info:
        SQLitePersister(str(tmp_path / "s.db")).save("pk", "a", 0, "x", State({"n": 1}), "completed")
    assert isinstance(info.value, StateConflictError)


def test_save_many_writes_a_batch_atomically(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    p.initialize()
    states = chat_states(5)
    p.save_many([("pk", "a", s["__SEQUENCE_ID"], "chat", s, "completed") for s in states])
    bad = [("pk", "b", 0, "chat", states[0], "completed"), ("pk", "a", 2, "chat", states[2], "completed")]
    with pytest.raises(StateConflictError):
        p.save_many(bad)
    assert p.load("pk", "b") is None
    assert dict(p.load("pk", "a")["state"]) == dict(states[-1])


def test_list_app_ids_newest_first(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    p.initialize()
    p.connection.execute(
        "INSERT INTO burr_state (partition_key, app_id, sequence_id, position, status, state, created_at) VALUES "
        "('pk', 'old', 0, 'x', 'completed', '{}', '2020-01-01 00:00:00')"
    )
    p.save("pk", "new", 0, "x", State({}), "completed")
    assert p.list_app_ids("pk") == ["new", "old"]


def test_load_without_app_id_returns_the_latest_app(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    p.initialize()
    p.connection.execute(
        "INSERT INTO burr_state (partition_key, app_id, sequence_id, position, status, state, created_at) VALUES "
        "('pk', 'old', 0, 'x', 'completed', '{}', '2020-01-01 00:00:00')"
    )
    p.save("pk", "new", 0, "x", State({"n": 2}), "completed")
    assert p.load("pk", None)["app_id"] == "new"
