"""SQLite loads a step's whole delta chain in one query and one json.loads (the bulk path);
it must give exactly what decoding the rows one by one gives, and fall back to it for odd rows."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from persist_helpers import chat_states

from burr.core.persistence import PersistedDataError, SQLitePersister

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/apache-burr-0.43/apache-burr-persister.sqlite"


def _stored(tmp_path: Path, n: int = 40, **kwargs: Any) -> SQLitePersister:
    p = SQLitePersister(str(tmp_path / "s.db"), "t", **kwargs)
    p.initialize()
    for s in chat_states(n):
        p.save("pk", "app", s["__SEQUENCE_ID"], "chat", s, "completed")
    return p


def _row_by_row(p: SQLitePersister, pk: str, app_id: str, seq: int | None) -> Any:
    return p._load_rows(pk, app_id, seq, p._sql if p._has_columns() else p._sql.legacy)


def _same(a: Any, b: Any) -> None:
    assert a is not None and b is not None
    assert dict(a["state"]) == dict(b["state"])
    assert (a["sequence_id"], a["position"], a["status"]) == (b["sequence_id"], b["position"], b["status"])


def test_bulk_load_matches_row_by_row_for_every_step(tmp_path: Path) -> None:
    p = _stored(tmp_path, snapshot_every=7)  # several snapshots, chains of every length
    fresh = SQLitePersister(p.db_path, "t")
    for seq in range(40):
        _same(fresh.load("pk", "app", seq), _row_by_row(fresh, "pk", "app", seq))


def test_bulk_load_of_latest_step_matches_row_by_row(tmp_path: Path) -> None:
    p = _stored(tmp_path)
    fresh = SQLitePersister(p.db_path, "t")
    loaded = fresh.load("pk", "app")
    _same(loaded, _row_by_row(fresh, "pk", "app", None))
    assert len(loaded["state"]["chat"]) == 40


def test_bulk_load_reads_a_long_delta_chain(tmp_path: Path) -> None:
    p = _stored(tmp_path, n=300)
    kinds = [r[0] for r in p.connection.execute("SELECT snapshot_sequence_id IS NULL FROM t")]
    assert kinds.count(0) > 200  # mostly deltas
    loaded = SQLitePersister(p.db_path, "t").load("pk", "app")
    assert loaded["state"]["chat"] == chat_states(300)[-1]["chat"]
    assert loaded["state"]["turns"] == 300


def test_bulk_load_matches_row_by_row_on_apache_burr_rows(tmp_path: Path) -> None:
    db = tmp_path / "apache.db"
    shutil.copy(FIXTURE, db)
    p = SQLitePersister(str(db), "burr_state")
    keys = p.connection.execute(
        "SELECT DISTINCT partition_key, app_id, sequence_id FROM burr_state"
    ).fetchall()
    assert keys
    for pk, app_id, seq in keys:
        _same(p.load(pk, app_id, seq), _row_by_row(p, pk, app_id, seq))


def test_first_save_after_bulk_load_is_a_delta(tmp_path: Path) -> None:
    p = _stored(tmp_path, n=10)
    fresh = SQLitePersister(p.db_path, "t")
    state = fresh.load("pk", "app")["state"]
    nxt = chat_states(1, start=state)[0]
    fresh.save("pk", "app", 10, "chat", nxt, "completed")
    snap = fresh.connection.execute("SELECT snapshot_sequence_id FROM t WHERE sequence_id = 10").fetchone()[0]
    assert snap is not None
    assert fresh.load("pk", "app")["state"]["turns"] == 11


def test_sequence_id_from_an_earlier_row_is_kept(tmp_path: Path) -> None:
    # the target row has no "r" record: the sequence id and prior step come from the row before
    p = _stored(tmp_path, n=8)
    p.connection.execute("""UPDATE t SET state = '[["a","chat",{"x":1}]]' WHERE sequence_id = 7""")
    fresh = SQLitePersister(p.db_path, "t")
    loaded = fresh.load("pk", "app")
    assert loaded["state"]["__SEQUENCE_ID"] == 6
    assert loaded["state"]["chat"][-1] == {"x": 1}
    _same(loaded, _row_by_row(fresh, "pk", "app", None))


@pytest.mark.parametrize(
    "payload, why",
    [('[["a","chat"', "not valid JSON"), ('{"not": "a list"}', "list of changes")],
)
def test_corrupt_delta_row_in_the_middle_names_app_step_and_row(
    tmp_path: Path, payload: str, why: str
) -> None:
    p = _stored(tmp_path, n=8)
    p.connection.execute("UPDATE t SET state = ? WHERE sequence_id = 4", (payload,))
    with pytest.raises(PersistedDataError, match=rf"step 7 of app 'app'.*row 4.*{why}"):
        SQLitePersister(p.db_path, "t").load("pk", "app")


def test_delta_of_a_missing_snapshot_is_reported(tmp_path: Path) -> None:
    p = _stored(tmp_path, n=8)
    snap = p.connection.execute("SELECT snapshot_sequence_id FROM t WHERE sequence_id = 7").fetchone()[0]
    assert snap is not None
    p.connection.execute("DELETE FROM t WHERE sequence_id = ?", (snap,))
    with pytest.raises(PersistedDataError, match=r"step 7 of app 'app'.*snapshot.*missing"):
        SQLitePersister(p.db_path, "t").load("pk", "app")


def test_newer_format_delta_in_the_middle_is_reported(tmp_path: Path) -> None:
    p = _stored(tmp_path, n=8)
    p.connection.execute("UPDATE t SET format_version = 9 WHERE sequence_id = 3")
    with pytest.raises(PersistedDataError, match=r"step 7 of app 'app'.*row 3.*newer burr"):
        SQLitePersister(p.db_path, "t").load("pk", "app")


def test_wal_is_bounded_by_default(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    assert p.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 64
    assert p.connection.execute("PRAGMA journal_size_limit").fetchone()[0] == 128 * 1024


def test_wal_limits_are_configurable(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"), wal_autocheckpoint=1000, journal_size_limit=-1)
    assert p.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert p.connection.execute("PRAGMA journal_size_limit").fetchone()[0] == -1
    copy = p.copy()
    assert copy.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000


def test_wal_limits_apply_to_a_passed_connection_only_when_given(tmp_path: Path) -> None:
    conn = sqlite3.connect(str(tmp_path / "s.db"))
    SQLitePersister("unused", connection=conn)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000  # SQLite's default
    SQLitePersister("unused", connection=conn, wal_autocheckpoint=50)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 50


def test_invalid_wal_limit_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="wal_autocheckpoint"):
        SQLitePersister(str(tmp_path / "s.db"), wal_autocheckpoint="64; DROP TABLE t")  # type: ignore[arg-type]


# -- the client/server SQL backends (one aggregate query) and async SQLite ------------------------

SQL_BACKENDS = ["sqlite", "postgresql", "mysql"]


def _save_chat(p: Any, n: int) -> None:
    for s in chat_states(n):
        p.save("pk", "app", s["__SEQUENCE_ID"], "chat", s, "completed")


@pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)
def test_bulk_load_matches_row_by_row_on_each_sql_backend(backend: Any) -> None:
    from burr.core._checkpoint import Checkpointer
    from burr.core._sql import chain_params, chain_rows
    from burr.integrations.persisters._plan import run_sync

    p = backend.make(snapshot_every=7)
    _save_chat(p, 30)
    fresh = backend.make()
    for seq in range(30):
        if backend.kind == "sqlite":
            bulk = fresh._load_bulk("pk", "app", seq)
            rows = _row_by_row(fresh, "pk", "app", seq)
        else:
            bulk = run_sync(fresh._load_bulk("pk", "app", seq))
            chain = fresh._fetch(fresh._sql.chain_exact, chain_params(False, "pk", "app", seq))
            rows = {**bulk, "state": Checkpointer().decode("pk", "app", chain_rows(chain))}
            fresh._end_read()
        assert isinstance(bulk, dict), f"step {seq}: the bulk path declined a plain chain"
        _same(bulk, rows)
    assert len(fresh.load("pk", "app")["state"]["chat"]) == 30


@pytest.mark.parametrize("backend", ["mysql"], indirect=True)
def test_truncated_group_concat_falls_back_to_row_by_row(backend: Any) -> None:
    p = backend.make()
    _save_chat(p, 30)
    fresh = backend.make()
    fresh.load("pk", "app")  # raises the session's limit once
    fresh._fetch("SET SESSION group_concat_max_len = 300")  # as if something lowered it again
    loaded = fresh.load("pk", "app")
    assert loaded["state"]["chat"] == chat_states(30)[-1]["chat"]


@pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)
def test_corrupt_delta_row_on_a_server_names_app_and_step(backend: Any) -> None:
    p = backend.make()
    _save_chat(p, 8)
    p._run(f"UPDATE {backend.table} SET format_version = 9 WHERE sequence_id = 3")
    p.connection.commit()
    with pytest.raises(PersistedDataError, match=r"step 7 of app 'app'.*row 3.*newer burr"):
        backend.make().load("pk", "app")


@pytest.mark.parametrize("abackend", ["aiosqlite", "asyncpg", "aiomysql"], indirect=True)
async def test_async_bulk_load_matches_row_by_row(abackend: Any) -> None:
    from burr.core._checkpoint import Checkpointer
    from burr.core._sql import chain_params, chain_rows
    from burr.integrations.persisters._plan import run_async

    p = await abackend.make(snapshot_every=7)
    for s in chat_states(20):
        await p.save("pk", "app", s["__SEQUENCE_ID"], "chat", s, "completed")
    for seq in (0, 5, 13, 19):
        bulk = await run_async(p._load_bulk("pk", "app", seq))
        assert isinstance(bulk, dict), f"step {seq}: the bulk path declined a plain chain"
        chain = await p._fetch(p._sql.chain_exact, chain_params(False, "pk", "app", seq))
        assert dict(bulk["state"]) == dict(Checkpointer().decode("pk", "app", chain_rows(chain)))


def test_mmap_reads_are_off_by_default_and_can_be_turned_on(tmp_path: Path) -> None:
    default = SQLitePersister(str(tmp_path / "s.db"))
    on = SQLitePersister(str(tmp_path / "s.db"), mmap_size=64 * 1024 * 1024)
    assert default.connection.execute("PRAGMA mmap_size").fetchone()[0] == 0
    assert on.connection.execute("PRAGMA mmap_size").fetchone()[0] == 64 * 1024 * 1024


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_redis_bulk_load_matches_row_by_row(backend: Any) -> None:
    from burr.core._checkpoint import Checkpointer
    from burr.integrations.persisters._redis_core import _chain_rows, _stored

    p = backend.make(snapshot_every=7)
    _save_chat(p, 30)
    fresh = backend.make()
    for seq in (0, 6, 7, 13, 29):
        loaded = fresh.load("pk", "app", seq)
        target = _stored(fresh.connection.hmget(fresh._step_key("pk", "app", seq), fresh_fields()), seq)
        chain = []
        if target.snapshot_seq is not None:
            flat = fresh._chain_script(
                keys=[fresh._steps_key("pk", "app")],
                args=[fresh._step_key("pk", "app", ""), target.snapshot_seq, seq - 1],
            )
            chain = _chain_rows(flat)
        expected = Checkpointer().decode("pk", "app", [*chain, target])
        assert dict(loaded["state"]) == dict(expected)


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_redis_newer_format_delta_in_the_middle_is_reported(backend: Any) -> None:
    p = backend.make()
    _save_chat(p, 8)
    p.connection.hset(p._step_key("pk", "app", 3), "format_version", 9)
    with pytest.raises(PersistedDataError, match=r"step 7 of app 'app'.*row 3.*newer burr"):
        backend.make().load("pk", "app")


def fresh_fields() -> tuple[str, ...]:
    from burr.core._sql import TARGET_FIELDS

    return TARGET_FIELDS


async def test_async_sqlite_from_values_bounds_the_wal(tmp_path: Path) -> None:
    from burr.integrations.persisters.b_aiosqlite import AsyncSQLitePersister

    p = await AsyncSQLitePersister.from_values(str(tmp_path / "s.db"), wal_autocheckpoint=100)
    try:
        assert (await p._fetch("PRAGMA wal_autocheckpoint"))[0][0] == 100
        assert (await p._fetch("PRAGMA journal_size_limit"))[0][0] == 128 * 1024
    finally:
        await p.cleanup()
