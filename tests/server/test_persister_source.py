"""SQLite persister tables served as read-only tracker projects (``--persister-db PATH[:TABLE]``)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from burr.cli import __main__ as burr_cli
from burr.core import ApplicationBuilder, State, action, default, expr
from burr.core.persistence import SQLitePersister
from burr.tracking.server.persister_source import PersisterSourceError, parse_source
from tests.server.conftest import RunningServer, wait_for

APACHE_DB = Path(__file__).resolve().parents[1] / "fixtures/apache-burr-0.43/apache-burr-persister.sqlite"
APACHE_PROJECT = "persister:apache-burr-persister:burr_state"


@action(reads=["counter"], writes=["counter"])
def count(state: State) -> State:
    return state.update(counter=state["counter"] + 1)


@action(reads=["counter"], writes=["counter"])
def boom(state: State) -> State:
    raise ValueError("boom")


def _run(db: Path, app_id: str, partition_key: str | None, steps: int, fail: bool = False) -> None:
    """Run an app of ours for ``steps`` steps, persisting each to ``db``; ``fail`` ends in a failed step."""
    persister = SQLitePersister(str(db), table_name="runs")
    persister.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(count=count, boom=boom)
        .with_transitions(
            ("count", "count", expr("counter < 2")), ("count", "boom" if fail else "count", default)
        )
        .with_state(counter=0)
        .with_entrypoint("count")
        .with_identifiers(app_id=app_id, partition_key=partition_key)
        .with_state_persister(persister)
        .build()
    )
    try:
        for _ in range(steps):
            app.step()
    except ValueError:
        pass
    finally:
        persister.cleanup()


@pytest.fixture
def ours(tmp_path: Path) -> Path:
    db = tmp_path / "ours.sqlite"
    _run(db, "good", "user-1", 3)
    _run(db, "bad", None, 4, fail=True)
    return db


@pytest.fixture
def apache_db() -> Path:
    if not APACHE_DB.exists():
        pytest.skip(f"Apache Burr fixture not found at {APACHE_DB}")
    return APACHE_DB


@pytest.fixture
def serve(
    tmp_path: Path, start_server: Callable[..., RunningServer]
) -> Iterator[Callable[..., httpx.Client]]:
    clients: list[httpx.Client] = []

    def start(*dbs: str) -> httpx.Client:
        storage = tmp_path / "storage"
        storage.mkdir(exist_ok=True)
        server = start_server(storage, persister_dbs=list(dbs), index_path=str(tmp_path / "index.sqlite"))
        c = httpx.Client(base_url=server.url + "/api/v1", timeout=10)
        clients.append(c)
        return c

    yield start
    for c in clients:
        c.close()


def _get(c: httpx.Client, path: str) -> Any:
    r = c.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def _apps(c: httpx.Client, project: str) -> dict[str, Any]:
    return {a["app_id"]: a for a in _get(c, f"/projects/{project}/apps")["apps"]}


def test_each_source_is_a_project_named_after_file_and_table(
    ours: Path, apache_db: Path, serve: Callable[..., httpx.Client]
) -> None:
    c = serve(f"{ours}:runs", str(apache_db))
    names = wait_for(lambda: {p["name"] for p in _get(c, "/projects")["projects"] if p["num_apps"]})
    assert names == {"persister:ours:runs", APACHE_PROJECT}


def test_apps_are_partition_key_and_app_id_pairs_with_status(
    ours: Path, serve: Callable[..., httpx.Client]
) -> None:
    c = serve(f"{ours}:runs")
    apps = wait_for(lambda: _apps(c, "persister:ours:runs"))
    assert {k: (a["partition_key"], a["num_steps"], a["status"]) for k, a in apps.items()} == {
        "good": ("user-1", 3, "completed"),
        "bad": (None, 3, "failed"),
    }


def test_steps_are_rows_with_position_as_action(ours: Path, serve: Callable[..., httpx.Client]) -> None:
    c = serve(f"{ours}:runs")
    wait_for(lambda: _apps(c, "persister:ours:runs"))
    steps = _get(c, "/projects/persister:ours:runs/apps/bad/steps")["steps"]
    assert [(s["sequence_id"], s["action"], s["status"]) for s in steps] == [
        (0, "count", "completed"),
        (1, "count", "completed"),
        (2, "boom", "failed"),
    ]


def test_step_detail_loads_state_and_previous_state(ours: Path, serve: Callable[..., httpx.Client]) -> None:
    c = serve(f"{ours}:runs")
    wait_for(lambda: _apps(c, "persister:ours:runs"))
    step = _get(c, "/projects/persister:ours:runs/apps/good/steps/2")
    assert (step["state"]["counter"], step["state_before"]["counter"]) == (3, 2)
    assert step["state_before_source"] == "step 1"


def test_apache_burr_table_steps_and_state(apache_db: Path, serve: Callable[..., httpx.Client]) -> None:
    c = serve(str(apache_db))
    apps = wait_for(lambda: _apps(c, APACHE_PROJECT))
    assert (apps["counter-app"]["num_steps"], apps["counter-app"]["partition_key"]) == (6, "user-1")
    steps = _get(c, f"/projects/{APACHE_PROJECT}/apps/counter-app/steps")["steps"]
    assert [s["action"] for s in steps] == ["counter", "counter", "counter", "remember", "squares", "speak"]
    step = _get(c, f"/projects/{APACHE_PROJECT}/apps/counter-app/steps/5")
    assert (step["state"]["message"], step["state_before"]["squares"]) == ("count is 3 and done", [0, 1, 4])


def test_app_detail_has_an_empty_graph(apache_db: Path, serve: Callable[..., httpx.Client]) -> None:
    c = serve(str(apache_db))
    wait_for(lambda: _apps(c, APACHE_PROJECT))
    graph = _get(c, f"/projects/{APACHE_PROJECT}/apps/forked-app")["graph"]
    assert graph == {"entrypoint": "", "actions": [], "transitions": []}


def test_new_rows_are_picked_up_incrementally(ours: Path, serve: Callable[..., httpx.Client]) -> None:
    c = serve(f"{ours}:runs")
    wait_for(lambda: _apps(c, "persister:ours:runs"))
    _run(ours, "later", "user-2", 2)
    apps = wait_for(lambda: (a := _apps(c, "persister:ours:runs")).get("later") and a)
    assert (apps["later"]["num_steps"], apps["good"]["num_steps"]) == (2, 3)


def test_serving_never_modifies_the_file(
    tmp_path: Path, apache_db: Path, serve: Callable[..., httpx.Client]
) -> None:
    db = tmp_path / "copy.sqlite"
    shutil.copy(apache_db, db)
    before = (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns)
    c = serve(str(db))
    wait_for(lambda: _apps(c, "persister:copy:burr_state"))
    _get(c, "/projects/persister:copy:burr_state/apps/counter-app/steps/3")
    assert (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.sqlite"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PersisterSourceError, match="does not exist"):
        parse_source(str(tmp_path / "nope.sqlite"))


def test_missing_table_is_a_clear_error(ours: Path) -> None:
    with pytest.raises(PersisterSourceError, match="no table 'burr_state'"):
        parse_source(str(ours))


def test_cli_rejects_a_bad_path_before_serving(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite"
    result = CliRunner().invoke(burr_cli.run_server, ["--no-open", "--persister-db", str(missing)])
    assert result.exit_code == 2
    assert "--persister-db" in result.output and "does not exist" in result.output


@pytest.mark.browser
def test_ui_shows_a_persister_step_diff_without_a_graph(
    apache_db: Path, serve: Callable[..., httpx.Client]
) -> None:
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    c = serve(str(apache_db))
    wait_for(lambda: _apps(c, APACHE_PROJECT))
    base = str(c.base_url).removesuffix("/api/v1")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(base_url=base)
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("/")
            page.get_by_role("link", name=APACHE_PROJECT).click()
            page.get_by_role("link", name="counter-app", exact=True).click()
            page.locator("[data-testid=step-row][data-seq='2']").click()
            page.wait_for_function("document.querySelector('[data-testid=insp-seq]')?.textContent === '2'")
            diff = page.get_by_test_id("state-diff").inner_text()
        finally:
            browser.close()
    assert "CHANGED\tcounter\t2\t→\t3" in diff
    assert errors == []
