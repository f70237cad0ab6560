"""Human in the loop: an LLM drafts a reply, a person approves it, possibly days later.

Shows the failure-handling features (docs/policies.md) together:

- the (simulated) LLM fails now and then: ``@retry`` re-runs it with backoff, ``@timeout`` bounds it;
- when it keeps failing, an ``on_exception`` transition routes to ``apologize`` instead of crashing;
- ``review`` raises ``Interrupt(ApprovalRequest(...))``: the run stops, the draft is saved to SQLite,
  and a later process answers. The draft is not written twice.

    python application.py                                  # draft a reply, then wait for approval
    python application.py --answer "revise: be shorter"    # (another process) ask for a new draft
    python application.py --answer approve                 # approve: the reply is sent
    python application.py --llm-down --app-id outage       # the LLM never answers: error route
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from typing import Any

from burr.core import Application, ApplicationBuilder, State, action, default, expr
from burr.core.policies import Interrupt, on_exception, retry, timeout

PROJECT = "demo_human_in_the_loop"


@dataclasses.dataclass
class ApprovalRequest:
    """What the reviewer is asked (stored in state while the application waits)."""

    draft: str
    question: str = "Send this reply? Answer 'approve' or 'revise: <what to change>'."


class FlakyLLM:
    """A stand-in for a provider that fails every ``fail_every``-th call (never answers if ``down``)."""

    def __init__(self, fail_every: int = 2, down: bool = False) -> None:
        self.calls = itertools.count(1)
        self.fail_every = fail_every
        self.down = down

    def complete(self, prompt: str) -> str:
        n = next(self.calls)
        if self.down or n % self.fail_every == 1:
            raise ConnectionError(f"503 Service Unavailable (call {n})")
        return f"Thanks for writing! About {prompt}: we'll get back to you by Friday."


LLM = FlakyLLM()


@retry(max_attempts=3, initial_delay=0.05, retry_on=(ConnectionError, TimeoutError))
@timeout(seconds=30)
@action(reads=["email", "feedback", "drafts"], writes=["draft", "drafts"])
def draft_reply(state: State) -> State:
    """Ask the LLM for a reply (retried on provider errors)."""
    prompt = state["email"] + (f" (reviewer: {state['feedback']})" if state["feedback"] else "")
    draft = LLM.complete(prompt)
    print(f"drafted: {draft}")
    return state.update(draft=draft, drafts=state["drafts"] + 1)


@action(reads=["draft"], writes=["decision", "feedback"])
def review(state: State, answer: str | None = None) -> State:
    """Pause until a person answers; then record the decision."""
    if answer is None:
        raise Interrupt(ApprovalRequest(draft=state["draft"]))
    if answer.strip().lower() == "approve":
        return state.update(decision="approve", feedback="")
    return state.update(decision="revise", feedback=answer.split(":", 1)[-1].strip())


@action(reads=["draft"], writes=["sent"])
def send(state: State) -> State:
    print(f"sent: {state['draft']}")
    return state.update(sent=state["draft"])


@action(reads=["last_error"], writes=["sent"])
def apologize(state: State) -> State:
    err = state["last_error"]
    message = f"Sorry, we could not draft a reply right now ({err['type']} after {err['attempts']} attempts)."
    print(f"sent: {message}")
    return state.update(sent=message)


def build_application(
    app_id: str | None = None, tracker: Any = None, persister: Any = None, email: str = "the invoice"
) -> Application[Any]:
    """draft_reply -> review -> (send | draft_reply again); draft_reply failures -> apologize."""
    builder = (
        ApplicationBuilder()
        .with_actions(draft_reply, review, send, apologize)
        .with_transitions(
            ("draft_reply", "apologize", on_exception(ConnectionError, TimeoutError)),
            ("draft_reply", "review", default),
            ("review", "send", expr("decision == 'approve'")),
            ("review", "draft_reply", default),
        )
        .with_max_steps(20)
    )
    initial = {"email": email, "feedback": "", "drafts": 0, "decision": None}
    if persister is not None:
        builder = builder.initialize_from(
            persister, resume_at_next_action=True, default_state=initial, default_entrypoint="draft_reply"
        ).with_state_persister(persister)
    else:
        builder = builder.with_state(**initial).with_entrypoint("draft_reply")
    if app_id is not None:
        builder = builder.with_identifiers(app_id=app_id)
    if tracker is not None:
        builder = (
            builder.with_tracker(tracker, project=PROJECT)
            if isinstance(tracker, str)
            else builder.with_tracker(tracker)
        )
    return builder.build()


def advance(app: Application[Any], answer: str | None = None) -> tuple[str, State]:
    """Run until the reply is sent or a person must answer; returns (where it stopped, state)."""
    inputs = {"answer": answer} if answer is not None else {}
    ran, _, state = app.run(halt_after=["send", "apologize"], inputs=inputs)
    pending = app.pending_interrupt
    if pending is not None:
        return "waiting", state
    return (ran.name if ran is not None else "ended"), state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="hitl.db", help="SQLite file holding the paused application")
    parser.add_argument("--app-id", default="reply-1", help="which conversation to start or resume")
    parser.add_argument("--answer", default=None, help="the reviewer's answer: approve | 'revise: ...'")
    parser.add_argument("--llm-down", action="store_true", help="simulate a provider outage")
    parser.add_argument("--track", action="store_true", help="record the run for the tracker UI (`burr`)")
    args = parser.parse_args()
    LLM.down = args.llm_down
    from burr.core.persistence import SQLitePersister

    persister = SQLitePersister(args.db, table_name="human_in_the_loop")
    persister.initialize()
    app = build_application(app_id=args.app_id, persister=persister, tracker="local" if args.track else None)
    if not app.has_next_action() or "sent" in app.state:
        print(f"{app.uid} is finished: {app.state.get('sent')}")
        return
    if app.pending_interrupt is None and args.answer is not None:
        print("nothing is waiting for an answer; starting the conversation instead")
        args.answer = None
    where, state = advance(app, args.answer)
    if where == "waiting":
        request = app.pending_interrupt.request  # type: ignore[union-attr]
        print(f"waiting for approval of draft #{state['drafts']}: {request.draft}")
        print(f'answer with: python application.py --app-id {app.uid} --answer approve  (or "revise: ...")')
    else:
        print(f"finished at {where} after {state['drafts']} draft(s)")


if __name__ == "__main__":
    main()
