"""The background writer: records reach the disk without an explicit flush."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap
import time

from burr.tracking import _writer
from burr.tracking.common import logs

SCRIPT = textwrap.dedent(
    """
    import sys
    from burr.core import ApplicationBuilder, State, action

    @action(reads=["n"], writes=["n"])
    def inc(state: State) -> State:
        return state.update(n=state["n"] + 1)

    app = (ApplicationBuilder().with_actions(inc=inc).with_transitions(("inc", "inc")).with_state(n=0)
           .with_entrypoint("inc").with_identifiers(app_id="exit-app")
           .with_tracker("local", project="w", params={"storage_dir": sys.argv[1]}).build())
    for _ in range(700):
        app.step()  # bare steps never flush: only the exit handler can write the tail
    """
)


def test_records_are_written_at_interpreter_exit(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=120)
    records = logs.read_log(str(tmp_path / "w" / "exit-app" / "log.jsonl")).records
    ends = [r for r in records if r["type"] == "end_entry"]
    assert len(ends) == 700 and logs.state_at(records, None)[0]["n"] == 700


def test_queued_records_are_written_within_flush_interval(tmp_path: pathlib.Path) -> None:
    target = _writer.LogTarget(str(tmp_path / "log.jsonl"))
    old = _writer.WRITER.flush_interval
    _writer.WRITER.flush_interval = 0.05
    try:
        _writer.WRITER.put(target, {"type": "attribute", "key": "k", "value": 1, "time_logged": time.time()})
        deadline = time.monotonic() + 10
        while not os.path.exists(target.path) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        _writer.WRITER.flush_interval = old
    assert [r["key"] for r in logs.read_log(target.path).records] == ["k"]


def test_iso_timestamps_are_utc_with_microseconds() -> None:
    assert _writer.iso(1700000000.123456) == "2023-11-14T22:13:20.123456Z"
    assert _writer.iso(1700000000.9999996) == "2023-11-14T22:13:21.000000Z"


def test_nan_is_stored_as_null(tmp_path: pathlib.Path) -> None:
    target = _writer.LogTarget(str(tmp_path / "log.jsonl"))
    _writer.WRITER.put(target, {"type": "attribute", "key": "k", "value": float("nan"), "time_logged": 0.0})
    _writer.WRITER.flush()
    assert logs.read_log(target.path).records[0]["value"] is None


def test_lone_surrogate_is_escaped_not_fatal(tmp_path: pathlib.Path) -> None:
    target = _writer.LogTarget(str(tmp_path / "log.jsonl"))
    _writer.WRITER.put(target, {"type": "attribute", "key": "k", "value": "bad \udc80", "time_logged": 0.0})
    _writer.WRITER.flush()
    result = logs.read_log(target.path)
    assert result.warnings == [] and result.records[0]["value"] == "bad \udc80"
