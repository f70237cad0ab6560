"""Several processes resume the same app at once: exactly one advances, on every backend."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from persist_helpers import chat_states

WORKER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {here!r})
    from persist_crash_child import make
    from burr.core.persistence import StateConflictError
    from burr.core.state import _commit
    p = make({kind!r}, {table!r}, {path!r})
    loaded = p.load("pk", "app")["state"]
    nxt = _commit(loaded, loaded.increment(turns=1), {{"__SEQUENCE_ID": 3, "__PRIOR_STEP": "chat"}})
    print("loaded", flush=True)
    while not os.path.exists({go!r}):
        time.sleep(0.001)
    try:
        p.save("pk", "app", 3, "chat", nxt, "completed")
        print("saved", flush=True)
    except StateConflictError:
        print("conflict", flush=True)
    """
)


def test_processes_resuming_one_app_exactly_one_advances(backend: Any, tmp_path: Path) -> None:
    p = backend.make()
    for s in chat_states(3):
        p.save("pk", "app", s["__SEQUENCE_ID"], "chat", s, "completed")
    go = tmp_path / "go"
    code = WORKER.format(
        here=str(Path(__file__).parent), kind=backend.kind, table=backend.table, path=backend.path, go=str(go)
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "loaded"
    go.touch()
    time.sleep(0.01)
    outcomes = sorted(proc.communicate(timeout=60)[0].strip() for proc in procs)
    assert outcomes == ["conflict", "conflict", "conflict", "saved"]
    assert [s.sequence_id for s in p.list_steps("pk", "app")] == [0, 1, 2, 3]
