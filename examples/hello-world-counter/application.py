"""Hello world: a counter that counts to a limit, then stops.

Run it with ``python examples/hello-world-counter/application.py``.
"""

from __future__ import annotations

from typing import Any

from burr.core import Application, ApplicationBuilder, State, action, default, expr


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


def build_application(count_up_to: int = 10, app_id: str | None = None, tracker: Any = None) -> Application:
    """The counter application: ``counter`` repeats while below ``count_up_to``, then ``result``."""
    builder = (
        ApplicationBuilder()
        .with_actions(counter=counter, result=result)
        .with_transitions(
            ("counter", "counter", expr(f"counter < {count_up_to}")),
            ("counter", "result", default),
        )
        .with_state(counter=0)
        .with_entrypoint("counter")
    )
    if app_id is not None:
        builder = builder.with_identifiers(app_id=app_id)
    if tracker is not None:
        builder = builder.with_tracker(tracker)
    return builder.build()


if __name__ == "__main__":
    app = build_application()
    action_, _, state = app.run(halt_after=["result"])
    print(f"{action_.name}: counter={state['counter']}")
