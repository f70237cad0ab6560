"""`import burr.core` time in a fresh interpreter (best of N, ms), measured inside the child."""

from __future__ import annotations

import subprocess
import sys
import tempfile

import _util

CHILD = "import time; t = time.perf_counter(); import burr.core; print(time.perf_counter() - t)"


def once(cwd: str) -> float:
    # A neutral cwd so the checkout next to this script cannot shadow the installed package.
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=cwd, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    repeat = _util.size(5, 3)
    with tempfile.TemporaryDirectory() as cwd:
        samples = [once(cwd) for _ in range(repeat)]
        modules = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; n = len(sys.modules); import burr.core; print(len(sys.modules) - n)",
            ],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    _util.emit(
        {
            "import_ms_best": _util.r(min(samples) * 1000),
            "import_ms_median": _util.r(sorted(samples)[len(samples) // 2] * 1000),
            "modules_loaded": int(modules),
        }
    )


if __name__ == "__main__":
    main()
