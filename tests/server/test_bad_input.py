"""Unknown ids -> 404 JSON, bad queries -> 422, path tricks rejected, corrupt log lines -> warnings."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import append_text, log_entry, wait_for

P = "/api/v1/projects/demo_fixture"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects/nope",
        "/api/v1/projects/nope/apps",
        f"{P}/apps/nope",
        f"{P}/apps/nope/steps",
        f"{P}/apps/counter-app/steps/99",
    ],
)
def test_unknown_ids_give_404_with_json_error(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and "not found" in r.json()["error"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": "ten"},
        {"offset": -1},
        {"status": "sleeping"},
        {"sort": "size"},
        {"since": "yesterday-ish"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_malformed_app_list_queries_give_422(client: httpx.Client, params: dict[str, object]) -> None:
    r = client.get(f"{P}/apps", params=params)  # type: ignore[arg-type]
    assert r.status_code == 422 and r.json()["error"]


def test_negative_sequence_id_gives_422(client: httpx.Client) -> None:
    assert client.get(f"{P}/apps/counter-app/steps/-1").status_code == 422


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/v1/projects/demo_fixture/apps/..%2F..%2Fetc/steps",
        "/api/v1/projects/%2E%2E/apps",
        "/api/v1/projects/demo_fixture/apps/.hidden",
        "/api/v1/projects/demo_fixture/apps/a%00b",
    ],
)
def test_path_tricks_in_ids_are_rejected(client: httpx.Client, raw_path: str) -> None:
    r = client.get(client.base_url.copy_with(raw_path=raw_path.encode()))
    assert 400 <= r.status_code < 500


def test_annotation_on_unknown_step_gives_404(client: httpx.Client) -> None:
    r = client.post(f"{P}/apps/counter-app/steps/99/annotations", json={"step_name": "x"})
    assert r.status_code == 404


def test_annotation_without_step_name_gives_422(client: httpx.Client) -> None:
    assert client.post(f"{P}/apps/counter-app/steps/0/annotations", json={}).status_code == 422


def test_bad_last_event_id_gives_422(client: httpx.Client) -> None:
    r = client.get("/api/v1/events", headers={"Last-Event-ID": "abc"})
    assert r.status_code == 422


def test_corrupt_line_is_skipped_and_surfaced_as_warning(client: httpx.Client, forked_log: Path) -> None:
    append_text(forked_log, "{this is not json\n" + log_entry(4))
    body = wait_for(lambda: (b := client.get(f"{P}/apps/forked-app").json())["num_steps"] == 3 and b)
    assert body["num_warnings"] == 1 and "corrupt line" in body["warnings"][0]


def test_step_detail_reports_corrupt_line_inside_its_range(client: httpx.Client, forked_log: Path) -> None:
    lines = log_entry(4).splitlines()
    append_text(forked_log, lines[0] + "\n" + "garbage\n" + lines[1] + "\n")
    wait_for(lambda: client.get(f"{P}/apps/forked-app").json()["num_steps"] == 3)
    step = client.get(f"{P}/apps/forked-app/steps/4").json()
    assert step["state"] == {"counter": 4} and len(step["warnings"]) == 1


def test_torn_last_line_is_pending_not_an_error(client: httpx.Client, forked_log: Path) -> None:
    append_text(forked_log, '{"type":"begin_entry","start_ti')
    body = wait_for(lambda: (b := client.get(f"{P}/apps/forked-app").json())["pending_bytes"] > 0 and b)
    assert body["num_steps"] == 2 and "incomplete" in body["warnings"][-1]


def test_torn_line_glued_to_the_next_record_keeps_the_record(client: httpx.Client, forked_log: Path) -> None:
    append_text(forked_log, '{"type":"begin_entry","start_ti' + log_entry(4))
    body = wait_for(lambda: (b := client.get(f"{P}/apps/forked-app").json())["num_steps"] == 3 and b)
    assert "torn line" in body["warnings"][0]


def test_binary_garbage_in_a_log_never_gives_500(client: httpx.Client, forked_log: Path) -> None:
    with open(forked_log, "ab") as f:
        f.write(b"\xff\xfe\x00garbage\n[1,2]\n")
    wait_for(lambda: client.get(f"{P}/apps/forked-app").json()["num_warnings"] == 2)
    assert client.get(f"{P}/apps/forked-app/steps").status_code == 200


def test_unreadable_graph_json_still_lists_the_app(
    fixture_storage: Path, start_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (fixture_storage / "demo_fixture" / "forked-app" / "graph.json").write_text("{broken")
    server = start_server(fixture_storage)
    body = httpx.get(f"{server.url}{P}/apps/forked-app").json()
    assert body["num_steps"] == 2


def test_records_with_wrong_types_are_skipped_with_warnings(client: httpx.Client, forked_log: Path) -> None:
    weird = [
        {"type": "begin_span", "action_sequence_id": {"x": 1}, "span_id": "1", "span_name": "s"},
        {"type": "end_stream", "action_sequence_id": 2, "items_streamed": {"n": 3}},
        {"type": "end_entry", "sequence_id": "two", "action": "counter"},
    ]
    append_text(forked_log, "".join(json.dumps(w) + "\n" for w in weird) + log_entry(4))
    body = wait_for(lambda: (b := client.get(f"{P}/apps/forked-app").json())["num_steps"] == 3 and b)
    assert body["num_warnings"] == 2 and client.get(f"{P}/apps/forked-app/steps/2").status_code == 200


def test_metadata_with_wrong_types_still_indexes_the_app(fixture_storage: Path, start_server) -> None:  # type: ignore[no-untyped-def]
    meta = fixture_storage / "demo_fixture" / "forked-app" / "metadata.json"
    meta.write_text(json.dumps({"partition_key": 7, "parent_pointer": "counter-app", "burr_format": "x"}))
    server = start_server(fixture_storage)
    body = httpx.get(f"{server.url}{P}/apps/forked-app").json()
    assert (body["partition_key"], body["parent_pointer"], body["num_steps"]) == ("7", None, 2)
