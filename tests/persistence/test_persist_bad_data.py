"""Unreadable rows give a clear error naming app, step and key, and change nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from persist_helpers import chat_states

from burr.core.persistence import PersistedDataError, SQLitePersister
from burr.core.state import State


def _stored(tmp_path: Path, n: int = 6) -> SQLitePersister:
    p = SQLitePersister(str(tmp_path / "s.db"), "t")
    p.initialize()
    for s in chat_states(n):
        p.save("pk", "app", s["__SEQUENCE_ID"], "chat", s, "completed")
    return p


def _rows(p: SQLitePersister) -> list[tuple]:
    return p.connection.execute("SELECT * FROM t ORDER BY sequence_id").fetchall()


def test_newer_format_version_names_app_and_step(tmp_path: Path) -> None:
    p = _stored(tmp_path)
    p.connection.execute("UPDATE t SET format_version = 9 WHERE sequence_id = 5")
    before = _rows(p)
    with pytest.raises(PersistedDataError, match=r"step 5 of app 'app'.*newer burr"):
        SQLitePersister(p.db_path, "t").load("pk", "app")
    assert _rows(p) == before


def test_corrupt_json_names_app_and_step(tmp_path: Path) -> None:
    p = _stored(tmp_path)
    p.connection.execute("UPDATE t SET state = '{not json' WHERE sequence_id = 3")
    with pytest.raises(PersistedDataError, match=r"step 3 of app 'app'.*not valid JSON"):
        SQLitePersister(p.db_path, "t").load("pk", "app", 3)


def test_earlier_steps_still_load_when_a_later_row_is_corrupt(tmp_path: Path) -> None:
    p = _stored(tmp_path)
    p.connection.execute("UPDATE t SET state = 'garbage' WHERE sequence_id = 5")
    assert SQLitePersister(p.db_path, "t").load("pk", "app", 4)["sequence_id"] == 4


def test_unreadable_value_names_the_key(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"), "t")
    p.initialize()
    p.connection.execute(
        "INSERT INTO t (partition_key, app_id, sequence_id, position, status, state) VALUES "
        "('pk', 'app', 0, 'a', 'completed', '{\"x\": {\"__burr_serde__\": \"no_such_type\", \"value\": 1}}')"
    )
    with pytest.raises(PersistedDataError, match=r"step 0 of app 'app'.*key 'x'"):
        p.load("pk", "app")


def test_unknown_delta_record_is_reported(tmp_path: Path) -> None:
    p = _stored(tmp_path, 30)
    seq = p.connection.execute(
        "SELECT MAX(sequence_id) FROM t WHERE snapshot_sequence_id IS NOT NULL"
    ).fetchone()[0]
    p.connection.execute('UPDATE t SET state = \'[["zz", "k"]]\' WHERE sequence_id = ?', (seq,))
    with pytest.raises(PersistedDataError, match=f"step {seq} of app 'app'.*unknown delta record"):
        SQLitePersister(p.db_path, "t").load("pk", "app", seq)


def test_uninitialized_table_says_to_call_initialize(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"), "missing")
    assert p.is_initialized() is False
    with pytest.raises(RuntimeError, match=r"Uninitialized persister.*initialize\(\)"):
        p.load("pk", "app")


def test_duplicate_step_from_a_fresh_writer_conflicts(tmp_path: Path) -> None:
    from burr.core.persistence import StateConflictError

    p = _stored(tmp_path, 2)
    with pytest.raises(StateConflictError):
        SQLitePersister(p.db_path, "t").save("pk", "app", 1, "chat", State({"a": 1}), "completed")


def test_invalid_table_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a valid SQL identifier"):
        SQLitePersister(str(tmp_path / "s.db"), "t; DROP TABLE x")


def test_apache_burr_table_gets_columns_added_without_touching_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE burr_state (partition_key TEXT DEFAULT '', app_id TEXT NOT NULL, sequence_id INTEGER NOT NULL, "
        "position TEXT NOT NULL, status TEXT NOT NULL, state TEXT NOT NULL, created_at TIMESTAMP DEFAULT "
        "CURRENT_TIMESTAMP, PRIMARY KEY (partition_key, app_id, sequence_id, position))"
    )
    conn.execute(
        "INSERT INTO burr_state VALUES ('', 'a', 0, 'x', 'completed', '{\"n\": 1}', '2024-01-01 00:00:00')"
    )
    conn.commit()
    p = SQLitePersister(str(path))
    p.initialize()
    assert conn.execute("SELECT * FROM burr_state").fetchall()[0][:7] == (
        "",
        "a",
        0,
        "x",
        "completed",
        '{"n": 1}',
        "2024-01-01 00:00:00",
    )
    assert p.load("", "a")["state"]["n"] == 1
