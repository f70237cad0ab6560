"""`import burr.core` time in a fresh interpreter (best of N, ms), measured inside the child.

Bytecode caching is on for the children (a warm-up run fills a private pycache prefix), so both
packages are measured the way users see them after the first import -- even when the caller set
PYTHONDONTWRITEBYTECODE -- without writing __pycache__ into the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import _util

CHILD = "import time; t = time.perf_counter(); import burr.core; print(time.perf_counter() - t)"
COUNT = "import sys; n = len(sys.modules); import burr.core; print(len(sys.modules) - n)"


def child(code: str, cwd: str, env: dict[str, str]) -> str:
    # A neutral cwd so the checkout next to this script cannot shadow the installed package.
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    repeat = _util.size(5, 3)
    with tempfile.TemporaryDirectory() as cwd:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(cwd, "pycache")
        modules = int(child(COUNT, cwd, env))  # also the warm-up that compiles everything
        samples = sorted(float(child(CHILD, cwd, env)) for _ in range(repeat))
    _util.emit(
        {
            "import_ms_best": _util.r(samples[0] * 1000),
            "import_ms_median": _util.r(samples[len(samples) // 2] * 1000),
            "modules_loaded": modules,
        }
    )


if __name__ == "__main__":
    main()
