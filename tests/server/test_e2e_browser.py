"""End to end in real headless Chromium: the demo data, stepping, diffs, forks, live updates.

The demo data is the bundled examples, really run (``burr.cli.demo_data.generate``).

``BURR_UPDATE_SCREENSHOTS=1 pytest tests/server/test_e2e_browser.py`` also refreshes the
screenshots of the main views in docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from burr.cli import demo_data
from burr.tracking import LocalTrackingClient
from tests.server.conftest import RunningServer, wait_for

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def e2e_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    storage = tmp_path_factory.mktemp("e2e")
    demo_data.generate(str(storage))
    return storage


@pytest.fixture
def ui(e2e_storage: Path, start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server(e2e_storage)


@pytest.fixture
def page(browser: Any, ui: RunningServer) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1440, "height": 860},
        permissions=["clipboard-read", "clipboard-write"],
        base_url=ui.url,
    )
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def _shot(page: Any, name: str) -> None:
    """Refresh docs/screenshots/<name>.png when BURR_UPDATE_SCREENSHOTS=1 (so runs don't churn them)."""
    if os.environ.get("BURR_UPDATE_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_open_demo_project_open_app_step_through_and_see_diff(page: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="demo_counter").click()
    page.get_by_role("link", name="count-to-10", exact=True).click()
    page.locator("[data-testid=step-row][data-seq='0']").click()
    page.get_by_test_id("next-step").click()
    page.wait_for_function("document.querySelector('[data-testid=insp-seq]')?.textContent === '1'")
    diff = page.get_by_test_id("state-diff").inner_text()
    assert "CHANGED\tcounter\t1\t→\t2" in diff
    _shot(page, "app-view-diff")


def test_graph_marks_the_transition_the_selected_step_took(page: Any) -> None:
    page.goto("/#/p/demo_counter/a/count-to-10/s/9")
    page.get_by_test_id("edge-taken").wait_for()
    assert page.get_by_test_id("node-counter").get_attribute("class").split().count("current") == 1


def test_error_route_is_drawn_as_a_red_dashed_edge_labelled_with_its_exception_types(page: Any) -> None:
    page.goto("/#/p/demo_human_in_the_loop/a/reply-outage")
    edge = page.locator("[data-testid=graph] g.edge.error")
    edge.first.wait_for()
    path = edge.locator("path").last
    style = path.evaluate("p => [getComputedStyle(p).stroke, getComputedStyle(p).strokeDasharray]")
    assert (edge.count(), edge.get_attribute("data-to"), style[0], style[1] != "none") == (
        1,
        "apologize",
        "rgb(214, 69, 69)",
        True,
    )
    assert "ConnectionError, TimeoutError" in (edge.locator("text").text_content() or "")


def test_step_that_took_the_error_route_highlights_that_edge(page: Any) -> None:
    page.goto("/#/p/demo_human_in_the_loop/a/reply-outage/s/0")
    taken = page.get_by_test_id("edge-taken")
    taken.wait_for()
    assert (taken.get_attribute("data-to"), "error" in taken.get_attribute("class").split()) == (
        "apologize",
        True,
    )
    assert "apologize" in page.get_by_test_id("error-route").inner_text()
    _shot(page, "error-route")


def test_retried_step_that_succeeded_highlights_the_normal_edge_not_the_error_route(page: Any) -> None:
    page.goto("/#/p/demo_human_in_the_loop/a/reply-approved/s/0")
    taken = page.get_by_test_id("edge-taken")
    taken.wait_for()
    assert (taken.get_attribute("data-to"), "error" in taken.get_attribute("class").split()) == (
        "review",
        False,
    )


def test_retried_step_is_badged_in_the_table_and_shows_each_attempt(page: Any) -> None:
    page.goto("/#/p/demo_human_in_the_loop/a/reply-outage")
    row = page.locator("[data-testid=step-row][data-seq='0']")
    assert row.get_by_test_id("attempts-badge").inner_text() == "3 attempts"
    row.click()
    attempts = page.get_by_test_id("attempt-row")
    attempts.first.wait_for()
    cells = [attempts.nth(i).locator("td").all_inner_texts() for i in range(attempts.count())]
    assert [(c[0], c[1], c[4]) for c in cells] == [
        ("1", "failed, retried", "ConnectionError: 503 Service Unavailable (call 1)"),
        ("2", "failed, retried", "ConnectionError: 503 Service Unavailable (call 2)"),
        ("3", "failed → apologize", "ConnectionError: 503 Service Unavailable (call 3)"),
    ]
    assert cells[0][2].endswith("ms")  # the first attempt's duration (it starts with the step)


def test_project_and_app_lists_render(page: Any) -> None:
    page.goto("/")
    page.get_by_test_id("projects").get_by_text("demo_chatbot").wait_for()
    _shot(page, "projects")
    page.goto("/#/p/demo_chatbot")
    rows = page.get_by_test_id("app-row")
    rows.first.wait_for()
    assert rows.count() == 2
    _shot(page, "app-list")


def test_app_list_search_filters_rows(page: Any) -> None:
    page.goto("/#/p/demo_counter")
    page.get_by_test_id("app-row").first.wait_for()
    page.get_by_test_id("app-search").fill("count-to-2")
    page.wait_for_function("document.querySelectorAll('[data-testid=app-row]').length === 1")
    assert "count-to-25" in page.get_by_test_id("apps").inner_text()


def test_next_error_jumps_to_the_failed_step(page: Any) -> None:
    page.goto("/#/p/demo_email_assistant/a/email-missing-answer/s/0")
    page.get_by_test_id("next-error").click()
    page.wait_for_function("document.querySelector('[data-testid=insp-seq]')?.textContent === '2'")
    assert page.locator(".exception").is_visible()


def test_app_list_shows_new_apps_live(page: Any, e2e_storage: Path) -> None:
    page.goto("/#/p/demo_parallel_research")
    page.get_by_test_id("app-row").first.wait_for()
    before = page.get_by_test_id("app-row").count()
    project = e2e_storage / "demo_parallel_research"
    shutil.copytree(project / "research-bees", project / "research-bees-copy")
    page.get_by_role("link", name="research-bees-copy", exact=True).wait_for(timeout=15_000)
    assert page.get_by_test_id("app-row").count() == before + 1


def test_failed_step_shows_its_traceback(page: Any) -> None:
    page.goto("/#/p/demo_email_assistant/a/email-missing-answer/s/2")
    assert "ValueError" in page.locator(".exception").inner_text()


def test_spans_tab_shows_spans_and_attributes(page: Any) -> None:
    page.goto("/#/p/demo_conversational-rag/a/rag-questions/s/1")
    page.get_by_test_id("tab-spans").click()
    text = page.get_by_test_id("spans").inner_text()
    assert "embed_query" in text and "rank_notes" in text and "best_score" in text
    _shot(page, "spans")


def test_copy_fork_snippet_then_fork_opens_when_it_appears(page: Any, e2e_storage: Path) -> None:
    page.goto("/#/p/demo_counter/a/count-to-25/s/4")
    page.get_by_test_id("tab-fork").click()
    page.get_by_test_id("copy-fork").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert 'fork_from_app_id="count-to-25"' in copied and "fork_from_sequence_id=4," in copied
    _shot(page, "fork")
    page.wait_for_timeout(500)  # let the page subscribe before the fork is written
    demo_data.run_fork(str(e2e_storage), "count-to-25", at=4)
    page.wait_for_url("**/a/count-to-25-fork", timeout=15_000)
    assert "count-to-25-fork" in page.get_by_test_id("app-title").inner_text()


def test_child_apps_are_reachable_from_the_parent_step(page: Any) -> None:
    page.goto("/#/p/demo_parallel_research/a/research-bees/s/1")
    links = page.locator(".children-box a")
    links.first.wait_for()
    assert links.count() == 3
    links.first.click()
    page.get_by_text("spawned by").wait_for()


def test_app_header_links_to_the_list_of_its_child_apps(page: Any) -> None:
    page.goto("/#/p/demo_parallel_research/a/research-bees")
    page.get_by_test_id("children-link").click()
    page.get_by_test_id("parent-filter").wait_for()
    page.wait_for_function("document.querySelectorAll('[data-testid=app-row]').length === 3")


def test_compare_two_apps_picked_in_the_app_list(page: Any) -> None:
    page.goto("/#/p/demo_counter")
    for app_id in ("count-to-3", "count-to-10"):
        row = page.get_by_test_id("app-row").filter(has=page.get_by_role("link", name=app_id, exact=True))
        row.locator("input[type=checkbox]").check()
    page.get_by_test_id("compare-picked").click()
    page.get_by_test_id("compare").wait_for()
    assert page.url.endswith("/compare/count-to-3/count-to-10")
    page.get_by_test_id("compare").locator("tbody tr").nth(3).click()
    assert "count" in page.get_by_test_id("state-diff").inner_text()


def test_compare_two_apps_step_by_step(page: Any) -> None:
    page.goto("/#/p/demo_counter/compare/count-to-3/count-to-10")
    page.get_by_test_id("compare").locator("tbody tr").nth(3).click()
    diff = page.get_by_test_id("state-diff").inner_text()
    assert "count" in diff
    _shot(page, "compare")


def test_annotation_saved_from_the_ui_is_stored(page: Any, ui: RunningServer) -> None:
    page.goto("/#/p/demo_counter/a/count-to-3/s/1")
    page.get_by_test_id("tab-annotate").click()
    page.get_by_test_id("thumbs-up").click()
    page.get_by_label("Note").fill("looks right")
    page.get_by_role("button", name="Save annotation").click()
    page.get_by_text("saved").wait_for()
    notes = httpx.get(f"{ui.url}/api/v1/projects/demo_counter/annotations").json()["annotations"]
    assert [(a["step_sequence_id"], a["observations"][0]["data_fields"]["note"]) for a in notes] == [
        (1, "looks right")
    ]


def test_running_app_updates_live(page: Any, ui: RunningServer, e2e_storage: Path) -> None:
    from burr.core import ApplicationBuilder, State, action

    @action(reads=["n"], writes=["n", "log"])
    def tick(state: State) -> State:
        return state.update(n=state["n"] + 1).append(log=f"tick {state['n'] + 1}")

    app = (
        ApplicationBuilder()
        .with_actions(tick=tick)
        .with_transitions(("tick", "tick"))
        .with_state(n=0, log=[])
        .with_entrypoint("tick")
        .with_tracker("local", project="live_demo", params={"storage_dir": str(e2e_storage)})
        .with_identifiers(app_id="live-run")
        .build()
    )
    app.step()
    LocalTrackingClient.flush()  # a bare step() leaves its records to the background writer
    # the project list page is not live: open it once the index knows the new project
    wait_for(
        lambda: any(p["name"] == "live_demo" for p in httpx.get(f"{ui.url}/api/v1/projects").json()["projects"]),
        20,
        "the index never listed the live_demo project",
    )
    page.goto("/")
    page.get_by_role("link", name="live_demo").wait_for(timeout=15_000)
    page.goto("/#/p/live_demo/a/live-run")
    page.get_by_test_id("app-steps").get_by_text("1 steps").wait_for()
    page.get_by_test_id("follow").check()

    def run_more() -> None:
        for _ in range(5):
            time.sleep(0.4)
            app.step()

    worker = threading.Thread(target=run_more)
    worker.start()
    try:
        page.get_by_test_id("app-steps").get_by_text("6 steps").wait_for(timeout=20_000)
        page.wait_for_function("document.querySelector('[data-testid=insp-seq]')?.textContent === '5'")
    finally:
        worker.join()
    assert page.locator("[data-testid=step-row]").count() == 6
    _shot(page, "live")


def _write_long_app(storage: Path, steps: int) -> None:
    d = storage / "big_project" / "long-run"
    d.mkdir(parents=True)
    (d / "metadata.json").write_text(
        json.dumps(
            {
                "type": "application_metadata",
                "partition_key": None,
                "parent_pointer": None,
                "spawning_parent_pointer": None,
                "burr_format": 2,
                "created_at": "2026-01-01T00:00:00+00:00",
            }
        )
    )
    (d / "graph.json").write_text(
        json.dumps(
            {
                "type": "application",
                "entrypoint": "a",
                "actions": [
                    {
                        "name": "a",
                        "reads": [],
                        "writes": ["n"],
                        "code": "",
                        "inputs": [],
                        "optional_inputs": [],
                    }
                ],
                "transitions": [{"from_": "a", "to": "a", "condition": "default"}],
            }
        )
    )
    with open(d / "log.jsonl", "w") as f:
        for i in range(steps):
            t = f"2026-01-01T00:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}000+00:00"
            f.write(
                json.dumps(
                    {"type": "begin_entry", "start_time": t, "action": "a", "inputs": {}, "sequence_id": i}
                )
            )
            f.write("\n")
            f.write(
                json.dumps(
                    {
                        "type": "end_entry",
                        "end_time": t,
                        "action": "a",
                        "result": {},
                        "exception": None,
                        "state": {"n": i} if i % 50 == 0 else None,
                        "sequence_id": i,
                        "state_delta": None if i % 50 == 0 else [{"op": "set", "key": "n", "value": i}],
                    }
                )
            )
            f.write("\n")


@pytest.mark.slow
def test_step_table_stays_virtualized_at_100k_steps(
    browser: Any, tmp_path: Path, start_server: Callable[..., RunningServer]
) -> None:
    _write_long_app(tmp_path, 100_000)
    server = start_server(tmp_path)
    context = browser.new_context(viewport={"width": 1440, "height": 860}, base_url=server.url)
    page = context.new_page()
    try:
        page.goto("/#/p/big_project/a/long-run")
        page.get_by_test_id("app-steps").get_by_text("100000 steps").wait_for(timeout=30_000)
        page.locator(".step-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.locator("[data-testid=step-row][data-seq='99999']").click()
        page.wait_for_function("document.querySelector('[data-testid=insp-seq]')?.textContent === '99999'")
        rendered = page.locator("[data-testid=step-row]").count()
        page.goto("/#/p/big_project/a/long-run/s/50000")  # a deep link scrolls its row into view
        page.locator("[data-testid=step-row][data-seq='50000']").wait_for()
        page.get_by_test_id("minimap").locator("rect").last.click()  # the minimap jumps to the end
        page.wait_for_function(
            "Number(document.querySelector('[data-testid=insp-seq]')?.textContent) > 99000"
        )
    finally:
        context.close()
    assert rendered < 200


def test_log_warnings_are_shown_in_the_app_view(page: Any, e2e_storage: Path) -> None:
    src = e2e_storage / "demo_counter" / "count-to-3"
    dst = e2e_storage / "demo_counter" / "count-to-3-corrupt"
    if not dst.exists():
        shutil.copytree(src, dst)
        with open(dst / "log.jsonl", "a") as f:
            f.write("{not json\n")
    page.goto("/#/p/demo_counter/a/count-to-3-corrupt")
    assert "corrupt line" in page.get_by_test_id("app-warnings").inner_text(timeout=15_000)


def test_token_protected_server_asks_for_the_token_once(
    browser: Any, e2e_storage: Path, start_server: Callable[..., RunningServer]
) -> None:
    server = start_server(e2e_storage, token="let-me-in")
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    try:
        page.goto("/")
        page.get_by_text("This server needs a token").wait_for()
        page.locator("input[type=password]").fill("let-me-in")
        page.get_by_role("button", name="Continue").click()
        page.get_by_test_id("projects").get_by_text("demo_counter").wait_for()
    finally:
        context.close()
