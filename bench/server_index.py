"""Tracker server index: list 10,000 apps and page an app with 100,000 steps over HTTP.

Generates tracking files (format 2 shape: a snapshot every 50 steps, deltas between), builds the
index, starts the real server on a loopback port and times requests. Prints one JSON line.
Usage: python bench/server_index.py [--apps 10000] [--steps 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import socket
import statistics
import tempfile
import threading
import time

import httpx
import uvicorn

from burr.tracking.server import create_burr_ui_app
from burr.tracking.server.index import TrackingIndex

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def _ts(seconds: float) -> str:
    return (T0 + datetime.timedelta(seconds=seconds)).isoformat()


def _write_app(path: str, app_id: str, steps: int, t: float, pk: str | None) -> None:
    d = os.path.join(path, app_id)
    os.makedirs(d)
    with open(os.path.join(d, "metadata.json"), "w") as f:
        json.dump(
            {
                "type": "application_metadata",
                "partition_key": pk,
                "parent_pointer": None,
                "spawning_parent_pointer": None,
                "burr_format": 2,
                "created_at": _ts(t),
            },
            f,
        )
    with open(os.path.join(d, "graph.json"), "w") as f:
        json.dump(
            {
                "type": "application",
                "entrypoint": "a",
                "actions": [
                    {
                        "type": "action",
                        "name": n,
                        "reads": ["n"],
                        "writes": ["n"],
                        "code": "",
                        "inputs": [],
                        "optional_inputs": [],
                    }
                    for n in ("a", "b")
                ],
                "transitions": [
                    {"type": "transition", "from_": "a", "to": "b", "condition": "default"},
                    {"type": "transition", "from_": "b", "to": "a", "condition": "default"},
                ],
            },
            f,
        )
    lines = []
    for i in range(steps):
        act = "a" if i % 2 == 0 else "b"
        lines.append(
            json.dumps(
                {
                    "type": "begin_entry",
                    "start_time": _ts(t + i),
                    "action": act,
                    "inputs": {},
                    "sequence_id": i,
                }
            )
        )
        rec = {
            "type": "end_entry",
            "end_time": _ts(t + i + 0.5),
            "action": act,
            "result": {},
            "exception": None,
            "sequence_id": i,
        }
        if i % 50 == 0:
            rec.update(state={"n": i, "__SEQUENCE_ID": i, "__PRIOR_STEP": act}, state_delta=None)
        else:
            rec.update(
                state=None,
                state_delta=[
                    {"op": "set", "key": "n", "value": i},
                    {"op": "set", "key": "__SEQUENCE_ID", "value": i},
                    {"op": "set", "key": "__PRIOR_STEP", "value": act},
                ],
            )
        lines.append(json.dumps(rec))
    with open(os.path.join(d, "log.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _time(client: httpx.Client, url: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return round(statistics.median(samples), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apps", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        many = os.path.join(tmp, "many_apps")
        os.makedirs(many)
        for i in range(args.apps):
            _write_app(many, f"app-{i:05d}", 3, i * 10.0, f"user-{i % 100}")
        big = os.path.join(tmp, "big_app")
        os.makedirs(big)
        _write_app(big, "long-run", args.steps, 0.0, None)
        generate_s = time.perf_counter() - t

        t = time.perf_counter()
        index = TrackingIndex(tmp)
        while index.update(full=True):  # a tick reads at most 32 MB per log; finish the big one
            pass
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        index.update(full=True)
        idle_full_sweep_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        index.update(full=False)
        idle_hot_tick_ms = (time.perf_counter() - t) * 1000
        # a live app: append one step and time the quick tick that picks it up
        with open(os.path.join(big, "long-run", "log.jsonl"), "a") as f:
            f.write(
                json.dumps(
                    {
                        "type": "begin_entry",
                        "start_time": _ts(1e6),
                        "action": "a",
                        "inputs": {},
                        "sequence_id": args.steps,
                    }
                )
                + "\n"
            )
        t = time.perf_counter()
        index.update(full=False)
        index.update(full=True)
        new_step_tick_ms = (time.perf_counter() - t) * 1000
        index.stop()

        app = create_burr_ui_app(tmp, serve_static=False)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as c:
            while c.get("/ready").status_code != 200:
                time.sleep(0.05)
            n = args.steps
            out = {
                "bench": "server_index",
                "apps": args.apps,
                "steps": n,
                "generate_s": round(generate_s, 2),
                "index_build_s": round(build_s, 2),
                "idle_full_sweep_ms": round(idle_full_sweep_ms, 2),
                "idle_hot_tick_ms": round(idle_hot_tick_ms, 2),
                "new_step_full_sweep_ms": round(new_step_tick_ms, 2),
                "list_apps_first_page_ms": _time(c, "/api/v1/projects/many_apps/apps?limit=100", args.repeat),
                "list_apps_deep_offset_ms": _time(
                    c, f"/api/v1/projects/many_apps/apps?limit=100&offset={args.apps - 100}", args.repeat
                ),
                "list_apps_prefix_filter_ms": _time(
                    c, "/api/v1/projects/many_apps/apps?q=user-42&limit=100", args.repeat
                ),
                "list_apps_sorted_by_id_ms": _time(
                    c, "/api/v1/projects/many_apps/apps?sort=app_id&order=asc&limit=100", args.repeat
                ),
                "list_projects_ms": _time(c, "/api/v1/projects", args.repeat),
                "steps_first_page_ms": _time(
                    c, "/api/v1/projects/big_app/apps/long-run/steps?limit=100", args.repeat
                ),
                "steps_middle_page_ms": _time(
                    c, f"/api/v1/projects/big_app/apps/long-run/steps?limit=100&offset={n // 2}", args.repeat
                ),
                "steps_last_page_ms": _time(
                    c, f"/api/v1/projects/big_app/apps/long-run/steps?limit=100&offset={n - 100}", args.repeat
                ),
                "steps_after_seq_ms": _time(
                    c,
                    f"/api/v1/projects/big_app/apps/long-run/steps?limit=100&after_sequence_id={n - 150}",
                    args.repeat,
                ),
                "step_detail_last_ms": _time(
                    c, f"/api/v1/projects/big_app/apps/long-run/steps/{n - 1}", args.repeat
                ),
                "timeline_200_buckets_ms": _time(
                    c, "/api/v1/projects/big_app/apps/long-run/timeline?buckets=200", args.repeat
                ),
                "app_detail_big_ms": _time(c, "/api/v1/projects/big_app/apps/long-run", args.repeat),
            }
        server.should_exit = True
        thread.join(timeout=10)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
