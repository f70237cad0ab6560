"""The ``burr`` and ``burr-test-case`` commands, run as real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from burr.cli.__main__ import _is_loopback
from burr.cli.demo_data import DEMO_PROJECTS
from tests.server.conftest import free_port


def _start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    burr = shutil.which("burr")
    cmd = (
        [burr]
        if burr
        else [sys.executable, "-c", "from burr.cli.__main__ import cli_run_server; cli_run_server()"]
    )
    return subprocess.Popen(
        cmd + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "server exited")
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server not ready")


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode()


@pytest.mark.slow
def test_burr_records_the_bundled_examples_on_first_start(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(["--port", str(port), "--no-open", "--storage-dir", str(tmp_path)])
    try:
        _wait_ready(url, proc)
        names = {p["name"] for p in httpx.get(f"{url}/api/v1/projects").json()["projects"]}
        graph = httpx.get(f"{url}/api/v1/projects/demo_counter/apps/count-to-10").json()["graph"]
    finally:
        err = _stop(proc)
    assert names == set(DEMO_PROJECTS) and "recorded the bundled examples" in err
    assert sorted(a["name"] for a in graph["actions"]) == ["counter", "result"]  # hello-world-counter's


@pytest.mark.slow
def test_burr_no_demo_reads_storage_dir_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(["--port", str(port), "--no-open", "--no-demo"], env={"BURR_STORAGE_DIR": str(tmp_path)})
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc)
        body = httpx.get(f"http://127.0.0.1:{port}/api/v1/version").json()
        projects = httpx.get(f"http://127.0.0.1:{port}/api/v1/projects").json()["projects"]
    finally:
        _stop(proc)
    assert (body["storage_dir"], projects) == (str(tmp_path), [])


@pytest.mark.slow
def test_burr_token_flag_protects_the_api(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(
        ["--port", str(port), "--no-open", "--no-demo", "--storage-dir", str(tmp_path), "--token", "t0k"]
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc)
        status = httpx.get(f"http://127.0.0.1:{port}/api/v1/projects").status_code
    finally:
        _stop(proc)
    assert status == 401


@pytest.mark.parametrize(
    "host,expected",
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("10.1.2.3", False)],
)
def test_only_loopback_hosts_count_as_local(host: str, expected: bool) -> None:
    assert _is_loopback(host) is expected


def test_test_case_create_appends_a_fixture(fixture_storage: Path, tmp_path: Path) -> None:
    target = tmp_path / "cases.json"
    from click.testing import CliRunner

    from burr.cli.__main__ import test_case

    result = CliRunner().invoke(
        test_case,
        [
            "create",
            "--project-name",
            "demo_fixture",
            "--app-id",
            "counter-app",
            "--sequence-id",
            "3",
            "--storage-dir",
            str(fixture_storage),
            "--target-file-name",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    (case,) = json.loads(target.read_text())
    assert (case["action"], case["input_state"], case["expected_state"]) == (
        "remember",
        {"counter": 3, "history": []},
        {"counter": 3, "history": [{"n": 3}]},
    )


def test_test_case_create_names_a_missing_step(fixture_storage: Path) -> None:
    from click.testing import CliRunner

    from burr.cli.__main__ import test_case

    result = CliRunner().invoke(
        test_case,
        [
            "create",
            "--project-name",
            "demo_fixture",
            "--app-id",
            "counter-app",
            "--sequence-id",
            "42",
            "--storage-dir",
            str(fixture_storage),
        ],
    )
    assert result.exit_code != 0 and "sequence id 42 not found" in result.output
