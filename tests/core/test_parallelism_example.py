"""The examples/parallel-map-reduce research agent runs offline and gives a deterministic answer."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from types import ModuleType

EXAMPLE = os.path.join(
    os.path.dirname(__file__), "..", "..", "examples", "parallel-map-reduce", "application.py"
)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("parallel_map_reduce_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_research_agent_answers_each_sub_question_in_order() -> None:
    example = load_example()
    _, _, state = example.build_application().run(halt_after=["synthesize"], inputs={"delay": 0.0})
    assert [f["sub_question"] for f in state["findings"]] == [
        "How do bees make honey",
        "why do bees dance",
        "how long does honey keep",
    ]
    assert "[bees-dance]" in state["findings"][1]["text"]


def test_research_agent_streams_sentences_tagged_with_branch() -> None:
    example = load_example()
    app = example.build_application(stream=True)
    app.run(halt_before=["research"])
    _, container = app.stream_result(halt_after=["research"], inputs={"delay": 0.0})
    by_branch: dict[str, list[str]] = {}
    for event in container:
        if not event["done"]:
            by_branch.setdefault(event["branch"], []).append(event["item"]["sentence"])
    assert sorted(by_branch) == ["0-0", "0-1", "0-2"]
    assert by_branch["0-1"][0].endswith("[bees-dance].")


def test_research_agent_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, EXAMPLE, "--delay", "0"], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.startswith("Q: How do bees make honey")
