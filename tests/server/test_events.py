"""Server-sent events: new apps and steps are pushed; clients resume with Last-Event-ID."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.server.conftest import RunningServer, append_text, log_entry

Frames = list[dict[str, Any]]


def _read_events(
    server: RunningServer,
    params: dict[str, Any],
    headers: dict[str, str] | None = None,
    until: Callable[[Frames], bool] | None = None,
    after: Callable[[], None] | None = None,
) -> Frames:
    """Collect ``/api/v1/events`` frames as dicts {id, event, data} until ``until(frames)`` or the stream ends."""
    frames: Frames = []
    current: dict[str, Any] = {}
    url = f"{server.url}/api/v1/events"
    with httpx.stream("GET", url, params=params, headers=headers or {}, timeout=15) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
                if current["event"] == "hello" and after is not None:
                    after()
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and current:
                frames.append(current)
                current = {}
                if until is not None and until(frames):
                    break
    return frames


def _events_around_a_new_step(
    server: RunningServer, log: Path, params: dict[str, Any], until: Callable[[Frames], bool]
) -> Frames:
    """The frames read while step 4 is appended to ``log`` shortly after the stream's hello frame."""
    return _read_events(
        server,
        params,
        after=lambda: threading.Timer(0.2, append_text, (log, log_entry(4))).start(),
        until=until,
    )


def test_new_steps_are_pushed_as_step_events(server: RunningServer, forked_log: Path) -> None:
    frames = _events_around_a_new_step(
        server,
        forked_log,
        {"project": "demo_fixture", "app_id": "forked-app", "max_seconds": 10},
        until=lambda fs: any(f.get("event") == "step" and f["data"].get("status") == "completed" for f in fs),
    )
    steps = [f["data"] for f in frames if f.get("event") == "step"]
    assert steps[-1]["seq"] == 4 and steps[-1]["app_id"] == "forked-app"


def test_new_apps_are_pushed_as_app_events(server: RunningServer, fixture_storage: Path) -> None:
    src = fixture_storage / "demo_fixture" / "forked-app"
    dst = fixture_storage / "demo_fixture" / "brand-new"
    frames = _read_events(
        server,
        {"project": "demo_fixture", "max_seconds": 10},
        after=lambda: threading.Timer(0.2, shutil.copytree, (src, dst)).start(),
        until=lambda fs: any(f.get("event") == "app" and f["data"]["app_id"] == "brand-new" for f in fs),
    )
    created = [f["data"] for f in frames if f.get("event") == "app" and f["data"]["app_id"] == "brand-new"]
    assert created[0]["created"] is True and created[0]["parent_app_id"] == "counter-app"


def test_events_resume_after_last_event_id(server: RunningServer, forked_log: Path) -> None:
    params = {"project": "demo_fixture", "app_id": "forked-app", "max_seconds": 10}
    first = _events_around_a_new_step(
        server, forked_log, params, until=lambda fs: any(f.get("event") == "step" for f in fs)
    )
    resume_from = first[0]["id"]  # the hello frame: everything after it must be replayed
    replay = _read_events(
        server,
        {**params, "max_seconds": 1},
        headers={"Last-Event-ID": str(resume_from)},
    )
    assert [f["data"]["seq"] for f in replay if f.get("event") == "step"][:1] == [4]


def test_event_stream_ends_after_max_seconds(server: RunningServer) -> None:
    frames = _read_events(server, {"max_seconds": 0.3})
    assert frames[0]["event"] == "hello"


def test_event_stream_for_unknown_project_is_404(client: httpx.Client) -> None:
    assert client.get("/api/v1/events", params={"project": "nope"}).status_code == 404


def test_event_stream_can_be_limited_to_one_kind(server: RunningServer, forked_log: Path) -> None:
    frames = _events_around_a_new_step(
        server,
        forked_log,
        {"project": "demo_fixture", "kind": "app", "max_seconds": 10},
        until=lambda fs: any(f.get("event") == "app" for f in fs),
    )
    assert {f["event"] for f in frames[1:]} == {"app"}
