"""The ``burr`` command (tracker server) and ``burr-test-case`` (test fixtures from tracked steps)."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import threading
import time
import urllib.request
import webbrowser
from typing import Any

import click

LOOPBACK_NAMES = ("localhost",)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _open_when_ready(url: str, ready_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(ready_url, timeout=2) as r:  # noqa: S310 - our own loopback URL
                if r.status == 200:
                    webbrowser.open(url)
                    return
        except OSError:
            pass
        time.sleep(0.5)


@click.group()
def cli() -> None:
    """Burr command line tools."""


@cli.command("run-server")
@click.option("--port", default=7241, show_default=True, type=int, help="port to listen on")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="interface; loopback unless you add --token"
)
@click.option("--no-open", is_flag=True, help="don't open a browser")
@click.option(
    "--storage-dir",
    default=None,
    help="tracking data directory (default: $BURR_STORAGE_DIR or ~/.burr)",
)
@click.option("--dev-mode", is_flag=True, help="auto-reload the server when its code changes")
@click.option("--read-only", is_flag=True, help="refuse every write (annotations) through the API")
@click.option(
    "--token", default=None, envvar="BURR_TOKEN", help="require 'Authorization: Bearer TOKEN' on /api"
)
@click.option("--no-demo", "--no-copy-demo_data", "no_demo", is_flag=True, help="don't record demo apps")
@click.option("--backend", type=click.Choice(["local"]), default="local", help="only 'local' is supported")
@click.option(
    "--persister-db",
    "persister_dbs",
    multiple=True,
    metavar="PATH[:TABLE]",
    help="also show a SQLitePersister table (default table burr_state) as a read-only project; repeatable",
)
def run_server(
    port: int,
    host: str,
    no_open: bool,
    storage_dir: str | None,
    dev_mode: bool,
    read_only: bool,
    token: str | None,
    no_demo: bool,
    backend: str,
    persister_dbs: tuple[str, ...],
) -> None:
    """Serve the tracker UI and API (http://127.0.0.1:7241 by default)."""
    import uvicorn

    from burr.tracking.server.app import resolve_storage_dir
    from burr.tracking.server.persister_source import PersisterSourceError, check_unique, parse_source

    try:
        sources = check_unique([parse_source(spec) for spec in persister_dbs])
    except PersisterSourceError as e:
        raise click.BadParameter(str(e), param_hint="--persister-db") from e

    storage = resolve_storage_dir(storage_dir)
    os.makedirs(storage, exist_ok=True)
    if not _is_loopback(host):
        click.secho(
            f"warning: listening on {host} exposes your tracked data (state, inputs, results) to the "
            "network" + ("." if token else "; pass --token to require a bearer token."),
            fg="yellow",
            err=True,
        )
    if not no_demo:
        from burr.cli.demo_data import ensure_demo_data

        click.echo(ensure_demo_data(storage), err=True)
    os.environ["BURR_STORAGE_DIR"] = storage
    os.environ["BURR_READ_ONLY"] = "1" if read_only else ""
    os.environ["BURR_PERSISTER_DBS"] = json.dumps([f"{s.path}:{s.table}" for s in sources.values()])
    if token:
        os.environ["BURR_TOKEN"] = token
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    click.echo(f"Burr tracker on {url} (data: {storage})", err=True)
    if not no_open:
        threading.Thread(target=_open_when_ready, args=(url, url + "ready"), daemon=True).start()
    uvicorn.run(
        "burr.tracking.server.run:app",
        host=host,
        port=port,
        reload=dev_mode,
        timeout_graceful_shutdown=2,
        log_level="warning",
    )


@cli.group("test-case")
def test_case() -> None:
    """Build pytest fixtures from tracked steps."""


def _strip(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if not k.startswith("__")}


@test_case.command("create")
@click.option("--project-name", required=True)
@click.option("--partition-key", default=None)
@click.option("--app-id", required=True)
@click.option("--sequence-id", required=True, type=int)
@click.option("--target-file-name", default=None, help="JSON list file to append the case to")
@click.option("--serde-module", default=None, help="module or .py file registering custom serde (imported)")
@click.option("--action-name", default=None, help="check that the step ran this action")
@click.option("--storage-dir", default=None, help="default: $BURR_STORAGE_DIR or ~/.burr")
def create_test_case(
    project_name: str,
    partition_key: str | None,
    app_id: str,
    sequence_id: int,
    target_file_name: str | None,
    serde_module: str | None,
    action_name: str | None,
    storage_dir: str | None,
) -> None:
    """Turn one tracked step into {action, name, input_state, expected_state}."""
    from burr.tracking.server import _reader
    from burr.tracking.server.app import resolve_storage_dir
    from burr.tracking.server.index import parse_line

    if serde_module:
        import importlib
        import importlib.util

        if serde_module.endswith(".py"):
            spec = importlib.util.spec_from_file_location("burr_test_case_serde", serde_module)
            if spec is None or spec.loader is None:
                raise click.BadParameter(f"cannot import {serde_module}", param_hint="--serde-module")
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        else:
            importlib.import_module(serde_module)
    app_dir = os.path.join(resolve_storage_dir(storage_dir), project_name, app_id)
    log_path = os.path.join(app_dir, "log.jsonl")
    if not os.path.exists(log_path):
        raise click.ClickException(
            f"no tracking log at {log_path}: check --project-name/--app-id/--storage-dir"
        )
    with open(log_path, "rb") as f:
        records = [r for r in (parse_line(line)[0] for line in f if line.strip()) if r is not None]
    found = _reader.state_at(records, sequence_id)
    if found is None:
        raise click.ClickException(f"sequence id {sequence_id} not found for {project_name}/{app_id}")
    state, end = found
    action = str(end.get("action"))
    if action_name and action_name != action:
        raise click.ClickException(f"step {sequence_id} ran {action!r}, not {action_name!r}")
    if end.get("exception"):
        input_state: dict[str, Any] = _strip(state)
        expected: dict[str, Any] = {"TODO:": "fill this in"}
    else:
        expected = _strip(state)
        prior = _reader.state_at(records, sequence_id - 1) if sequence_id > 0 else None
        input_state = _strip(prior[0]) if prior else {"TODO:": "fill this in"}
    case = {
        "action": action,
        "name": f"{action}_{app_id[:8]}_{sequence_id}",
        "input_state": input_state,
        "expected_state": expected,
    }
    if target_file_name:
        cases: list[Any] = []
        if os.path.exists(target_file_name):
            with open(target_file_name, encoding="utf-8") as f:
                cases = json.load(f)
        cases.append(case)
        with open(target_file_name, "w", encoding="utf-8") as f:
            json.dump(cases, f, indent=2)
    else:
        click.echo(json.dumps(case, indent=2))
    file_name = target_file_name or "YOUR_FIXTURE_FILE.json"
    click.echo(
        "\n# pytest template:\n"
        "import pytest\n"
        "from burr.core import state\n"
        "from burr.testing import pytest_generate_tests  # noqa: F401\n\n"
        f'@pytest.mark.file_name("{file_name}")\n'
        f"def test_{action}(input_state, expected_state):\n"
        "    input_state = state.State(input_state)\n"
        "    expected_state = state.State(expected_state)\n"
        f"    # call {action} here and compare with expected_state\n"
        "    assert False, 'fill this in'\n",
        err=True,
    )


def _main(command: click.Command, args: list[str] | None = None) -> None:
    command.main(args=args if args is not None else sys.argv[1:], prog_name=os.path.basename(sys.argv[0]))


def cli_run_server() -> None:
    """Entry point of the ``burr`` script."""
    _main(run_server)


def cli_test_case() -> None:
    """Entry point of ``burr-test-case`` (``burr-test-case create ...``)."""
    _main(test_case)


if __name__ == "__main__":
    cli()
