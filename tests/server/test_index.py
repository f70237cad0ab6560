"""The SQLite index: incremental tailing from byte offsets, no rescans of indexed bytes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from burr.tracking.server import queries
from burr.tracking.server.index import TrackingIndex
from tests.server.conftest import append_text, log_entry


@pytest.fixture
def index(fixture_storage: Path) -> TrackingIndex:
    """An index over the fixture storage after one full sweep."""
    index = TrackingIndex(str(fixture_storage))
    index.update(full=True)
    return index


def _row(index: TrackingIndex, app_id: str) -> sqlite3.Row:
    row = queries.get_app(index.reader(), "demo_fixture", app_id)
    assert row is not None
    return row


def _steps(index: TrackingIndex, app_id: str) -> int:
    return int(_row(index, app_id)["num_steps"])


def test_index_picks_up_appended_steps_on_a_full_sweep(index: TrackingIndex, forked_log: Path) -> None:
    append_text(forked_log, log_entry(4) + log_entry(5))
    index.update(full=True)
    assert _steps(index, "forked-app") == 4


def test_index_picks_up_a_live_apps_steps_on_a_quick_tick(index: TrackingIndex, forked_log: Path) -> None:
    append_text(forked_log, log_entry(4))
    index.update(full=True)  # the app changed after the first pass: it is live now
    append_text(forked_log, log_entry(5))
    index.update(full=False)
    assert _steps(index, "forked-app") == 4


def test_index_reads_only_bytes_after_its_offset(index: TrackingIndex, forked_log: Path) -> None:
    # same size, different early bytes: an indexer that re-read the file would notice the new action name
    text = forked_log.read_text()
    forked_log.write_text(text.replace('"action":"counter"', '"action":"COUNTER"'))
    append_text(forked_log, log_entry(4))
    index.update(full=True)
    actions = [
        s["action"] for s in queries.list_steps(index.reader(), _row(index, "forked-app")["id"])["steps"]
    ]
    assert actions[0] == "counter"


def test_index_discovers_new_apps_on_a_quick_tick(index: TrackingIndex, fixture_storage: Path) -> None:
    shutil.copytree(
        fixture_storage / "demo_fixture" / "forked-app", fixture_storage / "demo_fixture" / "new-app"
    )
    index.update(full=False)
    assert _steps(index, "new-app") == 2


def test_index_restarts_an_app_whose_log_shrank(index: TrackingIndex, fixture_storage: Path) -> None:
    (fixture_storage / "demo_fixture" / "counter-app" / "log.jsonl").write_text(log_entry(0))
    index.update(full=True)
    assert _steps(index, "counter-app") == 1


def test_index_survives_a_restart_without_reindexing(index: TrackingIndex, fixture_storage: Path) -> None:
    index.stop()
    again = TrackingIndex(str(fixture_storage))
    assert again.update(full=True) == 0 and _steps(again, "counter-app") == 6


def test_index_keeps_annotations_when_its_schema_changes(fixture_storage: Path) -> None:
    index = TrackingIndex(str(fixture_storage))
    index.writer().execute(
        "INSERT INTO annotations(project, app_id, partition_key, step_sequence_id, span_id, step_name, tags, "
        "observations, created, updated) VALUES ('demo_fixture','counter-app',NULL,0,NULL,'counter','[]','[]',0,0)"
    )
    index.writer().execute("UPDATE meta SET value='old' WHERE key='schema'")
    again = TrackingIndex(str(fixture_storage))
    assert len(queries.list_annotations(again.reader(), "demo_fixture")) == 1


def test_hidden_index_file_is_not_taken_for_a_project(index: TrackingIndex) -> None:
    assert [p["name"] for p in queries.list_projects(index.reader())] == ["demo_fixture"]


def test_index_forgets_apps_whose_directory_was_deleted(index: TrackingIndex, fixture_storage: Path) -> None:
    shutil.rmtree(fixture_storage / "demo_fixture" / "forked-app")
    index.update(full=True)
    assert queries.get_app(index.reader(), "demo_fixture", "forked-app") is None


def test_index_forgets_deleted_projects(index: TrackingIndex, fixture_storage: Path) -> None:
    shutil.rmtree(fixture_storage / "demo_fixture")
    index.update(full=True)
    assert queries.list_projects(index.reader()) == []


def test_two_indexers_sharing_an_index_never_count_a_step_twice(
    fixture_storage: Path, forked_log: Path
) -> None:
    import threading

    first, second = TrackingIndex(str(fixture_storage)), TrackingIndex(str(fixture_storage))
    done = threading.Event()

    def ingest(index: TrackingIndex) -> None:
        while not done.is_set():
            index.update(full=True)

    workers = [threading.Thread(target=ingest, args=(i,)) for i in (first, second)]
    for w in workers:
        w.start()
    for seq in range(4, 44):
        append_text(forked_log, log_entry(seq))
    done.set()
    for w in workers:
        w.join()
    first.update(full=True)
    assert _steps(first, "forked-app") == 42
