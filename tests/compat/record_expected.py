"""Record the expected output of every differential scenario from Apache Burr 0.43.

Usage (needs the peer virtualenv with ``apache-burr==0.43.0``; CI never runs this)::

    python tests/compat/record_expected.py                 # record all scenarios
    python tests/compat/record_expected.py state_ops ...   # record some
    python tests/compat/record_expected.py --diff [names]  # run both, print differences, write nothing

Apache Burr is a black box here: we only run scenarios under its interpreter and store what they print.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
EXPECTED = HERE / "expected"
PEER_PYTHON = Path(os.environ.get("BURR_PEER_PYTHON", HERE.parents[1] / ".venv-peer" / "bin" / "python"))


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.py") if not p.name.startswith("_"))


def run_scenario(python: str | Path, name: str) -> str:
    """Run one scenario in a scratch directory and return its stdout (raises on failure)."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix=f"compat-{name}-") as tmp:
        proc = subprocess.run(
            [str(python), str(SCENARIOS / f"{name}.py")],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"scenario {name} failed under {python}:\n{proc.stdout}\n{proc.stderr}")
    json.loads(proc.stdout)  # must be one JSON document
    return proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*")
    parser.add_argument("--diff", action="store_true", help="compare ours with Apache Burr; write nothing")
    args = parser.parse_args()
    names = args.names or scenario_names()
    EXPECTED.mkdir(exist_ok=True)
    status = 0
    for name in names:
        theirs = run_scenario(PEER_PYTHON, name)
        if not args.diff:
            (EXPECTED / f"{name}.json").write_text(theirs)
            print(f"recorded {name}")
            continue
        try:
            ours = run_scenario(sys.executable, name)
        except RuntimeError as e:
            print(str(e))
            status = 1
            continue
        if ours == theirs:
            print(f"same     {name}")
        else:
            status = 1
            print(f"DIFFERS  {name}")
            sys.stdout.writelines(
                difflib.unified_diff(
                    theirs.splitlines(True), ours.splitlines(True), "apache-burr", "ours", n=4
                )
            )
    return status


if __name__ == "__main__":
    sys.exit(main())
