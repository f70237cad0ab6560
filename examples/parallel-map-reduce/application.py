"""A research agent that fans out over sub-questions in parallel (offline and deterministic).

``plan`` splits the question into sub-questions; ``research`` is a ``MapStates`` that runs a small
sub-graph per sub-question (``search`` a built-in corpus, then ``summarize`` it, streaming its
sentences); ``synthesize`` writes the answer with citations. No network, no LLM: the same question
always gives the same answer, so the example doubles as a test.

    python application.py                                  # default question
    python application.py --stream                         # print each branch's sentences as they come
    python application.py --tracker --question "..."       # watch the branches in the tracker UI
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from burr.core import ApplicationBuilder, ApplicationContext, GraphBuilder, State, action
from burr.core.action import streaming_action
from burr.core.parallelism import MapStates, RunnableGraph, StreamingMapStates

PROJECT = "demo_parallel_research"
DEFAULT_QUESTION = "How do bees make honey, why do they dance, and how long does honey keep?"

CORPUS: dict[str, str] = {
    "bees-nectar": "Worker bees collect nectar from flowers and store it in a honey stomach. "
    "Enzymes start turning sucrose into glucose and fructose during the flight home.",
    "bees-hive": "Back in the hive, house bees pass the nectar mouth to mouth and spread it in wax cells. "
    "Fanning wings evaporate water until the honey is thick enough, then the cell is capped with wax.",
    "bees-dance": "Honey bees dance to share where food is. The waggle dance encodes direction relative "
    "to the sun and distance by the length of the waggle run.",
    "bees-round": "A round dance tells nest mates that food is close to the hive, without a direction.",
    "honey-storage": "Honey keeps for years because it is acidic and has very little water, "
    "so microbes cannot grow in it.",
}

STOPWORDS = {"how", "do", "does", "and", "why", "the", "a", "an", "of", "is", "are", "they", "what", "to"}


def keywords(text: str) -> set[str]:
    words = {w.rstrip("s") for w in re.findall(r"[a-z]+", text.lower())}
    return {w for w in words if w not in STOPWORDS and len(w) > 2}


@action(reads=["question"], writes=["sub_questions"])
def plan(state: State) -> State:
    """Split on ','/'and'/'?' into sub-questions; 'they' becomes the first part's subject."""
    parts = [p.strip(" ?") for p in re.split(r",|\band\b|\?", state["question"]) if p.strip(" ?")]
    subject = next((w for w in re.findall(r"[A-Za-z]+", parts[0]) if w.lower() not in STOPWORDS), "it")
    return state.update(sub_questions=[re.sub(r"\bthey\b", subject, p) for p in parts])


@action(reads=["sub_question"], writes=["sources"])
def search(state: State, delay: float = 0.0) -> State:
    """Rank corpus documents by keyword overlap (``delay`` stands in for a slow search API)."""
    time.sleep(delay)
    wanted = keywords(state["sub_question"])
    scored = sorted(((len(wanted & keywords(text)), doc) for doc, text in CORPUS.items()), reverse=True)
    return state.update(sources=[doc for score, doc in scored[:2] if score > 0])


@streaming_action(reads=["sub_question", "sources"], writes=["finding"])
def summarize(state: State) -> Any:
    """Stream one sentence per source (as an LLM would stream tokens), then the finding."""
    sentences = []
    for doc in state["sources"]:
        sentence = CORPUS[doc].split(". ")[0].rstrip(".") + f" [{doc}]."
        sentences.append(sentence)
        yield {"sentence": sentence}, None
    finding = {"sub_question": state["sub_question"], "text": " ".join(sentences) or "Nothing found."}
    yield {"finding": finding}, state.update(finding=finding)


RESEARCH_GRAPH = RunnableGraph(
    graph=GraphBuilder()
    .with_actions(search=search, summarize=summarize)
    .with_transitions(("search", "summarize"))
    .build(),
    entrypoint="search",
    halt_after=["summarize"],
)


class _Research:
    """Shared by the plain and the streaming variant: one branch per sub-question."""

    def action(self, state: State, inputs: dict[str, Any]) -> RunnableGraph:
        return RESEARCH_GRAPH

    def states(self, state: State, context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        for sub in state["sub_questions"]:
            yield state.update(sub_question=sub)

    def reduce(self, state: State, states: Any) -> State:
        return state.update(findings=[s["finding"] for s in states])

    @property
    def reads(self) -> list[str]:
        return ["sub_questions"]

    @property
    def writes(self) -> list[str]:
        return ["findings"]

    @property
    def inputs(self) -> tuple[list[str], list[str]]:
        return ["__context"], ["delay"]


class Research(_Research, MapStates):
    pass


class StreamingResearch(_Research, StreamingMapStates):
    pass


@action(reads=["question", "findings"], writes=["answer"])
def synthesize(state: State) -> State:
    lines = [f"Q: {state['question']}"]
    lines += [f"- {f['sub_question']}: {f['text']}" for f in state["findings"]]
    return state.update(answer="\n".join(lines))


def build_application(
    question: str = DEFAULT_QUESTION,
    stream: bool = False,
    max_concurrency: int | None = None,
    tracker: Any = None,
    app_id: str | None = None,
) -> Any:
    research = StreamingResearch() if stream else Research()
    research.max_concurrency = max_concurrency
    builder = (
        ApplicationBuilder()
        .with_actions(plan=plan, research=research, synthesize=synthesize)
        .with_transitions(("plan", "research"), ("research", "synthesize"))
        .with_entrypoint("plan")
        .with_state(question=question)
    )
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
    parser.add_argument("--question", default=DEFAULT_QUESTION)
    parser.add_argument("--stream", action="store_true", help="print branch items as they arrive")
    parser.add_argument(
        "--tracker", action="store_true", help=f"log to the local tracker (project {PROJECT})"
    )
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds each search 'waits on the network'")
    args = parser.parse_args()
    app = build_application(
        args.question,
        stream=args.stream,
        max_concurrency=args.max_concurrency,
        tracker="local" if args.tracker else None,
    )
    started = time.perf_counter()
    if args.stream:
        app.run(halt_before=["research"])
        _, container = app.stream_result(halt_after=["research"], inputs={"delay": args.delay})
        for event in container:
            if event["done"]:
                print(f"  [branch {event['branch']}] done")
            else:
                print(f"  [branch {event['branch']}] {event['item']['sentence']}")
        container.get()
    _, _, state = app.run(halt_after=["synthesize"], inputs={"delay": args.delay})
    elapsed = time.perf_counter() - started
    print(state["answer"])
    print(f"({len(state['sub_questions'])} branches, {elapsed:.2f} s with {args.delay} s per search)")


if __name__ == "__main__":
    main()
