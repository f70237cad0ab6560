"""A human-in-the-loop email assistant: it asks clarifying questions, drafts, and waits for approval.

The application halts before the steps that need a person (answering questions, reviewing a draft);
the caller collects the answers and resumes it with them as inputs. State is saved to SQLite after
every step, so the person can answer hours later from another process: rebuilding the application
with the same ``app_id`` picks it up where it halted.

``python application.py`` runs a scripted session (offline by default; set ``OPENAI_API_KEY`` for a
real model); ``python application.py --interactive`` asks you instead.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from typing import Any

from burr.core import Application, ApplicationBuilder, State, action, default, expr, when
from burr.core.persistence import SQLitePersister

try:
    from ..llm import ChatModel, Message, default_model
except ImportError:  # run as a script: the example directory is on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # shared llm.py
    from llm import ChatModel, Message, default_model  # type: ignore[no-redef]

PROJECT = "demo_email_assistant"
HUMAN_STEPS = ["clarify_instructions", "process_feedback"]


def _offline(messages: list[Message]) -> str:
    """Deterministic stand-in for the model, following the same prompts."""
    prompt = messages[-1]["content"]
    if prompt.startswith("QUESTIONS"):
        instructions = prompt.split("INSTRUCTIONS:", 1)[1].lower()
        questions = []
        if not re.search(r"\b(formal|friendly|casual|brief|warm)\b", instructions):
            questions.append("What tone should the reply have?")
        if "meet" in prompt.lower() and not re.search(
            r"\b(monday|tuesday|wednesday|thursday|friday)\b", instructions
        ):
            questions.append("Which day can you meet?")
        return "\n".join(questions) or "NONE"
    sender = re.search(r"From: (\w+)", prompt)
    subject = re.search(r"Subject: (.+)", prompt)
    pairs = re.findall(r"Q: (.+)\nA: (.+)", prompt)
    tone = " ".join(a.lower() for q, a in pairs if "tone" in q.lower())
    feedback = " ".join(re.findall(r"FEEDBACK: (.+)", prompt)).lower()
    lines = [f"Hi {sender.group(1) if sender else 'there'},", ""]
    lines.append(f"Thanks for your note about {subject.group(1).strip() if subject else 'this'}.")
    lines.extend(a.rstrip(".") + "." for q, a in pairs if "tone" not in q.lower())
    if "brief" not in tone and "shorter" not in feedback:
        lines.append("Let me know if anything else would help.")
    lines += ["", "Best regards"]
    return "\n".join(lines)


@action(reads=[], writes=["incoming_email", "instructions"])
def process_input(state: State, email_to_respond: str, response_instructions: str) -> State:
    return state.update(incoming_email=email_to_respond, instructions=response_instructions)


@action(reads=["incoming_email", "instructions"], writes=["clarification_questions"])
def determine_clarifications(state: State, llm: ChatModel) -> State:
    prompt = f"QUESTIONS needed before replying?\nEMAIL:\n{state['incoming_email']}\nINSTRUCTIONS: {state['instructions']}"
    reply = llm.complete([{"role": "user", "content": prompt}]).strip()
    questions = [] if reply.upper() == "NONE" else [q.strip() for q in reply.splitlines() if q.strip()]
    return state.update(clarification_questions=questions)


@action(reads=["clarification_questions"], writes=["clarification_answers"])
def clarify_instructions(state: State, clarification_inputs: list[str]) -> State:
    if len(clarification_inputs) != len(state["clarification_questions"]):
        raise ValueError(
            f"clarify_instructions needs one answer per question: got {len(clarification_inputs)} answers "
            f"for {state['clarification_questions']}."
        )
    return state.update(clarification_answers=clarification_inputs)


@action(
    reads=[
        "incoming_email",
        "instructions",
        "clarification_questions",
        "clarification_answers",
        "feedback_history",
    ],
    writes=["draft", "drafts"],
)
def formulate_draft(state: State, llm: ChatModel) -> tuple[dict[str, Any], State]:
    qa = "\n".join(
        f"Q: {q}\nA: {a}"
        for q, a in zip(state.get("clarification_questions", []), state.get("clarification_answers", []))
    )
    feedback = "\n".join(f"FEEDBACK: {f}" for f in state.get("feedback_history", []))
    prompt = f"DRAFT a reply.\nEMAIL:\n{state['incoming_email']}\nINSTRUCTIONS: {state['instructions']}\n{qa}\n{feedback}"
    draft = llm.complete([{"role": "user", "content": prompt}])
    return {"draft": draft}, state.update(draft=draft).append(drafts=draft)


@action(reads=[], writes=["approved", "feedback_history"])
def process_feedback(state: State, feedback: str) -> State:
    approved = feedback.strip().lower() in ("approve", "approved", "ok", "lgtm", "")
    new_state = state.update(approved=approved)
    return new_state if approved else new_state.append(feedback_history=feedback)


@action(reads=["draft"], writes=["final_email"])
def final_result(state: State) -> tuple[dict[str, Any], State]:
    return {"final_email": state["draft"]}, state.update(final_email=state["draft"])


def build_application(
    app_id: str | None = None,
    db_path: str = "email-assistant.db",
    persister: Any = None,
    tracker: Any = None,
    llm: ChatModel | None = None,
) -> Application[Any]:
    if persister is None:
        persister = SQLitePersister(db_path, table_name="email_assistant")
        persister.initialize()
    model = llm or default_model(_offline)
    builder = (
        ApplicationBuilder()
        .with_actions(
            process_input=process_input,
            determine_clarifications=determine_clarifications.bind(llm=model),
            clarify_instructions=clarify_instructions,
            formulate_draft=formulate_draft.bind(llm=model),
            process_feedback=process_feedback,
            final_result=final_result,
        )
        .with_transitions(
            ("process_input", "determine_clarifications"),
            ("determine_clarifications", "clarify_instructions", expr("len(clarification_questions) > 0")),
            ("determine_clarifications", "formulate_draft", default),
            ("clarify_instructions", "formulate_draft"),
            ("formulate_draft", "process_feedback"),
            ("process_feedback", "final_result", when(approved=True)),
            ("process_feedback", "formulate_draft", default),
        )
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"feedback_history": [], "clarification_answers": []},
            default_entrypoint="process_input",
        )
        .with_state_persister(persister)
        .with_identifiers(app_id=app_id or str(uuid.uuid4()))
    )
    if tracker is not None:
        builder = (
            builder.with_tracker(tracker, project=PROJECT)
            if isinstance(tracker, str)
            else builder.with_tracker(tracker)
        )
    return builder.build()


def advance(app: Application[Any], inputs: dict[str, Any]) -> tuple[str, State]:
    """Run until the app needs a person (returns the step waiting) or finishes (returns "done")."""
    action_, _result, state = app.run(halt_before=HUMAN_STEPS, halt_after=["final_result"], inputs=inputs)
    return ("done" if action_.name == "final_result" else action_.name), state


EXAMPLE_EMAIL = "From: Dana\nSubject: Project kickoff\n\nCould we meet next week to plan the kickoff?"
SCRIPTED_ANSWERS = ["Friendly", "Thursday works for me"]
SCRIPTED_FEEDBACK = ["Make it shorter", "approve"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--interactive", action="store_true", help="answer questions and review drafts yourself"
    )
    parser.add_argument("--db", default="email-assistant.db")
    parser.add_argument("--app-id", default=None, help="resume this session (default: start a new one)")
    args = parser.parse_args()
    app_id = args.app_id or str(uuid.uuid4())
    app = build_application(app_id=app_id, db_path=args.db)
    inputs: dict[str, Any] = {
        "email_to_respond": EXAMPLE_EMAIL,
        "response_instructions": "Say yes to a meeting",
    }
    feedback = iter(SCRIPTED_FEEDBACK)
    while True:
        waiting, state = advance(app, inputs)
        if waiting == "done":
            print("=== final email ===")
            print(state["final_email"])
            break
        # A person answers now, maybe much later, maybe in another process: reload from SQLite.
        app = build_application(app_id=app_id, db_path=args.db)
        if waiting == "clarify_instructions":
            questions = state["clarification_questions"]
            print("assistant asks:", *questions, sep="\n  ")
            if args.interactive:
                answers = [input(f"{q} ") for q in questions]
            else:
                answers = SCRIPTED_ANSWERS[: len(questions)]
            print("you answer:", *answers, sep="\n  ")
            inputs = {"clarification_inputs": answers}
        else:
            print("=== draft ===")
            print(state["draft"])
            given = input("feedback ('approve' to send): ") if args.interactive else next(feedback)
            print(f"you: {given}")
            inputs = {"feedback": given}
    print(f"session {app_id} finished after {len(state['drafts'])} drafts")


if __name__ == "__main__":
    main()
