"""Demo data for the first ``burr`` start: the bundled examples (``burr.examples``), really run.

Each example is driven through its own ``build_application`` with a ``LocalTrackingClient`` writing
into the storage dir, one project per example (the project name the example itself tracks to). The
user's side is canned (prompts, answers, approvals) and every model is the example's deterministic
offline responder, passed explicitly so that an ``OPENAI_API_KEY`` in the environment changes
nothing: no network, no API key, the same data on every machine.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

# example directory -> the project it records into (the example's own ``PROJECT``)
DEMO_EXAMPLES: dict[str, str] = {
    "hello-world-counter": "demo_counter",
    "chatbot": "demo_chatbot",
    "streaming-fastapi": "demo_streaming_chatbot",
    "rag-chatbot": "demo_conversational-rag",
    "email-assistant": "demo_email_assistant",
    "human-in-the-loop": "demo_human_in_the_loop",
    "parallel-map-reduce": "demo_parallel_research",
    "simulation": "demo_traffic_simulation",
}
DEMO_PROJECTS = tuple(DEMO_EXAMPLES.values())


def has_demo_data(storage_dir: str) -> bool:
    return any(os.path.isdir(os.path.join(storage_dir, p)) for p in DEMO_PROJECTS)


def load_example(name: str, module: str = "application") -> ModuleType:
    """Import a bundled example's module (raises ImportError when burr was installed without them)."""
    try:
        from burr import examples
    except ImportError as e:
        raise ImportError(
            "the bundled examples (burr/examples -> ../examples) are not installed with this burr"
        ) from e
    return examples.load(name, module)


def _tracker(name: str, storage_dir: str) -> Any:
    from burr.tracking import LocalTrackingClient

    return LocalTrackingClient(project=DEMO_EXAMPLES[name], storage_dir=storage_dir)


def _flush() -> None:
    from burr.tracking import LocalTrackingClient

    LocalTrackingClient.flush()


def _offline_llm(*rule: Callable[..., str]) -> Any:
    # the LLM examples share examples/llm.py (imported by them as burr.examples.llm)
    import importlib

    return importlib.import_module("burr.examples.llm").OfflineChatModel(*rule)


# -- one driver per example ---------------------------------------------------------------------


def run_counter(storage_dir: str, app_id: str, count_up_to: int) -> None:
    """hello-world-counter: count to ``count_up_to``."""
    counter = load_example("hello-world-counter")
    tracker = _tracker("hello-world-counter", storage_dir)
    counter.build_application(count_up_to=count_up_to, app_id=app_id, tracker=tracker).run(
        halt_after=["result"]
    )


def run_fork(storage_dir: str, parent_app_id: str, at: int, count_up_to: int = 15) -> None:
    """Fork a recorded counter after step ``at`` into ``<parent>-fork``, counting to a new limit."""
    counter = load_example("hello-world-counter")
    _flush()  # the fork loads its parent's state back from the parent's log
    counter.build_application(
        count_up_to=count_up_to,
        app_id=f"{parent_app_id}-fork",
        tracker=_tracker("hello-world-counter", storage_dir),
        fork_from_app_id=parent_app_id,
        fork_from_sequence_id=at,
    ).run(halt_after=["result"])


def _counter(storage_dir: str) -> None:
    for target in (3, 10, 25):
        run_counter(storage_dir, f"count-to-{target}", target)
    run_fork(storage_dir, "count-to-10", at=3)


def _chatbot(storage_dir: str) -> None:
    from burr.core.persistence import InMemoryPersister

    chatbot = load_example("chatbot")
    conversations = {
        ("chat-hello", "ada"): ["hello", "What can you do?", "how many messages have I sent?"],
        # "credit card" trips the safety check: this conversation takes the refuse branch once
        ("chat-safety", "grace"): ["hi there", "what is my credit card number?", "ok, thanks"],
    }
    for (app_id, user), prompts in conversations.items():
        app = chatbot.build_application(
            app_id=app_id,
            partition_key=user,
            persister=InMemoryPersister(),
            tracker=_tracker("chatbot", storage_dir),
            llm=_offline_llm(),
        )
        for prompt in prompts:
            chatbot.chat(app, prompt)


def _streaming(storage_dir: str) -> None:
    streaming = load_example("streaming-fastapi")
    app = streaming.build_application(
        app_id="stream-hello",
        tracker=_tracker("streaming-fastapi", storage_dir),
        llm=_offline_llm(),
    )
    for prompt in ("hello there", "what does streaming look like?", "how many messages have I sent?"):
        _action, container = app.stream_result(halt_after=["respond"], inputs={"prompt": prompt})
        for _item in container:
            pass
        container.get()


def _rag(storage_dir: str) -> None:
    rag = load_example("rag-chatbot")
    embeddings = load_example("rag-chatbot", "embeddings")
    app = rag.build_application(
        app_id="rag-questions",
        tracker=_tracker("rag-chatbot", storage_dir),
        llm=_offline_llm(rag._offline_answer),
        embedder=embeddings.HashingEmbedder(),  # deterministic everywhere, no model files needed
    )
    for question in (
        "How do I resume an application after a restart?",
        "What does stream_result return?",
        "How does a transition pick the next action?",
    ):
        app.run(halt_after=["answer"], inputs={"prompt": question})


