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
    rng = random.Random(1234)
    reader = backend.make()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    last = -1
    for _ in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), backend.kind, backend.table, backend.path],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready", (
            child.stderr.read().decode() if child.stderr else ""
        )
        time.sleep(rng.uniform(0.0, 0.12))
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
    assert last > KILLS  # the runs made progress
