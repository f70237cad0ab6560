"""SIGKILL a child running an app against each backend, many times; every resume must continue cleanly."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("persist_crash_child.py")
KILLS = 15


@pytest.mark.slow
def test_killed_runs_resume_without_gaps_or_duplicates(backend: Any) -> None:
    _kill_and_resume(backend, "step", KILLS)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_killed_write_behind_runs_keep_a_loadable_prefix(backend: Any) -> None:
    _kill_and_resume(backend, "write_behind", 8)


def _wait_for_progress(backend: Any, last: int, timeout_s: float = 20.0) -> None:
    poller = backend.make()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        steps = poller.list_steps("pk", "crashy")
        if steps and steps[-1].sequence_id > last:
            return
        time.sleep(0.005)
    raise AssertionError(f"the child made no progress past step {last} in {timeout_s}s")


def _kill_and_resume(backend: Any, on_every: str, kills: int) -> None:
    rng = random.Random(1234)
    reader = backend.make()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    last = -1
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), backend.kind, backend.table, backend.path, on_every],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready", (
            child.stderr.read().decode() if child.stderr else ""
        )
        _wait_for_progress(backend, last)  # so every run advances, however loaded the machine is
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        loaded = backend.make().load("pk", "crashy")
        assert loaded is not None
        seq = loaded["sequence_id"]
        assert seq >= last
        assert loaded["state"]["chat"] == [f"turn {i}" for i in range(seq + 1)]
        last = seq
    steps = [s.sequence_id for s in reader.list_steps("pk", "crashy")]
    assert steps == list(range(last + 1))
    assert last >= kills - 1  # every run advanced (the first from -1)
