"""A chatbot that remembers: every turn is saved to SQLite, and restarting resumes the conversation.

Run ``python application.py`` to chat (offline by default; set ``OPENAI_API_KEY`` for a real model),
or ``python application.py --say "hi" --say "how many messages have I sent?"`` for a scripted chat.
Run it again with the same ``--app-id`` and the conversation continues where it stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import Any

from burr.core import Application, ApplicationBuilder, State, action, default, when
from burr.core.persistence import SQLitePersister

try:
    from ..llm import ChatModel, default_model
except ImportError:  # run as a script: the example directory is on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # shared llm.py
    from llm import ChatModel, default_model  # type: ignore[no-redef]

PROJECT = "demo_chatbot"
BLOCKED_WORDS = ("password", "credit card")


@action(reads=[], writes=["prompt", "chat_history"])
def user_input(state: State, prompt: str) -> State:
    return state.update(prompt=prompt).append(chat_history={"role": "user", "content": prompt})


@action(reads=["prompt"], writes=["safe"])
def safety_check(state: State) -> State:
    return state.update(safe=not any(word in state["prompt"].lower() for word in BLOCKED_WORDS))


@action(reads=["chat_history"], writes=["response", "chat_history"])
def respond(state: State, llm: ChatModel) -> tuple[dict[str, Any], State]:
    reply = llm.complete(state["chat_history"])
    new_state = state.update(response=reply).append(chat_history={"role": "assistant", "content": reply})
    return {"response": reply}, new_state


@action(reads=[], writes=["response", "chat_history"])
def refuse(state: State) -> tuple[dict[str, Any], State]:
    reply = "I can't help with secrets like that."
    new_state = state.update(response=reply).append(chat_history={"role": "assistant", "content": reply})
    return {"response": reply}, new_state


def build_application(
    app_id: str | None = None,
    partition_key: str = "demo-user",
    db_path: str = "chatbot.db",
    persister: Any = None,
    tracker: Any = None,
    llm: ChatModel | None = None,
) -> Application[Any]:
    """The chatbot, resumed from ``persister`` (SQLite at ``db_path`` by default) if ``app_id`` exists."""
    if persister is None:
        persister = SQLitePersister(db_path, table_name="chatbot")
        persister.initialize()
    builder = (
        ApplicationBuilder()
        .with_actions(
            user_input=user_input,
            safety_check=safety_check,
            respond=respond.bind(llm=llm or default_model()),
            refuse=refuse,
        )
        .with_transitions(
            ("user_input", "safety_check"),
            ("safety_check", "respond", when(safe=True)),
            ("safety_check", "refuse", default),
            (["respond", "refuse"], "user_input"),
        )
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"chat_history": []},
            default_entrypoint="user_input",
        )
        .with_state_persister(persister)
        .with_identifiers(app_id=app_id or str(uuid.uuid4()), partition_key=partition_key)
    )
    if tracker is not None:
        builder = (
            builder.with_tracker(tracker, project=PROJECT)
            if isinstance(tracker, str)
            else builder.with_tracker(tracker)
        )
    return builder.build()


def chat(app: Application[Any], prompt: str) -> str:
    """One turn: run until the bot has answered."""
    _action, result, _state = app.run(halt_after=["respond", "refuse"], inputs={"prompt": prompt})
    return str(result["response"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-id", default="my-chat", help="conversation id; reuse it to resume")
    parser.add_argument("--db", default="chatbot.db", help="SQLite file holding the conversations")
    parser.add_argument("--say", action="append", help="scripted user message (repeatable); omit to chat")
    parser.add_argument("--track", action="store_true", help="also log to the local tracker (burr UI)")
    args = parser.parse_args()
    app = build_application(app_id=args.app_id, db_path=args.db, tracker="local" if args.track else None)
    history = app.state.get("chat_history", [])
    if history:
        print(f"Resumed conversation '{args.app_id}' with {len(history)} messages.")
    if args.say is not None:
        for message in args.say:
            print(f"you> {message}")
            print(f"bot> {chat(app, message)}")
    else:
        try:
            while (message := input("you> ")) != "quit":
                print(f"bot> {chat(app, message)}")
        except EOFError:
            pass
    print(
        f"Conversation '{args.app_id}' now has {len(app.state['chat_history'])} messages (saved to {args.db})."
    )


if __name__ == "__main__":
    main()
