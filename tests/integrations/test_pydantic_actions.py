"""@action.pydantic / @streaming_action.pydantic and the model helpers, without an application."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from burr.core.action import action, streaming_action
from burr.core.state import State
from burr.integrations.pydantic import (
    PydanticActionSchema,
    PydanticTypingSystem,
    StateValidationError,
    _validate_and_extract_signature_types,
    _validate_keys,
    merge_to_state,
    model_from_state,
    model_to_dict,
    subset_model,
)


class Counter(BaseModel):
    count: int = 0
    label: str
    history: list[int] = []


class Token(BaseModel):
    text: str


def test_model_to_dict_includes_only_requested_fields() -> None:
    assert model_to_dict(Counter(count=2, label="a"), include=["count"]) == {"count": 2}


def test_model_from_state_ignores_non_model_keys() -> None:
    model = model_from_state(Counter, State({"count": 3, "label": "x", "__SEQUENCE_ID": 4, "other": 1}))
    assert model == Counter(count=3, label="x")


def test_merge_to_state_copies_only_write_keys() -> None:
    state = merge_to_state(Counter(count=5, label="new"), ["count"], State({"count": 1, "label": "old"}))
    assert state.get_all() == {"count": 5, "label": "old"}


def test_subset_model_keeps_annotations_and_config() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        a: int
        b: str

    sub = subset_model(Strict, ["a"], [], "Sub")
    assert sub.__name__ == "StrictSub"
    assert list(sub.model_fields) == ["a"]
    assert sub.model_config.get("extra") == "forbid"


def test_subset_model_forces_optional_fields_to_default_none() -> None:
    sub = subset_model(Counter, ["label"], ["label"], "Opt")
    assert sub().label is None  # type: ignore[attr-defined]


def test_signature_types_are_read_from_annotations() -> None:
    def fn(state: Counter) -> Token: ...

    assert _validate_and_extract_signature_types(fn) == (Counter, Token)


def test_signature_without_state_parameter_is_rejected() -> None:
    def fn(model: Counter) -> Counter: ...

    with pytest.raises(ValueError, match="parameter named `state`"):
        _validate_and_extract_signature_types(fn)


def test_signature_with_non_model_state_annotation_is_rejected() -> None:
    def fn(state: dict) -> Counter: ...  # type: ignore[type-arg]

    with pytest.raises(ValueError, match="BaseModel"):
        _validate_and_extract_signature_types(fn)


def test_signature_with_non_model_return_annotation_is_rejected() -> None:
    def fn(state: Counter) -> dict: ...  # type: ignore[type-arg]

    with pytest.raises(ValueError, match="return annotation"):
        _validate_and_extract_signature_types(fn)


def test_validate_keys_names_the_missing_keys() -> None:
    def fn(state: Counter) -> Counter: ...

    with pytest.raises(ValueError, match=r"The keys: \['nope'\] are not present in the model"):
        _validate_keys(Counter, ["count", "nope"], fn)


def test_pydantic_action_rejects_unknown_reads() -> None:
    with pytest.raises(ValueError, match="not present in the model"):

        @action.pydantic(reads=["missing"], writes=[])
        def fn(state: Counter) -> Counter:
            return state


def test_pydantic_action_requires_both_explicit_types_or_none() -> None:
    with pytest.raises(ValueError, match="both state_input_type and state_output_type"):

        @action.pydantic(reads=[], writes=[], state_input_type=Counter)
        def fn(state, **kwargs):  # type: ignore[no-untyped-def]
            return state


def test_pydantic_action_derives_inputs_from_the_user_function() -> None:
    @action.pydantic(reads=["count"], writes=["count"])
    def add(state: Counter, amount: int, note: str | None = None) -> Counter:
        state.count += amount
        return state

    assert add.action_function.inputs == (["amount"], ["note"])


def test_pydantic_action_schema_exposes_model_types() -> None:
    @action.pydantic(reads=["count"], writes=["count"])
    def noop(state: Counter) -> Counter:
        return state

    schema = noop.action_function.schema
    assert isinstance(schema, PydanticActionSchema)
    assert (schema.state_input_type(), schema.state_output_type(), schema.intermediate_result_type()) == (
        Counter,
        Counter,
        dict,
    )


def test_pydantic_action_receives_model_and_writes_declared_fields() -> None:
    @action.pydantic(reads=["count"], writes=["count", "history"])
    def add(state: Counter, amount: int) -> Counter:
        state.history = [*state.history, state.count]
        state.count += amount
        return state

    result, new_state = add.action_function.run_and_update(State({"count": 1, "label": "l"}), amount=4)
    assert result == {}
    assert new_state.get_all() == {"count": 5, "label": "l", "history": [1]}


def test_pydantic_action_wrong_type_write_names_field_and_action() -> None:
    @action.pydantic(reads=["count"], writes=["count"])
    def corrupt(state: Counter) -> Counter:
        state.count = "not a number"  # type: ignore[assignment]
        return state

    with pytest.raises(StateValidationError, match="'count'") as info:
        corrupt.action_function.run_and_update(State({"count": 1, "label": "l"}))
    assert info.value.fields == ["count"]
    assert "corrupt" in str(info.value)


def test_pydantic_action_wrong_type_in_state_is_reported_before_running() -> None:
    calls = []

    @action.pydantic(reads=["count"], writes=["count"])
    def fn(state: Counter) -> Counter:
        calls.append(1)
        return state

    with pytest.raises(StateValidationError, match="before action 'fn'"):
        fn.action_function.run_and_update(State({"count": "abc", "label": "l"}))
    assert calls == []


def test_pydantic_action_bind_fixes_a_parameter() -> None:
    @action.pydantic(reads=["count"], writes=["count"])
    def add(state: Counter, amount: int) -> Counter:
        state.count += amount
        return state

    bound = add.bind(amount=10)
    assert bound.action_function.inputs == ([], [])
    _, new_state = bound.action_function.run_and_update(State({"count": 1, "label": "l"}))
    assert new_state["count"] == 11


async def test_async_pydantic_action_is_async_and_runs() -> None:
    @action.pydantic(reads=["count"], writes=["count"])
    async def add(state: Counter) -> Counter:
        state.count += 1
        return state

    assert add.action_function.is_async()
    _, new_state = await add.action_function.run_and_update(State({"count": 1, "label": "l"}))
    assert new_state["count"] == 2


def test_pydantic_streaming_action_requires_stream_type() -> None:
    with pytest.raises(ValueError, match="stream_type is required"):
        streaming_action.pydantic(
            reads=[], writes=[], state_input_type=Counter, state_output_type=Counter, stream_type=None
        )


def test_pydantic_streaming_action_streams_partials_then_state() -> None:
    @streaming_action.pydantic(
        reads=["label"],
        writes=["label"],
        state_input_type=Counter,
        state_output_type=Counter,
        stream_type=Token,
    )
    def shout(state: Counter):  # type: ignore[no-untyped-def]
        for ch in state.label:
            yield Token(text=ch.upper()), None
        state.label = state.label.upper()
        yield Token(text=state.label), state

    items = list(shout.action_function.stream_run_and_update(State({"label": "ab"})))
    assert [i for i, s in items if s is None] == [Token(text="A"), Token(text="B")]
    final_item, final_state = items[-1]
    assert final_item == Token(text="AB")
    assert final_state.get_all() == {"label": "AB"}
    assert shout.action_function.schema.intermediate_result_type() is Token


def test_typing_system_constructs_model_from_state() -> None:
    state = PydanticTypingSystem(Counter).construct_state(Counter(count=2, label="z"))
    assert state.data == Counter(count=2, label="z")


def test_typing_system_rejects_wrong_model_for_construct_state() -> None:
    with pytest.raises(ValueError, match="Counter"):
        PydanticTypingSystem(Counter).construct_state(Token(text="x"))  # type: ignore[arg-type]


def test_typing_system_builds_partial_model_from_subset_state() -> None:
    # Class-based actions see only the fields they read; required fields they do not read stay unset.
    state = PydanticTypingSystem(Counter).construct_state(Counter(count=2, label="z")).subset("count")
    data = state.data
    assert isinstance(data, Counter)
    assert data.count == 2
    assert "label" not in data.model_fields_set


def test_typing_system_validate_state_names_bad_field() -> None:
    state = State({"count": "x", "label": "l"}, typing_system=PydanticTypingSystem(Counter))
    with pytest.raises(StateValidationError, match="'count'"):
        state.typing_system.validate_state(state)
