"""/api/v1 against a real server over the Apache Burr 0.43 fixture (project ``demo_fixture``)."""

from __future__ import annotations

import httpx

P = "/api/v1/projects/demo_fixture"


def test_projects_lists_the_fixture_project_with_its_app_count(client: httpx.Client) -> None:
    projects = client.get("/api/v1/projects").json()["projects"]
    assert [(p["name"], p["num_apps"]) for p in projects] == [("demo_fixture", 5)]


def test_version_reports_api_v1_and_modes(client: httpx.Client) -> None:
    body = client.get("/api/v1/version").json()
    assert (body["api"], body["read_only"], body["auth"]) == ("v1", False, False)


def test_app_list_counts_steps_per_app(client: httpx.Client) -> None:
    apps = {a["app_id"]: a for a in client.get(f"{P}/apps").json()["apps"]}
    assert (apps["counter-app"]["num_steps"], apps["forked-app"]["num_steps"]) == (6, 2)


def test_app_list_reports_completed_status(client: httpx.Client) -> None:
    apps = client.get(f"{P}/apps").json()["apps"]
    assert {a["status"] for a in apps} == {"completed"}


def test_app_list_filters_by_app_id_prefix(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps", params={"q": "fork"}).json()
    assert [a["app_id"] for a in body["apps"]] == ["forked-app"]


def test_app_list_filters_by_partition_key_prefix(client: httpx.Client) -> None:
    assert client.get(f"{P}/apps", params={"q": "user-"}).json()["total"] == 5


def test_app_list_filters_by_status(client: httpx.Client) -> None:
    assert client.get(f"{P}/apps", params={"status": "failed"}).json()["total"] == 0


def test_app_list_hides_spawned_children_when_asked(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps", params={"top_level": "true"}).json()
    assert sorted(a["app_id"] for a in body["apps"]) == ["counter-app", "forked-app"]


def test_app_list_sorts_by_app_id(client: httpx.Client) -> None:
    ids = [
        a["app_id"] for a in client.get(f"{P}/apps", params={"sort": "app_id", "order": "asc"}).json()["apps"]
    ]
    assert ids == sorted(ids)


def test_app_list_cursor_paging_visits_every_app_once(client: httpx.Client) -> None:
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    for _ in range(10):
        body = client.get(f"{P}/apps", params=params).json()
        seen += [a["app_id"] for a in body["apps"]]
        if not body["next_cursor"]:
            break
        params = {"limit": 2, "cursor": body["next_cursor"]}
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 5


def test_app_list_offset_paging_reports_total(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps", params={"limit": 2, "offset": 4}).json()
    assert (body["total"], len(body["apps"])) == (5, 1)


def test_app_detail_normalises_format1_inputs(client: httpx.Client) -> None:
    graph = client.get(f"{P}/apps/counter-app").json()["graph"]
    counter = next(a for a in graph["actions"] if a["name"] == "counter")
    assert (counter["inputs"], counter["optional_inputs"]) == ([], [])


def test_app_detail_lists_spawned_children_of_the_map_step(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps/counter-app").json()
    assert [(c["event_type"], c["sequence_id"]) for c in body["children"]] == [("spawn_start", 4)] * 3


def test_app_detail_lists_forks(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps/counter-app").json()
    assert [(f["app_id"], f["sequence_id"]) for f in body["forks"]] == [("forked-app", 1)]


def test_forked_app_reports_its_lineage(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps/forked-app").json()
    assert body["lineage"] == [{"app_id": "counter-app", "sequence_id": 1, "partition_key": "user-1"}]


def test_app_detail_counts_graph_visits_and_edges(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps/counter-app").json()
    visits = {n["action"]: n["visits"] for n in body["node_stats"]}
    edges = {(e["from_"], e["to"]): e["count"] for e in body["edge_stats"]}
    assert (visits["counter"], edges[("counter", "counter")], edges[("counter", "remember")]) == (3, 2, 1)


def test_steps_page_returns_summaries_in_sequence_order(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps/counter-app/steps", params={"offset": 2, "limit": 3}).json()
    assert [(s["sequence_id"], s["action"]) for s in body["steps"]] == [
        (2, "counter"),
        (3, "remember"),
        (4, "squares"),
    ]


def test_steps_page_after_sequence_id_descending(client: httpx.Client) -> None:
    body = client.get(
        f"{P}/apps/counter-app/steps", params={"after_sequence_id": 3, "order": "desc", "limit": 1}
    ).json()
    assert [s["sequence_id"] for s in body["steps"]] == [2]


def test_step_summary_counts_children_of_the_map_step(client: httpx.Client) -> None:
    steps = client.get(f"{P}/apps/counter-app/steps").json()["steps"]
    assert steps[4]["num_children"] == 3


def test_step_detail_has_state_after_the_step(client: httpx.Client) -> None:
    step = client.get(f"{P}/apps/counter-app/steps/3").json()
    assert (step["state"]["counter"], step["state"]["history"]) == (3, [{"n": 3}])


def test_step_detail_has_state_before_from_the_previous_step(client: httpx.Client) -> None:
    step = client.get(f"{P}/apps/counter-app/steps/3").json()
    assert (step["state_before"]["history"], step["state_before_source"]) == ([], "step 2")


def test_step_detail_has_nested_spans_with_depth(client: httpx.Client) -> None:
    spans = client.get(f"{P}/apps/counter-app/steps/0").json()["spans"]
    assert [(s["name"], s["depth"]) for s in spans] == [("add_one", 0), ("nested", 1)]


def test_step_detail_has_span_and_action_level_attributes(client: httpx.Client) -> None:
    attrs = client.get(f"{P}/apps/counter-app/steps/0").json()["attributes"]
    assert [(a["key"], a["span_id"], a["value"]) for a in attrs] == [
        ("before", "0:0", 0),
        ("action_level", None, True),
    ]


def test_step_detail_has_stream_timing(client: httpx.Client) -> None:
    stream = client.get(f"{P}/apps/counter-app/steps/5").json()["stream"]
    assert stream["items"] == 3 and stream["ttft_ms"] is not None and stream["ttft_ms"] >= 0


def test_step_detail_has_result(client: httpx.Client) -> None:
    assert client.get(f"{P}/apps/counter-app/steps/5").json()["result"] == {"message": "count is 3 and done"}


def test_step_detail_drops_injected_context_from_inputs(client: httpx.Client) -> None:
    assert client.get(f"{P}/apps/counter-app/steps/4").json()["inputs"] == {}


def test_step_detail_lists_children_spawned_at_that_step(client: httpx.Client) -> None:
    assert len(client.get(f"{P}/apps/counter-app/steps/4").json()["children"]) == 3


def test_forked_app_first_step_state_before_comes_from_the_parent(client: httpx.Client) -> None:
    step = client.get(f"{P}/apps/forked-app/steps/2").json()
    assert (step["state_before"]["counter"], step["state_before_source"]) == (
        2,
        "fork parent counter-app step 1",
    )


def test_ready_reports_ready(client: httpx.Client) -> None:
    assert client.get("/ready").json()["ready"] is True


def test_openapi_schema_is_served(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/projects/{project}/apps/{app_id}/steps/{sequence_id}" in paths


def test_timeline_buckets_count_every_step(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps/counter-app/timeline", params={"buckets": 10}).json()
    assert sum(b["steps"] for b in body["buckets"]) == 6 and body["buckets"][0]["first_sequence_id"] == 0


def test_timeline_has_at_most_the_requested_buckets(client: httpx.Client) -> None:
    body = client.get(f"{P}/apps/counter-app/timeline", params={"buckets": 2}).json()
    assert [b["index"] for b in body["buckets"]] == [0, 1]
