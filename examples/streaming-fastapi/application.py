"""A streaming chatbot served over HTTP: tokens arrive as server-sent events while the model writes.

``python application.py`` runs a self-contained demo (starts the server on a free loopback port,
streams two replies through it, stops). ``python application.py --serve`` keeps the server running
on http://127.0.0.1:7242 with a small chat page at ``/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from burr.core import Application, ApplicationBuilder, State, action
from burr.core.action import streaming_action

try:
    from ..llm import ChatModel, default_model
except ImportError:  # run as a script: the example directory is on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # shared llm.py
    from llm import ChatModel, default_model  # type: ignore[no-redef]

PROJECT = "demo_streaming_chatbot"


@action(reads=[], writes=["prompt", "chat_history"])
def user_input(state: State, prompt: str) -> State:
    return state.update(prompt=prompt).append(chat_history={"role": "user", "content": prompt})


@streaming_action(reads=["chat_history"], writes=["response", "chat_history"])
def respond(state: State, llm: ChatModel) -> Iterator[tuple[dict[str, Any], State | None]]:
    pieces = []
    for delta in llm.stream(state["chat_history"]):
        pieces.append(delta)
        yield {"delta": delta}, None
    reply = "".join(pieces)
    new_state = state.update(response=reply).append(chat_history={"role": "assistant", "content": reply})
    yield {"response": reply}, new_state


def definition(llm: ChatModel | None = None) -> ApplicationBuilder[Any]:
    """Actions and transitions only: the server completes it per request (state, ids, persister)."""
    return (
        ApplicationBuilder()
        .with_actions(user_input=user_input, respond=respond.bind(llm=llm or default_model()))
        .with_transitions(("user_input", "respond"), ("respond", "user_input"))
    )


def build_application(
    app_id: str | None = None, persister: Any = None, tracker: Any = None, llm: ChatModel | None = None
) -> Application[Any]:
    """The same chatbot as a local application (used by the tracker demo data and tests)."""
    builder = definition(llm)
    if persister is not None:
        builder = builder.initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"chat_history": []},
            default_entrypoint="user_input",
        ).with_state_persister(persister)
    else:
        builder = builder.with_state(chat_history=[]).with_entrypoint("user_input")
    if tracker is not None:
        builder = (
            builder.with_tracker(tracker, project=PROJECT)
            if isinstance(tracker, str)
            else builder.with_tracker(tracker)
        )
    return builder.with_identifiers(app_id=app_id or str(uuid.uuid4())).build()


def run_demo(db_path: str, prompts: list[str]) -> None:
    import httpx
    import uvicorn
    from server import create_server

    server = uvicorn.Server(
        uvicorn.Config(create_server(db_path), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            app_id = client.post("/chat").json()["app_id"]
            print(f"created conversation {app_id}")
            for prompt in prompts:
                print(f"you> {prompt}")
                print("bot> ", end="", flush=True)
                body = {"inputs": {"prompt": prompt}, "halt_after": ["respond"]}
                with client.stream("POST", f"/chat/{app_id}/stream", json=body) as response:
                    event = None
                    for line in response.iter_lines():
                        if line.startswith("event: "):
                            event = line[len("event: ") :]
                        elif line.startswith("data: ") and event == "item":
                            print(json.loads(line[len("data: ") :])["delta"], end="", flush=True)
                print()
            history = client.get(f"/chat/{app_id}").json()["state"]["chat_history"]
            print(f"server stored {len(history)} messages")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="run the server until interrupted")
    parser.add_argument("--port", type=int, default=7242)
    parser.add_argument("--db", default="streaming-chat.db")
    args = parser.parse_args()
    if args.serve:
        import uvicorn
        from server import create_server

        uvicorn.run(create_server(args.db), host="127.0.0.1", port=args.port)
    else:
        run_demo(args.db, ["hello there", "how many messages have I sent?"])


if __name__ == "__main__":
    main()
