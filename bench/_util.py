"""Shared helpers for the benchmark scripts (stdlib only: runs under either interpreter).

Every benchmark script imports this module, does its work, and calls :func:`emit` exactly once
with a flat dict of numbers. The driver (``bench/run.py``) runs the same script under our
interpreter and under Apache Burr's, and compares the two JSON lines.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
import uuid
from typing import Any, Callable

QUICK = "--quick" in sys.argv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DISK_OUT = os.path.join(REPO, ".bench-out")
SHM_OUT = "/dev/shm" if os.path.isdir("/dev/shm") else None


def size(full: int, quick: int) -> int:
    """Pick the workload size for the current mode."""
    return quick if QUICK else full


def arg(name: str, default: str) -> str:
    """Read ``--name=value`` from argv (the driver uses it for variants such as the storage medium)."""
    prefix = f"--{name}="
    for a in sys.argv[1:]:
        if a.startswith(prefix):
            return a[len(prefix) :]
    return default


def impl() -> str:
    """Which package is being measured: ``apache`` when the apache-burr distribution is installed."""
    from importlib import metadata

    try:
        metadata.version("apache-burr")
    except metadata.PackageNotFoundError:
        return "ours"
    return "apache"


def scratch_dir(kind: str, label: str) -> str:
    """A fresh, empty directory on ``disk`` (under .bench-out) or ``shm`` (tmpfs)."""
    base = DISK_OUT if kind == "disk" or SHM_OUT is None else os.path.join(SHM_OUT, "burr-bench")
    path = os.path.join(base, f"{label}-{impl()}-{uuid.uuid4().hex[:8]}")
    os.makedirs(path, exist_ok=True)
    return path


def remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def dir_bytes(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    """Best wall time (seconds) of ``repeat`` calls: the least noisy estimate on a shared machine."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def median_us(samples: list[float]) -> float:
    """Median in µs: per-step windows use it so a neighbour's burst of load does not decide a ratio."""
    return statistics.median(samples) * 1e6 if samples else float("nan")


def r(x: float, digits: int = 2) -> float:
    return round(x, digits)


def message(i: int) -> dict[str, Any]:
    """A ~200-character chat message (the payload of the chat benchmarks)."""
    body = (f"message {i}: " + "lorem ipsum dolor sit amet " * 8)[:170]
    return {"role": "user" if i % 2 == 0 else "assistant", "content": body}


def emit(result: dict[str, Any]) -> None:
    """Print the one JSON line the driver reads (last line of stdout)."""
    out = {"impl": impl(), "quick": QUICK}
    out.update(result)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
