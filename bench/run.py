"""Run every benchmark under our ``burr`` and under Apache Burr 0.43, and compare.

    python bench/run.py                  # full run (both packages), writes results.json + RESULTS.md
    python bench/run.py --quick          # smaller workloads, for iterating (< 2 minutes)
    python bench/run.py --only core_chat # one benchmark (repeatable flag; prefix match)
    python bench/run.py --impl ours      # re-measure one side, reuse the other from results.json
    python bench/run.py --repeat 5       # runs per script and side; the best run counts

Each benchmark is a standalone script in this directory that prints one JSON line; the same file
runs under both interpreters. Ours is ``sys.executable``; Apache Burr lives in ``.venv-peer``,
which this driver creates on first use. A script that fails on one side is recorded with its error
and shown as ``n/a`` -- the other side and the other benchmarks still run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEER_VENV = os.path.join(REPO, ".venv-peer")
PEER_PYTHON = os.path.join(PEER_VENV, "bin", "python")
PEER_REQUIREMENTS = ["apache-burr==0.43.0", "pydantic"]
RESULTS_JSON = os.path.join(HERE, "results.json")
RESULTS_MD = os.path.join(HERE, "RESULTS.md")
# Quick runs never overwrite the full results.
QUICK_JSON = os.path.join(HERE, "results-quick.json")
QUICK_MD = os.path.join(HERE, "RESULTS-quick.md")
IMPLS = ("ours", "apache")


@dataclasses.dataclass(frozen=True)
class Metric:
    key: str
    label: str
    # "lower"/"higher": which direction is better (drives the speed-up column); None: no ratio.
    better: str | None = "lower"
    # A target is (description, check(ours, apache) -> bool).
    target: tuple[str, Callable[[float, float | None], bool]] | None = None


@dataclasses.dataclass(frozen=True)
class Bench:
    name: str
    script: str
    metrics: tuple[Metric, ...]
    args: tuple[str, ...] = ()
    issue: str = ""


def at_least_x(factor: float, better: str = "lower") -> tuple[str, Callable[[float, float | None], bool]]:
    def check(ours: float, apache: float | None) -> bool:
        if apache is None:
            return False
        ratio = apache / ours if better == "lower" else ours / apache
        return ratio >= factor

    label = f">= {factor:g}x Burr" if factor != 1 else ">= Burr" if better == "higher" else "<= Burr"
    return label, check


def at_most(limit: float, unit: str = "") -> tuple[str, Callable[[float, float | None], bool]]:
    return f"<= {limit:g}{unit}", lambda ours, _apache: ours <= limit


def below(limit: float, unit: str = "") -> tuple[str, Callable[[float, float | None], bool]]:
    return f"< {limit:g}{unit}", lambda ours, _apache: ours < limit


def persist_bench(medium: str) -> Bench:
    return Bench(
        f"persist_{medium}",
        "persist_sqlite.py",
        (
            Metric("mean_us_per_step", "persisted chat step, mean incl. close (µs)", target=at_least_x(3)),
            Metric("first100_us_per_step", "persisted step, first 100 (median µs)"),
            Metric("last100_us_per_step", "persisted step, last 100 (median µs)"),
            Metric("last_over_first", "persisted step last100/first100", None, at_most(1.3)),
            Metric("db_mb", "DB files while open, incl. -wal (MB)"),
            Metric("db_mb_closed", "DB files after close (MB)"),
            Metric("final_state_kb", "final state JSON (KB)", None),
            Metric("db_over_state", "DB files while open / final state", None, at_most(3)),
            Metric("db_closed_over_state", "DB files after close / final state", None, at_most(3)),
            Metric("resume_ms_best", "resume: build() w/ initialize_from (ms)", target=at_least_x(1)),
        ),
        (f"--medium={medium}",),
        "3",
    )


BENCHES: tuple[Bench, ...] = (
    Bench(
        "core_counter",
        "core_counter.py",
        (
            Metric("run_us_per_step", "counter via run() (µs/step)", target=at_least_x(10)),
            Metric("iterate_us_per_step", "counter via iterate() (µs/step)", target=at_least_x(10)),
            Metric("step_us_per_step", "counter via step() (µs/step)", target=at_least_x(10)),
        ),
        issue="2",
    ),
    Bench(
        "core_async",
        "core_async.py",
        (Metric("arun_us_per_step", "async counter via arun() (µs/step)", target=at_least_x(10)),),
        issue="2",
    ),
    Bench(
        "core_chat",
        "core_chat.py",
        (
            Metric("first100_us_per_step", "chat append, first 100 (median µs)"),
            Metric("last100_us_per_step", "chat append, last 100 (median µs)"),
            Metric("last_over_first", "chat last100/first100", None, at_most(1.3)),
        ),
        issue="2",
    ),
    Bench(
        "core_stream",
        "core_stream.py",
        (Metric("tokens_per_s", "stream_result tokens/s", "higher", at_least_x(1, "higher")),),
        issue="2",
    ),
    Bench(
        "core_import",
        "core_import.py",
        (
            Metric("import_ms_best", "`import burr.core` (ms, best of 5)", target=below(60, " ms")),
            Metric("modules_loaded", "modules loaded by `import burr.core`"),
        ),
        issue="2",
    ),
    persist_bench("disk"),
    persist_bench("shm"),
    Bench(
        "tracking",
        "tracking_local.py",
        (
            Metric("untracked_us_per_step", "counter via run(), untracked (µs/step)"),
            Metric(
                "tracked_us_per_step",
                "counter via run(), LocalTrackingClient (µs/step)",
                target=at_least_x(5),
            ),
            Metric("tracking_overhead_us", "tracking overhead per step (µs)"),
            Metric("chat_first100_us_per_run", "tracked chat turn (run()), first 100 (median µs)"),
            Metric("chat_last100_us_per_run", "tracked chat turn (run()), last 100 (median µs)"),
            Metric("chat_last_over_first", "tracked chat turn last100/first100", None, at_most(1.3)),
            Metric("chat_bytes_written_mb", "tracked chat: bytes written (MB)"),
            Metric("written_over_state", "bytes written / final state", None, at_most(3)),
        ),
        ("--medium=disk",),
        "4",
    ),
    Bench(
        "parallel",
        "parallel_map.py",
        (
            Metric("us_per_branch", "MapStates trivial branch (µs/branch)"),
            Metric("sleep8_sync_wall_s", "8 x sleep(0.2), sync default executor (s)"),
            Metric("sleep8_async_wall_s", "8 x asyncio.sleep(0.2) via arun (s)"),
        ),
        issue="6",
    ),
)


def ensure_peer() -> str:
    """Create .venv-peer with Apache Burr if it is missing (so a fresh clone can run the suite)."""
    if os.path.exists(PEER_PYTHON):
        return PEER_PYTHON
    print(f"creating {PEER_VENV} with {' '.join(PEER_REQUIREMENTS)} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", PEER_VENV], check=True)
    subprocess.run([PEER_PYTHON, "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True)
    return PEER_PYTHON


def run_script(python: str, bench: Bench, quick: bool, timeout: float) -> dict[str, Any]:
    cmd = [python, os.path.join(HERE, bench.script), *bench.args]
    if quick:
        cmd.append("--quick")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["BURR_TELEMETRY"] = "0"  # harmless for us; keeps Apache Burr from phoning home
    # A neutral cwd: the checkout must not shadow the installed package under the peer interpreter.
    with tempfile.TemporaryDirectory() as cwd:
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:g}s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"[:300]}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"bad output: {lines[-1][:200]}"}


def combine(bench: Bench, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge repeated runs: best value for timed metrics (least disturbed by neighbours), median
    for the rest. Raw runs are kept; failed runs are reported and left out of the numbers."""
    ok = [r for r in runs if "error" not in r]
    failed = [r for r in runs if "error" in r]
    if not ok:
        return {"error": failed[0]["error"], "runs": runs}
    if len(runs) == 1:
        return runs[0]
    merged = dict(ok[0])
    if failed:  # shown under failures, but the runs that worked still count
        merged["partial_error"] = f"{len(failed)} of {len(runs)} runs failed: {failed[0]['error']}"
    for m in bench.metrics:
        values = [r[m.key] for r in ok if isinstance(r.get(m.key), (int, float))]
        if not values:
            continue
        if m.better == "lower":
            merged[m.key] = min(values)
        elif m.better == "higher":
            merged[m.key] = max(values)
        else:
            merged[m.key] = statistics.median(values)
    merged["runs"] = runs
    return merged


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def number(res: dict[str, Any] | None, key: str) -> float | None:
    if not res or "error" in res:
        return None
    v = res.get(key)
    return float(v) if isinstance(v, (int, float)) else None


def rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    out = []
    for bench in BENCHES:
        entry = results.get(bench.name)
        if entry is None:
            continue
        ours_res, apache_res = entry.get("ours"), entry.get("apache")
        for m in bench.metrics:
            o, a = number(ours_res, m.key), number(apache_res, m.key)
            ratio = ""
            if m.better and o and a:
                ratio = f"{(a / o if m.better == 'lower' else o / a):.2f}x"
            target, verdict = "", ""
            if m.target:
                target = m.target[0]
                verdict = "n/a" if o is None else ("PASS" if m.target[1](o, a) else "miss")
            out.append(
                [bench.name, m.label, ourfmt(o, ours_res), ourfmt(a, apache_res), ratio, target, verdict]
            )
    return out


def ourfmt(value: float | None, res: dict[str, Any] | None) -> str:
    if value is None:
        return "n/a" if res is None or "error" in res else "-"
    return fmt(int(value) if value.is_integer() and abs(value) >= 100 else value)


HEADER = ["bench", "metric", "ours", "Apache Burr", "speed-up", "target", "ok"]


def text_table(table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *table]) for i in range(len(HEADER))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table]
    return "\n".join(lines)


def errors(results: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for name, entry in results.items():
        for impl in IMPLS:
            res = entry.get(impl) or {}
            problem = res.get("error") or res.get("partial_error")
            if problem:
                out.append(f"{name} [{impl}]: {problem}")
    return out


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    table = rows(results)
    md = [
        "# Benchmarks: burr vs Apache Burr 0.43",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']}, "
        f"{'quick' if meta['quick'] else 'full'} run, 1-minute load average {meta.get('load_avg_1m', '?')} at the end "
        "(the machine is shared: absolute numbers are noisy, ratios less so). "
        "Regenerate with `python bench/run.py`.",
        "",
        "speed-up = how many times better ours is (Apache time / our time, or our rate / Apache rate). "
        "`n/a` = the script failed on that side (errors below).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    md += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table]
    errs = errors(results)
    if errs:
        md += ["", "## Failures", ""] + [f"- `{e}`" for e in errs]
    return "\n".join(md) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller workloads (< 2 minutes in total)")
    parser.add_argument(
        "--only", action="append", default=[], help="run benchmarks whose name starts with this"
    )
    parser.add_argument(
        "--impl", choices=("both", *IMPLS), default="both", help="which package(s) to measure"
    )
    parser.add_argument("--timeout", type=float, default=None, help="per-script timeout in seconds")
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per script and side (default: 3, quick: 1)"
    )
    opts = parser.parse_args()

    selected = [b for b in BENCHES if not opts.only or any(b.name.startswith(o) for o in opts.only)]
    if not selected:
        parser.error(f"no benchmark matches {opts.only}; known: {', '.join(b.name for b in BENCHES)}")
    impls = IMPLS if opts.impl == "both" else (opts.impl,)
    pythons = {"ours": sys.executable}
    if "apache" in impls:
        pythons["apache"] = ensure_peer()
    timeout = opts.timeout or (90.0 if opts.quick else 300.0)
    repeat = opts.repeat or (1 if opts.quick else 3)

    # Partial runs (--only / --impl) merge into earlier results of the same mode.
    json_path, md_path = (QUICK_JSON, QUICK_MD) if opts.quick else (RESULTS_JSON, RESULTS_MD)
    results: dict[str, dict[str, Any]] = {}
    if os.path.exists(json_path):
        try:
            with open(json_path) as f:
                results = json.load(f).get("results", {})
        except (OSError, ValueError):
            results = {}

    for bench in selected:
        runs: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
        for rep in range(repeat):
            for impl in impls:  # interleaved, so a burst of load hits both sides alike
                print(f"{bench.name:<14} {impl:<7} run {rep + 1}/{repeat} ...", end=" ", flush=True)
                res = run_script(pythons[impl], bench, opts.quick, timeout)
                if "error" not in res and res.get("impl") != impl:
                    res = {
                        "error": f"measured the wrong package (got {res.get('impl')!r}); check the install"
                    }
                runs[impl].append(res)
                print(res.get("error", "ok"), flush=True)
        entry = results.setdefault(bench.name, {})
        for impl in impls:
            entry[impl] = combine(bench, runs[impl])

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quick": opts.quick,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    ordered = {b.name: results[b.name] for b in BENCHES if b.name in results}
    with open(json_path, "w") as f:
        json.dump({"meta": meta, "results": ordered}, f, indent=2)
        f.write("\n")
    with open(md_path, "w") as f:
        f.write(markdown(ordered, meta))
    print()
    print(text_table(rows(ordered)))
    errs = errors(ordered)
    if errs:
        print("\nfailures:\n  " + "\n  ".join(errs))
    print(f"\nwrote {os.path.relpath(json_path)} and {os.path.relpath(md_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
