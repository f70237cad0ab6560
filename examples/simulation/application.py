"""A traffic-light simulation: no LLM, just a state machine stepping a deterministic world.

One intersection, two directions (north-south and east-west). Each tick cars arrive at random
(seeded, so every run with the same seed is identical, even when resumed halfway from a persister),
the controller picks which direction is green, and up to ``capacity`` cars cross. Compare a
fixed-cycle controller with an adaptive one: ``python application.py --compare``.
"""

from __future__ import annotations

import argparse
import random
import uuid
from typing import Any

from burr.core import Application, ApplicationBuilder, State, action, default, expr

PROJECT = "demo_traffic_simulation"
DIRECTIONS = ("ns", "ew")


@action(reads=["tick", "seed", "arrival_rate", "queues"], writes=["queues", "arrived"])
def arrivals(state: State) -> State:
    rng = random.Random(f"{state['seed']}:{state['tick']}")  # per-tick stream: resumable and reproducible
    queues = {d: list(q) for d, q in state["queues"].items()}
    arrived = 0
    for direction in DIRECTIONS:
        for _ in range(4):  # binomial(4, rate): at most four cars per direction per tick
            if rng.random() < state["arrival_rate"][direction]:
                queues[direction].append(state["tick"])
                arrived += 1
    return state.update(queues=queues).increment(arrived=arrived)


@action(reads=["policy", "green", "green_for", "queues", "cycle"], writes=["green", "green_for"])
def controller(state: State) -> State:
    green, green_for = state["green"], state["green_for"]
    other = "ew" if green == "ns" else "ns"
    if state["policy"] == "fixed":
        switch = green_for >= state["cycle"]
    else:  # adaptive: keep green while it is busy, switch early when the other side piles up
        waiting_here, waiting_there = len(state["queues"][green]), len(state["queues"][other])
        switch = green_for >= 2 and (
            waiting_here == 0 and waiting_there > 0 or waiting_there > 2 * waiting_here + 4
        )
    return state.update(green=other, green_for=1) if switch else state.update(green_for=green_for + 1)


@action(reads=["queues", "green", "capacity", "tick"], writes=["queues", "departed", "total_wait"])
def discharge(state: State) -> State:
    queues = {d: list(q) for d, q in state["queues"].items()}
    lane = queues[state["green"]]
    leaving, queues[state["green"]] = lane[: state["capacity"]], lane[state["capacity"] :]
    waited = sum(state["tick"] - arrived_at for arrived_at in leaving)
    return state.update(queues=queues).increment(departed=len(leaving), total_wait=waited)


@action(reads=["tick", "queues", "green"], writes=["tick", "timeline"])
def record(state: State) -> State:
    snapshot = {
        "tick": state["tick"],
        "green": state["green"],
        **{d: len(q) for d, q in state["queues"].items()},
    }
    return state.append(timeline=snapshot).update(tick=state["tick"] + 1)


@action(reads=["departed", "arrived", "total_wait", "timeline", "queues", "policy"], writes=["report"])
def report(state: State) -> tuple[dict[str, Any], State]:
    summary = {
        "policy": state["policy"],
        "arrived": state["arrived"],
        "departed": state["departed"],
        "still_waiting": sum(len(q) for q in state["queues"].values()),
        "mean_wait_ticks": round(state["total_wait"] / max(1, state["departed"]), 3),
        "max_queue": max(max(s["ns"], s["ew"]) for s in state["timeline"]),
    }
    return summary, state.update(report=summary)


def build_application(
    app_id: str | None = None,
    seed: int = 7,
    ticks: int = 120,
    policy: str = "adaptive",
    persister: Any = None,
    tracker: Any = None,
) -> Application[Any]:
    if policy not in ("fixed", "adaptive"):
        raise ValueError(f"policy must be 'fixed' or 'adaptive', got {policy!r}")
    initial = {
        "seed": seed,
        "ticks": ticks,
        "policy": policy,
        "cycle": 6,
        "capacity": 2,
        "arrival_rate": {"ns": 0.22, "ew": 0.12},
        "tick": 0,
        "green": "ns",
        "green_for": 0,
        "queues": {"ns": [], "ew": []},
        "arrived": 0,
        "departed": 0,
        "total_wait": 0,
        "timeline": [],
    }
    builder = (
        ApplicationBuilder()
        .with_actions(
            arrivals=arrivals, controller=controller, discharge=discharge, record=record, report=report
        )
        .with_transitions(
            ("arrivals", "controller"),
            ("controller", "discharge"),
            ("discharge", "record"),
            ("record", "report", expr("tick >= ticks")),
            ("record", "arrivals", default),
        )
    )
    if persister is not None:
        builder = builder.initialize_from(
            persister, resume_at_next_action=True, default_state=initial, default_entrypoint="arrivals"
        ).with_state_persister(persister)
    else:
        builder = builder.with_state(**initial).with_entrypoint("arrivals")
    if tracker is not None:
        builder = (
            builder.with_tracker(tracker, project=PROJECT)
            if isinstance(tracker, str)
            else builder.with_tracker(tracker)
        )
    return builder.with_identifiers(app_id=app_id or str(uuid.uuid4())).build()


def simulate(seed: int, ticks: int, policy: str) -> tuple[dict[str, Any], State]:
    app = build_application(seed=seed, ticks=ticks, policy=policy)
    _action, result, state = app.run(halt_after=["report"])
    return result, state


def sparkline(values: list[int]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(values) or 1
    return "".join(bars[round(v / top * (len(bars) - 1))] for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ticks", type=int, default=120)
    parser.add_argument("--policy", choices=["fixed", "adaptive"], default="adaptive")
    parser.add_argument("--compare", action="store_true", help="run both policies on the same traffic")
    args = parser.parse_args()
    for policy in ("fixed", "adaptive") if args.compare else (args.policy,):
        result, state = simulate(args.seed, args.ticks, policy)
        print(f"{policy:>8}: {result}")
        print(f"{'':>8}  NS queue {sparkline([s['ns'] for s in state['timeline']])}")
        print(f"{'':>8}  EW queue {sparkline([s['ew'] for s in state['timeline']])}")


if __name__ == "__main__":
    main()
