"""The ``burr`` and ``burr-test-case`` commands, run as real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from burr.cli import __main__ as burr_cli
from burr.cli.demo_data import DEMO_PROJECTS
from tests.server.conftest import free_port, is_ready, wait_for


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
    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "server exited")
        return is_ready(url + "/ready")

    wait_for(up, timeout, "server not ready")


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
    assert burr_cli._is_loopback(host) is expected


def _create_test_case(storage: Path, sequence_id: int, *extra: str) -> Result:
    """``burr-test-case create`` for a step of the fixture's ``counter-app``, run in-process."""
    args = ["--project-name", "demo_fixture", "--app-id", "counter-app", "--sequence-id", str(sequence_id)]
    return CliRunner().invoke(burr_cli.test_case, ["create", *args, "--storage-dir", str(storage), *extra])


def test_test_case_create_appends_a_fixture(fixture_storage: Path, tmp_path: Path) -> None:
    target = tmp_path / "cases.json"
    result = _create_test_case(fixture_storage, 3, "--target-file-name", str(target))
    assert result.exit_code == 0, result.output
    (case,) = json.loads(target.read_text())
    assert (case["action"], case["input_state"], case["expected_state"]) == (
        "remember",
        {"counter": 3, "history": []},
        {"counter": 3, "history": [{"n": 3}]},
    )


def test_test_case_create_names_a_missing_step(fixture_storage: Path) -> None:
    result = _create_test_case(fixture_storage, 42)
    assert result.exit_code != 0 and "sequence id 42 not found" in result.output
