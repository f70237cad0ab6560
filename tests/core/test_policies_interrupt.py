"""Interrupts: an action pauses the app for outside input; a later run continues without redoing work."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from burr.core import ApplicationBuilder, State, action
from burr.core.policies import INTERRUPT_KEY, Interrupt


@dataclasses.dataclass
class Approval:
    draft: str
    question: str = "Send this email?"


def review_app(work: list[str]) -> ApplicationBuilder:
    @action(reads=["topic"], writes=["draft", "approved"])
    def write_and_review(state: State, answer: bool | None = None) -> State:
        if answer is None:
            work.append("drafted")  # the expensive part: must run once
            draft = f"Dear team, about {state['topic']}..."
            raise Interrupt(Approval(draft=draft), state=state.update(draft=draft))
        return state.update(approved=answer)

    @action(reads=["draft", "approved"], writes=["sent"])
    def send(state: State) -> State:
        return state.update(sent=state["approved"])

    return (
        ApplicationBuilder()
        .with_actions(write_and_review, send)
        .with_transitions(("write_and_review", "send"))
        .with_entrypoint("write_and_review")
        .with_state(topic="the offsite")
    )


def test_interrupt_halts_run_with_the_typed_request_pending() -> None:
    app = review_app([]).build()
    ran, result, state = app.run(halt_after=["send"])
    assert ran.name == "write_and_review" and result is None
    pending = app.pending_interrupt
    assert pending is not None and pending.action == "write_and_review" and pending.answer_input == "answer"
    assert pending.request == Approval(draft="Dear team, about the offsite...")
    assert state["draft"].startswith("Dear team")  # committed before pausing


def test_resuming_with_the_answer_continues_without_redoing_work() -> None:
    work: list[str] = []
    app = review_app(work).build()
    app.run(halt_after=["send"])
    ran, _, state = app.run(halt_after=["send"], inputs={"answer": True})
    assert ran.name == "send" and state["sent"] is True
    assert work == ["drafted"] and app.pending_interrupt is None and INTERRUPT_KEY not in state


async def test_async_interrupt_and_resume() -> None:
    work: list[str] = []

    @action(reads=[], writes=["draft", "approved"])
    async def review(state: State, answer: str | None = None) -> State:
        if answer is None:
            work.append("drafted")
            raise Interrupt({"question": "ok?"}, state=state.update(draft="d"))
        return state.update(approved=answer)

    app = ApplicationBuilder().with_actions(review).with_transitions().with_entrypoint("review").build()
    await app.arun(halt_after=["review"])
    assert app.pending_interrupt is not None and app.pending_interrupt.request == {"question": "ok?"}
    _, _, state = await app.arun(halt_after=["review"], inputs={"answer": "yes"})
    assert (state["draft"], state["approved"], work) == ("d", "yes", ["drafted"])


def test_resuming_without_the_answer_says_which_input_is_missing() -> None:
    app = review_app([]).build()
    app.run(halt_after=["send"])
    with pytest.raises(ValueError, match="inputs=\\{'answer'"):
        app.run(halt_after=["send"])


def test_an_interrupt_from_an_action_lacking_the_answer_parameter_is_rejected() -> None:
    @action(reads=[], writes=[])
    def ask(state: State) -> State:
        raise Interrupt("approve?", answer_input="approval")

    app = ApplicationBuilder().with_actions(ask).with_transitions().with_entrypoint("ask").build()
    with pytest.raises(ValueError, match="approval"):
        app.run(halt_after=["ask"])


def test_step_returns_the_paused_action_and_iterate_stops() -> None:
    app = review_app([]).build()
    steps = list(app.iterate(halt_after=["send"]))
    assert [a.name for a, _, _ in steps] == ["write_and_review"] and app.pending_interrupt is not None


SCRIPT = textwrap.dedent(
    """
    import json, sys
    from burr.core import ApplicationBuilder, State, action
    from burr.core.persistence import SQLitePersister
    from burr.core.policies import Interrupt

    db, log, answer = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

    @action(reads=["topic"], writes=["draft", "approved"])
    def write_and_review(state: State, answer: bool | None = None) -> State:
        if answer is None:
            with open(log, "a") as f:
                f.write("drafted\\n")  # a side effect that must happen once across both processes
            raise Interrupt({"draft": "hello " + state["topic"]}, state=state.update(draft="hello " + state["topic"]))
        return state.update(approved=answer)

    @action(reads=["draft", "approved"], writes=["sent"])
    def send(state: State) -> State:
        return state.update(sent=state["draft"] if state["approved"] else None)

    persister = SQLitePersister(db_path=db, table_name="hitl")
    persister.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(write_and_review, send)
        .with_transitions(("write_and_review", "send"))
        .initialize_from(persister, resume_at_next_action=True, default_state={"topic": "offsite"},
                         default_entrypoint="write_and_review")
        .with_state_persister(persister)
        .with_identifiers(app_id="hitl-1")
        .build()
    )
    inputs = {} if answer is None else {"answer": answer}
    ran, _, state = app.run(halt_after=["send"], inputs=inputs)
    pending = app.pending_interrupt
    print(json.dumps({"action": ran.name, "sent": state.get("sent"),
                      "pending": None if pending is None else pending.request}))
    """
)


def _run(script: str, db: str, log: str, answer: Any) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, script, db, log, json.dumps(answer)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_interrupt_resumes_in_a_new_process_from_the_sqlite_persister(tmp_path: Any) -> None:
    script, db, log = str(tmp_path / "app.py"), str(tmp_path / "state.db"), str(tmp_path / "work.log")
    (tmp_path / "app.py").write_text(SCRIPT)
    first = _run(script, db, log, None)
    assert first == {"action": "write_and_review", "sent": None, "pending": {"draft": "hello offsite"}}
    second = _run(script, db, log, True)
    assert second == {"action": "send", "sent": "hello offsite", "pending": None}
    assert (tmp_path / "work.log").read_text().splitlines() == ["drafted"]


def test_the_answer_reaches_only_the_paused_step_not_later_steps_of_the_same_call() -> None:
    @action(reads=["drafts"], writes=["drafts"])
    def draft(state: State) -> State:
        return state.update(drafts=state["drafts"] + 1)

    @action(reads=["drafts"], writes=["decision"])
    def review(state: State, answer: str | None = None) -> State:
        if answer is None:
            raise Interrupt(f"approve draft {state['drafts']}?")
        return state.update(decision=answer)

    app = (
        ApplicationBuilder()
        .with_actions(draft, review)
        .with_transitions(("draft", "review"), ("review", "draft"))
        .with_entrypoint("draft")
        .with_state(drafts=0)
        .build()
    )
    app.run(halt_after=[])
    app.run(halt_after=[], inputs={"answer": "revise"})  # review -> draft -> review pauses again
    pending = app.pending_interrupt
    assert pending is not None and pending.request == "approve draft 2?" and app.state["decision"] == "revise"
