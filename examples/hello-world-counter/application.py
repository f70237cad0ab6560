"""Hello world: a counter that counts to a limit, then stops.

In memory by default; ``--persist`` saves every step to SQLite (run it twice: the second run picks up
where the first stopped), ``--track`` records the run for the tracker UI (``burr``).

    python application.py
    python application.py --persist --steps 3      # count to 3, then stop
    python application.py --persist                # resume: count 4..10
    python application.py --track
    python application.py --track --app-id first --count-up-to 5
    python application.py --fork-from first --fork-at 2 --count-up-to 8   # replay from step 2 of 'first'
"""

from __future__ import annotations

import argparse
from typing import Any

from burr.core import Application, ApplicationBuilder, State, action, default, expr

PROJECT = "demo_counter"


@action(reads=["counter"], writes=["counter"])
def counter(state: State) -> State:
    """Add one to the counter."""
    result = state["counter"] + 1
    print(f"counted to {result}")
    return state.update(counter=result)


@action(reads=["counter"], writes=[])
def result(state: State) -> State:
    """The final step: nothing to change, the counter is the answer."""
    return state


def build_application(
    count_up_to: int = 10,
    app_id: str | None = None,
    tracker: Any = None,
    persister: Any = None,
    fork_from_app_id: str | None = None,
    fork_from_sequence_id: int | None = None,
) -> Application[Any]:
    """The counter: ``counter`` repeats while below ``count_up_to``, then ``result``.

    With ``persister`` the application resumes from the last saved step of ``app_id`` (and saves
    every step); without one it starts at zero in memory. ``tracker`` is a tracker object or
    ``"local"``. ``fork_from_app_id`` starts a new application from the state of another run after
    its step ``fork_from_sequence_id`` (default: its last step), loaded from ``persister`` or, without
    one, from ``tracker``: a ``LocalTrackingClient`` reads back the runs it recorded.
    """
    builder = (
        ApplicationBuilder()
        .with_actions(counter=counter, result=result)
        .with_transitions(
            ("counter", "counter", expr(f"counter < {count_up_to}")),
            ("counter", "result", default),
        )
    )
    if fork_from_app_id is not None:
        loader = persister if persister is not None else tracker
        if loader is None or isinstance(loader, str):
            raise ValueError(
                "forking needs somewhere to load the parent run from: pass persister=... or a tracker "
                "object such as LocalTrackingClient(project=...) (not the string 'local')."
            )
        builder = builder.initialize_from(
            loader,
            resume_at_next_action=True,
            default_state={"counter": 0},
            default_entrypoint="counter",
            fork_from_app_id=fork_from_app_id,
            fork_from_sequence_id=fork_from_sequence_id,
        )
        if persister is not None:
            builder = builder.with_state_persister(persister)
    elif persister is not None:
        builder = builder.initialize_from(
            persister, resume_at_next_action=True, default_state={"counter": 0}, default_entrypoint="counter"
        ).with_state_persister(persister)
    else:
        builder = builder.with_state(counter=0).with_entrypoint("counter")
    if app_id is not None:
        builder = builder.with_identifiers(app_id=app_id)
    if tracker is not None:
        builder = (
            builder.with_tracker(tracker, project=PROJECT)
            if isinstance(tracker, str)
            else builder.with_tracker(tracker)
        )
    return builder.build()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count-up-to", type=int, default=10)
    parser.add_argument("--persist", action="store_true", help="save steps to SQLite and resume from them")
    parser.add_argument("--db", default="counter.db", help="SQLite file used with --persist")
    parser.add_argument("--app-id", default=None, help="application id (reuse it with --persist to resume)")
    parser.add_argument("--track", action="store_true", help="record the run for the tracker UI (`burr`)")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps (resume later)")
    parser.add_argument(
        "--fork-from",
        default=None,
        help="app id of a run to fork: from --db with --persist, else from the tracker (~/.burr)",
    )
    parser.add_argument("--fork-at", type=int, default=None, help="step of --fork-from to fork after")
    args = parser.parse_args()
    tracker: Any = "local" if args.track else None
    if args.fork_from is not None:
        from burr.tracking import LocalTrackingClient

        tracker = LocalTrackingClient(project=PROJECT)
    persister = None
    if args.persist:
        from burr.core.persistence import SQLitePersister

        persister = SQLitePersister(args.db, table_name="counter")
        persister.initialize()
    app = build_application(
        count_up_to=args.count_up_to,
        app_id=args.app_id or ("my-counter" if args.persist else None),
        tracker=tracker,
        persister=persister,
        fork_from_app_id=args.fork_from,
        fork_from_sequence_id=args.fork_at,
    )
    if app.sequence_id is not None:
        print(f"resumed {app.uid} at step {app.sequence_id} (counter={app.state['counter']})")
    if not app.has_next_action():
        print(f"{app.uid} already finished: counter={app.state['counter']}")
        return
    if args.steps is not None:
        for _ in range(args.steps):
            if app.step() is None:
                break
        print(f"stopped at step {app.sequence_id}: counter={app.state['counter']}")
        return
    action_, _, state = app.run(halt_after=["result"])
    print(f"{action_.name}: counter={state['counter']}")


if __name__ == "__main__":
    main()
