"""A parent process killed mid-map resumes and runs only the branches that had not finished."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    from burr.core import ApplicationBuilder, State, action
    from burr.core.parallelism import MapStates
    from burr.core.persistence import SQLitePersister

    db, log, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])

    @action(reads=[], writes=["started"])
    def start(state):
        return state.update(started=True)

    @action(reads=["x"], writes=["y"])
    def work(state):
        with open(log, "a") as f:
            f.write(f"{state['x']}\\n")
        if state["x"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # die mid-map, no cleanup
        return state.update(y=state["x"] * 10)

    class Fan(MapStates):
        max_concurrency = 1
        def action(self, state, inputs):
            return work
        def states(self, state, context, inputs):
            for x in range(6):
                yield state.update(x=x)
        def reduce(self, state, states):
            return state.update(ys=[s["y"] for s in states])
        reads = ["started"]
        writes = ["ys"]

    persister = SQLitePersister(db_path=db, table_name="burr_state")
    persister.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(start=start, fan=Fan())
        .with_transitions(("start", "fan"))
        .initialize_from(persister, resume_at_next_action=True, default_state={}, default_entrypoint="start")
        .with_state_persister(persister)
        .with_identifiers(app_id="killed-parent", partition_key="p")
        .build()
    )
    _, _, state = app.run(halt_after=["fan"])
    print(json.dumps({"ys": state["ys"], "sequence_id": state["__SEQUENCE_ID"]}))
    """
)


def run_script(path: Any, db: Any, log: Any, kill_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), str(db), str(log), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_killed_parent_resumes_only_unfinished_branches(tmp_path: Any) -> None:
    script, db, log = tmp_path / "app.py", tmp_path / "state.db", tmp_path / "runs.log"
    script.write_text(SCRIPT)
    killed = run_script(script, db, log, kill_at=3)
    first_runs = log.read_text().split()
    log.write_text("")
    resumed = run_script(script, db, log, kill_at=-1)
    assert (killed.returncode, first_runs) == (-9, ["0", "1", "2", "3"])
    assert resumed.returncode == 0, resumed.stderr
    assert log.read_text().split() == ["3", "4", "5"]
    assert json.loads(resumed.stdout.strip().splitlines()[-1]) == {
        "ys": [0, 10, 20, 30, 40, 50],
        "sequence_id": 1,
    }
