"""The demo data: the bundled examples (``burr.examples``), really run offline into a storage dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from burr.cli import demo_data

REPO_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_burr_examples_is_the_repositorys_examples_directory() -> None:
    from burr import examples

    assert REPO_EXAMPLES.resolve() == examples.EXAMPLES_DIR


def test_load_imports_an_example_with_its_sibling_modules() -> None:
    module = demo_data.load_example("chatbot")
    assert (Path(module.__file__ or "").name, module.__name__) == (
        "application.py",
        "burr.examples.chatbot.application",
    )


def test_load_names_the_available_examples_for_an_unknown_one() -> None:
    with pytest.raises(ModuleNotFoundError, match="available examples: chatbot, email-assistant"):
        demo_data.load_example("no-such-example")


def test_every_demo_example_is_bundled() -> None:
    from burr import examples

    assert set(demo_data.DEMO_EXAMPLES) <= set(examples.names())


def test_generate_records_one_project_per_example(tmp_path: Path) -> None:
    outcome = demo_data.generate(str(tmp_path))
    written = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    assert (outcome, written) == ({p: "ok" for p in demo_data.DEMO_PROJECTS}, set(demo_data.DEMO_PROJECTS))


def test_generate_stays_offline_with_an_api_key_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a key plus an unreachable endpoint: any attempt to call a real model would fail the run
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-used")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    outcome = demo_data.generate(str(tmp_path))
    log = (tmp_path / "demo_chatbot" / "chat-hello" / "log.jsonl").read_text()
    assert set(outcome.values()) == {"ok"} and "I am the offline demo model" in log


def test_ensure_demo_data_leaves_existing_projects_alone(tmp_path: Path) -> None:
    (tmp_path / "demo_counter").mkdir()
    assert demo_data.ensure_demo_data(str(tmp_path)) == "demo projects already present"
    assert [p.name for p in tmp_path.iterdir()] == ["demo_counter"]


@pytest.fixture
def broken_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The traffic-simulation example's driver raises ``RuntimeError("example exploded")``."""

    def broken(storage_dir: str) -> None:
        raise RuntimeError("example exploded")

    monkeypatch.setitem(demo_data.DRIVERS, "simulation", broken)


@pytest.mark.usefixtures("broken_simulation")
def test_a_failing_example_is_skipped_with_its_reason(tmp_path: Path) -> None:
    status = demo_data.ensure_demo_data(str(tmp_path))
    assert "skipped demo_traffic_simulation (RuntimeError: example exploded)" in status
    assert (tmp_path / "demo_counter").is_dir() and not (tmp_path / "demo_traffic_simulation").exists()


@pytest.mark.usefixtures("broken_simulation")
def test_generate_raises_a_failing_example_by_default(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="example exploded"):
        demo_data.generate(str(tmp_path))