def _email(storage_dir: str) -> None:
    from burr.core.persistence import InMemoryPersister

    email = load_example("email-assistant")
    sessions = {
        "email-kickoff": (email.SCRIPTED_ANSWERS, email.SCRIPTED_FEEDBACK),
        # one answer for two questions: clarify_instructions raises, the run shows a failed step
        "email-missing-answer": (email.SCRIPTED_ANSWERS[:1], []),
    }
    for app_id, (answers, feedback) in sessions.items():
        app = email.build_application(
            app_id=app_id,
            persister=InMemoryPersister(),
            tracker=_tracker("email-assistant", storage_dir),
            llm=_offline_llm(email._offline),
        )
        inputs: dict[str, Any] = {
            "email_to_respond": email.EXAMPLE_EMAIL,
            "response_instructions": "Say yes to a meeting",
        }
        reviews = iter(feedback)
        with contextlib.suppress(ValueError):
            while (waiting := email.advance(app, inputs)[0]) != "done":
                if waiting == "clarify_instructions":
                    inputs = {"clarification_inputs": answers}
                else:
                    inputs = {"feedback": next(reviews)}


def _human_in_the_loop(storage_dir: str) -> None:
    hitl = load_example("human-in-the-loop")
    tracker = _tracker("human-in-the-loop", storage_dir)

    def use_llm(**kwargs: Any) -> None:
        # the example's draft_reply calls the module-global LLM: a fresh one restarts its failure pattern
        setattr(hitl, "LLM", hitl.FlakyLLM(**kwargs))  # noqa: B010 - assigning a module global

    try:
        use_llm()  # fails every other call: each draft is retried once
        app = hitl.build_application(app_id="reply-approved", tracker=tracker, email="the late invoice")
        for answer in (None, "revise: mention the due date", "approve"):
            hitl.advance(app, answer)
        use_llm(down=True)  # an outage: the retries run out and on_exception routes to apologize
        hitl.advance(hitl.build_application(app_id="reply-outage", tracker=tracker))
    finally:
        use_llm()


def _parallel(storage_dir: str) -> None:
    research = load_example("parallel-map-reduce")
    app = research.build_application(
        app_id="research-bees", tracker=_tracker("parallel-map-reduce", storage_dir)
    )
    app.run(halt_after=["synthesize"], inputs={"delay": 0.0})


def _simulation(storage_dir: str) -> None:
    simulation = load_example("simulation")
    for policy in ("fixed", "adaptive"):
        app = simulation.build_application(
            app_id=f"{policy}-seed-7",
            seed=7,
            ticks=60,
            policy=policy,
            tracker=_tracker("simulation", storage_dir),
        )
        app.run(halt_after=["report"])


DRIVERS: dict[str, Callable[[str], None]] = {
    "hello-world-counter": _counter,
    "chatbot": _chatbot,
    "streaming-fastapi": _streaming,
    "rag-chatbot": _rag,
    "email-assistant": _email,
    "human-in-the-loop": _human_in_the_loop,
    "parallel-map-reduce": _parallel,
    "simulation": _simulation,
}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The examples print as they go and some steps fail on purpose: keep both off the console."""
    burr_logger = logging.getLogger("burr")
    level = burr_logger.level
    burr_logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        burr_logger.setLevel(level)


def generate(storage_dir: str, *, skip_failures: bool = False) -> dict[str, str]:
    """Run every demo example into ``storage_dir``; returns ``{project: "ok" | why it was skipped}``.

    A failing example raises unless ``skip_failures`` (then it is reported and the others still run).
    Everything is flushed to disk before this returns.
    """
    storage_dir = os.path.abspath(os.path.expanduser(storage_dir))
    outcome: dict[str, str] = {}
    try:
        with _quiet():
            for name, driver in DRIVERS.items():
                try:
                    driver(storage_dir)
                    outcome[DEMO_EXAMPLES[name]] = "ok"
                except Exception as e:
                    if not skip_failures:
                        raise
                    outcome[DEMO_EXAMPLES[name]] = f"{type(e).__name__}: {e}"
    finally:
        _flush()
    return outcome


def ensure_demo_data(storage_dir: str) -> str:
    """Record the demos unless some already exist; returns a one-line status for the CLI."""
    if has_demo_data(storage_dir):
        return "demo projects already present"
    try:
        outcome = generate(storage_dir, skip_failures=True)
    except ImportError as e:  # engine or tracker not importable: serve without demos
        return f"demo data skipped ({e})"
    except Exception as e:  # a broken demo must never keep the tracker from starting
        return f"demo data incomplete ({type(e).__name__}: {e}); the tracker starts anyway"
    recorded = [p for p, status in outcome.items() if status == "ok"]
    skipped = [f"{p} ({status})" for p, status in outcome.items() if status != "ok"]
    message = (
        f"recorded the bundled examples as demo projects {', '.join(recorded) or '(none)'} into {storage_dir}"
    )
    return message + (f"; skipped {'; '.join(skipped)}" if skipped else "")
