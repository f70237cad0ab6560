"""Annotations: stored in the index, created per step, updated, listed and exported as JSONL."""

from __future__ import annotations

import json

import httpx

P = "/api/v1/projects/demo_fixture"
BODY = {
    "step_name": "remember",
    "tags": ["memory"],
    "observations": [
        {
            "thumbs_up_thumbs_down": True,
            "data_fields": {"note": "good", "ground_truth": "n=3"},
            "data_pointers": [],
        }
    ],
}


def _create(client: httpx.Client) -> dict:
    r = client.post(f"{P}/apps/counter-app/steps/3/annotations", json=BODY)
    assert r.status_code == 201
    return r.json()


def test_create_annotation_returns_it_with_its_target(client: httpx.Client) -> None:
    a = _create(client)
    assert (a["app_id"], a["step_sequence_id"], a["partition_key"], a["tags"]) == (
        "counter-app",
        3,
        "user-1",
        ["memory"],
    )


def test_update_annotation_changes_tags_only(client: httpx.Client) -> None:
    a = _create(client)
    b = client.put(f"{P}/annotations/{a['id']}", json={"tags": ["x", "y"]}).json()
    assert (b["tags"], b["observations"]) == (["x", "y"], a["observations"])


def test_update_unknown_annotation_gives_404(client: httpx.Client) -> None:
    assert client.put(f"{P}/annotations/12345", json={"tags": []}).status_code == 404


def test_app_annotations_are_listed(client: httpx.Client) -> None:
    _create(client)
    items = client.get(f"{P}/apps/counter-app/annotations").json()["annotations"]
    assert [a["step_name"] for a in items] == ["remember"]


def test_project_annotations_filter_by_step(client: httpx.Client) -> None:
    _create(client)
    assert client.get(f"{P}/annotations", params={"step_sequence_id": 2}).json()["annotations"] == []


def test_annotation_count_shows_in_app_list(client: httpx.Client) -> None:
    _create(client)
    apps = {a["app_id"]: a for a in client.get(f"{P}/apps").json()["apps"]}
    assert apps["counter-app"]["num_annotations"] == 1


def test_export_is_one_json_annotation_per_line(client: httpx.Client) -> None:
    _create(client)
    _create(client)
    r = client.get(f"{P}/annotations/export")
    lines = r.text.splitlines()
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line)["observations"][0]["data_fields"]["note"] for line in lines] == ["good", "good"]
