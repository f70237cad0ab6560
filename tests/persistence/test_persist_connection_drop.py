"""A PostgreSQL connection killed mid-run: the step fails clearly, then the app resumes from the last commit."""

from __future__ import annotations

from typing import Any

import pytest
from persist_helpers import PG, SyncBackend, require_service
from test_persist_application import chat_app

from burr.core.persistence import StorageUnavailableError


def test_terminated_connection_fails_the_step_and_resume_continues(tmp_path: Any) -> None:
    require_service("postgresql")
    import psycopg

    backend = SyncBackend("postgresql", tmp_path)
    try:
        p = backend.make()
        app = chat_app(p)
        app.step()
        app.step()
        with psycopg.connect(
            dbname=PG["db_name"], user=PG["user"], host=PG["host"], port=PG["port"], autocommit=True
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (p.connection.info.backend_pid,))
        with pytest.raises(
            StorageUnavailableError, match="Lost the connection to PostgreSQL.*step 2 of app 'a'"
        ):
            app.step()
        resumed = chat_app(p)  # the persister reconnects with its connection values
        assert resumed.sequence_id == 1
        resumed.step()
        assert p.load("u", "a")["state"]["chat"] == ["turn 0", "turn 1", "turn 2"]
    finally:
        backend.close()


def test_postgresql_synchronous_commit_off_still_saves_and_loads(tmp_path: Any) -> None:
    from persist_helpers import chat_states

    backend = SyncBackend("postgresql", tmp_path)
    try:
        p = backend.make(synchronous_commit="off")
        states = chat_states(3)
        for s in states:
            p.save("pk", "app", s["__SEQUENCE_ID"], "chat", s, "completed")
        assert dict(backend.make().load("pk", "app")["state"]) == dict(states[-1])
    finally:
        backend.close()


def test_invalid_synchronous_commit_is_rejected() -> None:
    require_service("postgresql")
    from burr.integrations.persisters.b_psycopg2 import check_synchronous_commit

    with pytest.raises(ValueError, match="synchronous_commit='sometimes' is not valid"):
        check_synchronous_commit("sometimes")
