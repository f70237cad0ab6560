"""Typed (pydantic) state inside running applications: actions, streaming, persistence, forks, tracking."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from burr.core import Action, ApplicationBuilder, State, action
from burr.core.action import SingleStepAction, streaming_action
from burr.core.persistence import SQLitePersister
from burr.integrations.pydantic import PydanticTypingSystem, StateValidationError


class Address(BaseModel):
    city: str


class Profile(BaseModel):
    count: int = 0
    name: str = "anon"
    tags: list[str] = []
    address: Address = Address(city="nowhere")
    seen_at: datetime.datetime | None = None


class Chunk(BaseModel):
    text: str


@action.pydantic(reads=["count", "tags"], writes=["count", "tags"])
def bump(state: Profile, tag: str = "t") -> Profile:
    state.count += 1
    state.tags = [*state.tags, tag]
    return state


@action.pydantic(reads=["address"], writes=["address", "seen_at"])
def move(state: Profile, city: str) -> Profile:
    state.address = Address(city=city)
    state.seen_at = datetime.datetime(2024, 1, 2, 3, 4, 5)
    return state


@action.pydantic(reads=["count"], writes=["count"])
def corrupt(state: Profile) -> Profile:
    state.count = "many"  # type: ignore[assignment]
    return state


@streaming_action.pydantic(
    reads=["name"], writes=["name"], state_input_type=Profile, state_output_type=Profile, stream_type=Chunk
)
def spell(state: Profile):  # type: ignore[no-untyped-def]
    for ch in state.name:
        yield Chunk(text=ch), None
    state.name = state.name.upper()
    yield Chunk(text=state.name), state


class DoubleCount(Action):
    """Two-step class action: `run` sees only its reads, as a partial model."""

    @property
    def reads(self) -> list[str]:
        return ["count"]

    @property
    def writes(self) -> list[str]:
        return ["count"]

    def run(self, state: State[Profile], **run_kwargs: Any) -> dict[str, Any]:
        model = state.data
        assert isinstance(model, Profile)
        return {"count": model.count * 2}

    def update(self, result: dict[str, Any], state: State[Profile]) -> State[Profile]:
        assert isinstance(state.data, Profile)
        return state.update(count=result["count"])


class Rename(SingleStepAction):
    @property
    def reads(self) -> list[str]:
        return ["name"]

    @property
    def writes(self) -> list[str]:
        return ["name"]

    def run_and_update(
        self, state: State[Profile], **run_kwargs: Any
    ) -> tuple[dict[str, Any], State[Profile]]:
        model = state.data
        return {"old": model.name}, state.update(name=model.name + "!")


def _builder() -> ApplicationBuilder[Any]:
    return (
        ApplicationBuilder()
        .with_actions(
            bump=bump, move=move, double=DoubleCount(), rename=Rename(), spell=spell, mangle=corrupt
        )
        .with_transitions(("bump", "move"), ("move", "double"), ("double", "rename"), ("rename", "spell"))
        .with_typing(PydanticTypingSystem(Profile))
    )


def _persister(tmp_path: Path) -> SQLitePersister:
    persister = SQLitePersister(str(tmp_path / "typed.db"), table_name=f"t_{uuid.uuid4().hex[:8]}")
    persister.initialize()
    return persister


def test_app_state_data_is_the_model() -> None:
    app = _builder().with_state(Profile(name="ann")).with_entrypoint("bump").build()
    assert app.state.data == Profile(name="ann")


def test_function_pydantic_action_updates_model_state() -> None:
    app = _builder().with_state(Profile(name="ann")).with_entrypoint("bump").build()
    app.run(halt_after=["move"], inputs={"tag": "x", "city": "Oslo"})
    data = app.state.data
    assert (data.count, data.tags, data.address) == (1, ["x"], Address(city="Oslo"))


def test_class_based_actions_see_state_as_model() -> None:
    app = _builder().with_state(Profile(count=3, name="bo")).with_entrypoint("double").build()
    _, result, state = app.run(halt_after=["rename"])
    assert result == {"old": "bo"}
    assert (state.data.count, state.data.name) == (6, "bo!")


def test_typed_streaming_action_streams_models_and_commits_state() -> None:
    app = _builder().with_state(Profile(name="ab")).with_entrypoint("spell").build()
    _, container = app.stream_result(halt_after=["spell"])
    assert [item.text for item in container] == ["a", "b"]
    result, state = container.get()
    assert result == Chunk(text="AB")
    assert state.data.name == "AB"


def test_wrong_type_from_action_names_field_and_action() -> None:
    app = _builder().with_state(Profile()).with_entrypoint("mangle").build()
    with pytest.raises(StateValidationError, match="'count'") as info:
        app.step()
    assert (info.value.action, info.value.fields) == ("mangle", ["count"])
    assert app.state.data.count == 0


@action(reads=["count"], writes=["count"])
def untyped_write(state: State) -> State:
    return state.update(count="lots")


class ReadCount(SingleStepAction):
    reads = ["count"]
    writes = ["count"]

    def run_and_update(
        self, state: State[Profile], **run_kwargs: Any
    ) -> tuple[dict[str, Any], State[Profile]]:
        return {}, state.update(count=state.data.count + 1)


def test_wrong_type_written_by_plain_action_is_reported_by_state_data() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(writer=untyped_write, reader=ReadCount())
        .with_transitions(("writer", "reader"))
        .with_typing(PydanticTypingSystem(Profile))
        .with_state(Profile())
        .with_entrypoint("writer")
        .build()
    )
    app.step()
    with pytest.raises(StateValidationError, match="in action 'reader'") as info:
        app.step()
    assert info.value.fields == ["count"]


def test_typed_state_survives_sqlite_persistence(tmp_path: Path) -> None:
    persister = _persister(tmp_path)
    app = (
        _builder()
        .with_state(Profile(name="cy"))
        .with_entrypoint("bump")
        .with_state_persister(persister)
        .with_identifiers(app_id="typed-1")
        .build()
    )
    app.run(halt_after=["move"], inputs={"tag": "y", "city": "Rome"})
    resumed = (
        _builder()
        .initialize_from(persister, resume_at_next_action=True, default_state={}, default_entrypoint="bump")
        .with_identifiers(app_id="typed-1")
        .build()
    )
    data = resumed.state.data
    assert isinstance(data, Profile)
    assert data == Profile(
        count=1,
        name="cy",
        tags=["y"],
        address=Address(city="Rome"),
        seen_at=datetime.datetime(2024, 1, 2, 3, 4, 5),
    )
    assert resumed.get_next_action().name == "double"


def test_resumed_typed_app_keeps_running_typed_actions(tmp_path: Path) -> None:
    persister = _persister(tmp_path)
    first = (
        _builder()
        .with_state(Profile(count=2))
        .with_entrypoint("bump")
        .with_state_persister(persister)
        .with_identifiers(app_id="typed-2")
        .build()
    )
    first.step(inputs={"tag": "a"})
    resumed = (
        _builder()
        .initialize_from(persister, resume_at_next_action=True, default_state={}, default_entrypoint="bump")
        .with_state_persister(persister)
        .with_identifiers(app_id="typed-2")
        .build()
    )
    resumed.run(halt_after=["double"], inputs={"city": "Lima"})
    assert (resumed.state.data.count, resumed.state.data.address.city) == (6, "Lima")


def test_forked_typed_state_loads_as_model(tmp_path: Path) -> None:
    persister = _persister(tmp_path)
    original = (
        _builder()
        .with_state(Profile(name="fork-me"))
        .with_entrypoint("bump")
        .with_state_persister(persister)
        .with_identifiers(app_id="parent")
        .build()
    )
    original.run(halt_after=["move"], inputs={"tag": "p", "city": "Kyiv"})
    fork = (
        _builder()
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={},
            default_entrypoint="bump",
            fork_from_app_id="parent",
            fork_from_sequence_id=0,
        )
        .with_identifiers(app_id="child")
        .build()
    )
    data = fork.state.data
    assert isinstance(data, Profile)
    assert (data.count, data.tags, data.address.city) == (1, ["p"], "nowhere")


def test_typed_state_loads_back_from_tracker(tmp_path: Path) -> None:
    from burr.tracking import LocalTrackingClient

    tracker = LocalTrackingClient(project="typed", storage_dir=str(tmp_path / "tracking"))
    app = (
        _builder()
        .with_state(Profile(name="tracked"))
        .with_entrypoint("bump")
        .with_tracker(tracker)
        .with_identifiers(app_id="tracked-1")
        .build()
    )
    app.run(halt_after=["move"], inputs={"tag": "z", "city": "Riga"})
    loaded = (
        _builder()
        .initialize_from(
            LocalTrackingClient(project="typed", storage_dir=str(tmp_path / "tracking")),
            resume_at_next_action=True,
            default_state={},
            default_entrypoint="bump",
            fork_from_app_id="tracked-1",
        )
        .with_identifiers(app_id="tracked-2")
        .build()
    )
    data = loaded.state.data
    assert isinstance(data, Profile)
    assert (data.name, data.address, data.tags) == ("tracked", Address(city="Riga"), ["z"])


@action.pydantic(reads=["count"], writes=["count"])
async def abump(state: Profile) -> Profile:
    state.count += 10
    return state


@streaming_action.pydantic(
    reads=["name"], writes=["name"], state_input_type=Profile, state_output_type=Profile, stream_type=Chunk
)
async def aspell(state: Profile):  # type: ignore[no-untyped-def]
    for ch in state.name:
        yield Chunk(text=ch), None
    state.name = state.name[::-1]
    yield Chunk(text=state.name), state


async def test_async_typed_actions_run_under_arun_and_astream() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(abump=abump, aspell=aspell)
        .with_transitions(("abump", "aspell"))
        .with_typing(PydanticTypingSystem(Profile))
        .with_state(Profile(name="xy"))
        .with_entrypoint("abump")
        .build()
    )
    await app.arun(halt_after=["abump"])
    _, container = await app.astream_result(halt_after=["aspell"])
    assert [item.text async for item in container] == ["x", "y"]
    _, state = await container.get()
    assert (state.data.count, state.data.name) == (10, "yx")
