"""examples/human-in-the-loop: pause for approval, resume in a new process, and the error route."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "human-in-the-loop" / "application.py"


def run(tmp: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=tmp, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_draft_waits_for_approval_and_is_sent_by_a_later_process(tmp_path: Path) -> None:
    assert "waiting for approval of draft #1" in run(tmp_path)
    second = run(tmp_path, "--answer", "revise: shorter")
    assert "waiting for approval of draft #2" in second and "(reviewer: shorter)" in second
    third = run(tmp_path, "--answer", "approve")
    assert "drafted" not in third  # approving does not redo the drafting work
    assert "finished at send after 2 draft(s)" in third


def test_a_provider_outage_takes_the_error_route(tmp_path: Path) -> None:
    out = run(tmp_path, "--llm-down", "--app-id", "outage")
    assert "ConnectionError after 3 attempts" in out and "finished at apologize" in out
