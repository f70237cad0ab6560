"""Demo data for the first ``burr`` start: small offline apps really run through the public API.

Nothing here needs a network or an API key: the chatbot is a deterministic stand-in for an LLM.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Generator
from typing import Any

DEMO_PROJECTS = ("demo_counter", "demo_chatbot", "demo_parallel")


def has_demo_data(storage_dir: str) -> bool:
    return any(os.path.isdir(os.path.join(storage_dir, p)) for p in DEMO_PROJECTS)


def _tracker(project: str, storage_dir: str) -> Any:
    from burr.tracking import LocalTrackingClient

    return LocalTrackingClient(project=project, storage_dir=storage_dir)


def run_counter(storage_dir: str, app_id: str, target: int, partition_key: str | None = None) -> Any:
    """A counter with spans and attributes that loops until ``target``, then forks once from step 2."""
    from burr.core import ApplicationBuilder, State, default, expr
    from burr.core.action import action
    from burr.visibility import TracerFactory

    @action(reads=["count"], writes=["count", "history"])
    def increment(state: State, __tracer: TracerFactory) -> State:
        with __tracer("compute") as t:
            t.log_attributes(before=state["count"])
            with __tracer("square"):
                squared = state["count"] ** 2
            t.log_attributes(squared=squared)
        __tracer.log_attribute("step_kind", "increment")
        return state.update(count=state["count"] + 1).append(history=state["count"] + 1)

    @action(reads=["count"], writes=["message"])
    def done(state: State) -> tuple[dict, State]:
        message = f"counted to {state['count']}"
        return {"message": message}, state.update(message=message)

    app: Any = (
        ApplicationBuilder()
        .with_actions(increment=increment, done=done)
        .with_transitions(
            ("increment", "increment", expr(f"count < {target}")),
            ("increment", "done", default),
        )
        .with_state(count=0, history=[])
        .with_entrypoint("increment")
        .with_tracker(_tracker("demo_counter", storage_dir))
        .with_identifiers(app_id=app_id, partition_key=partition_key)
        .build()
    )
    app.run(halt_after=["done"])
    return app


def run_fork(storage_dir: str, parent_app_id: str, parent_partition_key: str | None, at: int) -> None:
    """Fork the counter from step ``at`` into a new app, then run it to the end."""
    from burr.core import ApplicationBuilder, State, default, expr
    from burr.core.action import action

    @action(reads=["count"], writes=["count", "history"])
    def increment(state: State) -> State:
        return state.update(count=state["count"] + 10).append(history=state["count"] + 10)

    @action(reads=["count"], writes=["message"])
    def done(state: State) -> tuple[dict, State]:
        message = f"forked and counted to {state['count']}"
        return {"message": message}, state.update(message=message)

    tracker = _tracker("demo_counter", storage_dir)
    app: Any = (
        ApplicationBuilder()
        .with_actions(increment=increment, done=done)
        .with_transitions(("increment", "increment", expr("count < 30")), ("increment", "done", default))
        .initialize_from(
            tracker,
            resume_at_next_action=True,
            default_state={"count": 0, "history": []},
            default_entrypoint="increment",
            fork_from_app_id=parent_app_id,
            fork_from_partition_key=parent_partition_key,
            fork_from_sequence_id=at,
        )
        .with_tracker(tracker)
        .with_identifiers(app_id=f"{parent_app_id}-fork", partition_key=parent_partition_key)
        .build()
    )
    app.run(halt_after=["done"])


_REPLIES = {
    "hello": "Hi! I am an offline demo bot. Ask me about Burr.",
    "what is burr": "Burr builds applications as state machines of actions, so every step is visible here.",
    "fail": "",
}


def run_chatbot(storage_dir: str, app_id: str, prompts: list[str], user: str) -> None:
    """A deterministic streaming 'chatbot': replies are canned, streamed word by word."""
    from burr.core import ApplicationBuilder, State
    from burr.core.action import action, streaming_action

    @action(reads=[], writes=["chat_history", "prompt"])
    def user_input(state: State, prompt: str) -> State:
        return state.update(prompt=prompt).append(chat_history={"role": "user", "content": prompt})

    @streaming_action(reads=["prompt", "chat_history"], writes=["chat_history", "response"])
    def respond(state: State) -> Generator[tuple[dict, State | None], None, None]:
        prompt = state["prompt"].lower().strip("?!. ")
        if prompt == "fail":
            raise RuntimeError("the demo model refused this prompt (this failure is on purpose)")
        reply = _REPLIES.get(prompt, f"You said: {state['prompt']}. (This demo bot only echoes.)")
        words = reply.split(" ")
        for i, word in enumerate(words):
            time.sleep(0.002)
            yield {"delta": word + (" " if i < len(words) - 1 else "")}, None
        yield (
            {"response": reply},
            state.update(response=reply).append(chat_history={"role": "assistant", "content": reply}),
        )

    app: Any = (
        ApplicationBuilder()
        .with_actions(user_input=user_input, respond=respond)
        .with_transitions(("user_input", "respond"), ("respond", "user_input"))
        .with_state(chat_history=[])
        .with_entrypoint("user_input")
        .with_tracker(_tracker("demo_chatbot", storage_dir))
        .with_identifiers(app_id=app_id, partition_key=user)
        .build()
    )
    for prompt in prompts:
        try:
            _, container = app.stream_result(halt_after=["respond"], inputs={"prompt": prompt})
            for _ in container:
                pass
            container.get()
        except RuntimeError:
            break


def run_parallel(storage_dir: str, app_id: str) -> None:
    """A MapStates fan-out: each query runs in its own child app, reduced into one list."""
    from burr.core import ApplicationBuilder, State
    from burr.core.action import action
    from burr.core.parallelism import MapStates

    @action(reads=["query"], writes=["answer"])
    def answer(state: State) -> State:
        return state.update(answer=f"{state['query']} -> {len(state['query'])} letters")

    class AnswerAll(MapStates):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return answer

        def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[State, None, None]:
            for q in state["queries"]:
                yield state.update(query=q)

        def reduce(self, state: State, states: Any) -> State:
            return state.update(answers=[s["answer"] for s in states])

        @property
        def reads(self) -> list[str]:
            return ["queries"]

        @property
        def writes(self) -> list[str]:
            return ["answers"]

    @action(reads=["answers"], writes=["summary"])
    def summarize(state: State) -> State:
        return state.update(summary=f"{len(state['answers'])} answers")

    app: Any = (
        ApplicationBuilder()
        .with_actions(answer_all=AnswerAll(), summarize=summarize)
        .with_transitions(("answer_all", "summarize"))
        .with_state(queries=["alpha", "beta", "gamma", "delta"])
        .with_entrypoint("answer_all")
        .with_tracker(_tracker("demo_parallel", storage_dir))
        .with_identifiers(app_id=app_id)
        .build()
    )
    app.run(halt_after=["summarize"])


def generate(storage_dir: str) -> list[str]:
    """Record every demo app into ``storage_dir``; returns the projects written."""
    storage_dir = os.path.abspath(os.path.expanduser(storage_dir))
    for i, target in enumerate((3, 10, 25)):
        run_counter(storage_dir, f"count-to-{target}", target, partition_key=f"user_{i}")
    run_fork(storage_dir, "count-to-10", "user_1", at=3)
    run_chatbot(storage_dir, "chat-hello", ["hello", "what is burr?", "thanks"], user="ada")
    run_chatbot(storage_dir, "chat-echo", ["streaming works word by word"], user="grace")
    run_chatbot(storage_dir, "chat-demonstrate-errors", ["hello", "fail"], user="ada")
    run_parallel(storage_dir, "fan-out")
    return list(DEMO_PROJECTS)


def ensure_demo_data(storage_dir: str) -> str:
    """Generate the demos unless some already exist; returns a one-line status for the CLI."""
    if has_demo_data(storage_dir):
        return "demo projects already present"
    # the failing chat is on purpose: keep its logged traceback off the console
    burr_logger = logging.getLogger("burr")
    level = burr_logger.level
    burr_logger.setLevel(logging.CRITICAL)
    try:
        generate(storage_dir)
    except ImportError as e:  # engine or tracker not importable: serve without demos
        return f"demo data skipped ({e})"
    except Exception as e:  # a broken demo must never keep the tracker from starting
        return f"demo data incomplete ({type(e).__name__}: {e}); the tracker starts anyway"
    finally:
        burr_logger.setLevel(level)
    return f"recorded demo projects {', '.join(DEMO_PROJECTS)} into {storage_dir}"
