"""Regressions found by differential testing against Apache Burr 0.43 (tests/compat).

Each test pins one behaviour where we diverged from Apache Burr and now match it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest

from burr.core import ApplicationBuilder, Condition, State, action, expr, when
from burr.core.action import Result, StreamingAction, streaming_action


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    return state.update(n=state["n"] + 1)


def test_condition_run_returns_the_resolver_value_unchanged() -> None:
    state = State({"x": 0, "y": 5, "items": [1]})
    assert expr("x").run(state) == {Condition.KEY: 0}
    assert expr("y").run(state) == {Condition.KEY: 5}
    assert Condition.lmda(lambda s: s["y"], ["y"]).run(state) == {Condition.KEY: 5}


def test_or_and_of_conditions_return_the_deciding_operand_value() -> None:
    state = State({"x": 0, "y": 5, "items": [1]})
    assert (expr("x") | expr("y")).run(state) == {Condition.KEY: 5}
    assert (expr("y") & expr("items")).run(state) == {Condition.KEY: [1]}
    assert (~expr("y")).run(state) == {Condition.KEY: False}


def test_transitions_still_use_truthiness_of_raw_condition_values() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(inc=inc, hit=Result("n"), miss=Result("n"))
        .with_transitions(("inc", "hit", expr("n - 1")), ("inc", "miss"))
        .with_state(n=0)
        .with_entrypoint("inc")
        .build()
    )
    action_obj, _, _ = app.run(halt_after=["hit", "miss"])
    assert action_obj.name == "miss"  # n - 1 == 0 is falsy


def test_failing_transition_condition_consumes_the_step_sequence_id() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(inc=inc, done=Result("n"))
        .with_transitions(("inc", "done", when(missing=1)))
        .with_state(n=0)
        .with_entrypoint("inc")
        .build()
    )
    app.step()
    with pytest.raises(ValueError, match="Missing keys in state required by condition"):
        app.step()
    assert app.sequence_id == 1


def test_abandoned_stream_get_returns_state_with_the_consumed_sequence_id() -> None:
    @streaming_action(reads=[], writes=["out"])
    def talk(state: State) -> Generator[Any, None, None]:
        yield {"tok": 1}, None
        yield {"out": 1}, state.update(out=1)

    app = ApplicationBuilder().with_actions(talk=talk).with_state(n=0).with_entrypoint("talk").build()
    _, container = app.stream_result(halt_after=["talk"])
    for _ in container:
        break
    result, state = container.get()
    assert result is None
    assert state["__SEQUENCE_ID"] == 0 == app.sequence_id
    assert "out" not in state


async def test_abandoned_async_stream_get_returns_state_with_the_consumed_sequence_id() -> None:
    @streaming_action(reads=[], writes=["out"])
    async def talk(state: State) -> AsyncGenerator[Any, None]:
        yield {"tok": 1}, None
        yield {"out": 1}, state.update(out=1)

    app = await ApplicationBuilder().with_actions(talk=talk).with_state(n=0).with_entrypoint("talk").abuild()
    _, container = await app.astream_result(halt_after=["talk"])
    items = container.__aiter__()
    await items.__anext__()
    await items.aclose()  # abandon (a bare `break` leaves an async generator suspended, not closed)
    result, state = await container.get()
    assert result is None
    assert state["__SEQUENCE_ID"] == 0 == app.sequence_id


def test_single_step_stream_error_after_items_propagates_the_original_error() -> None:
    @streaming_action(reads=[], writes=[])
    def flaky(state: State) -> Generator[Any, None, None]:
        yield {"tok": 1}, None
        raise RuntimeError("connection lost")

    app = ApplicationBuilder().with_actions(flaky=flaky).with_entrypoint("flaky").build()
    _, container = app.stream_result(halt_after=["flaky"])
    with pytest.raises(RuntimeError, match="connection lost"):
        list(container)
    assert app.state.get("__PRIOR_STEP") is None


async def test_async_single_step_stream_error_after_items_propagates_the_original_error() -> None:
    @streaming_action(reads=[], writes=[])
    async def flaky(state: State) -> AsyncGenerator[Any, None]:
        yield {"tok": 1}, None
        raise RuntimeError("connection lost")

    app = await ApplicationBuilder().with_actions(flaky=flaky).with_entrypoint("flaky").abuild()
    _, container = await app.astream_result(halt_after=["flaky"])
    with pytest.raises(RuntimeError, match="connection lost"):
        await container.get()


def test_multi_step_stream_error_after_items_finishes_with_the_last_item() -> None:
    class Words(StreamingAction):
        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["last"]

        def stream_run(self, state: State, **run_kwargs: Any) -> Generator[dict[str, Any], None, None]:
            yield {"w": 1}
            yield {"w": 2}
            raise RuntimeError("connection lost")

        def update(self, result: dict[str, Any], state: State) -> State:
            return state.update(last=result["w"])

    app = ApplicationBuilder().with_actions(words=Words()).with_entrypoint("words").build()
    _, container = app.stream_result(halt_after=["words"])
    assert list(container) == [{"w": 1}]
    result, state = container.get()
    assert result == {"w": 2} and state["last"] == 2


def test_unknown_deserializer_message_has_both_burr_key_phrases() -> None:
    from burr.core import serde

    with pytest.raises(ValueError) as err:
        serde.deserialize({serde.KEY: "not-registered-anywhere"})
    assert "No deserializer registered for key" in str(err.value)  # Apache Burr 0.43
    assert "No function registered for key" in str(err.value)  # Apache Burr 0.40


def test_wipe_with_delete_and_keep_keeps_burr_key_phrase() -> None:
    with pytest.raises(ValueError, match="You cannot specify both delete and keep"):
        State({"a": 1}).wipe(delete=["a"], keep=["a"])


def test_strict_subset_missing_key_keeps_burr_key_phrase() -> None:
    with pytest.raises(KeyError, match='Key "b" not found in state. Keys state knows about are:'):
        State({"a": 1}).subset("b", ignore_missing=False)


def test_async_action_under_sync_step_message_starts_with_burr_phrase() -> None:
    @action(reads=[], writes=[])
    async def later(state: State) -> State:
        return state

    app = ApplicationBuilder().with_actions(later=later).with_entrypoint("later").build()
    with pytest.raises(
        ValueError,
        match=r"Cannot run async: later in non-async context\. Use astep\(\)/aiterate\(\)/arun\(\) instead",
    ):
        app.step()


def test_calls_between_iterate_steps_fire_their_own_execute_call_hooks() -> None:
    from burr.lifecycle import PostApplicationExecuteCallHook, PreApplicationExecuteCallHook

    class Calls(PreApplicationExecuteCallHook, PostApplicationExecuteCallHook):
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        def pre_run_execute_call(self, *, method: Any, **kwargs: Any) -> None:
            self.calls.append(("pre", method.value))

        def post_run_execute_call(self, *, method: Any, **kwargs: Any) -> None:
            self.calls.append(("post", method.value))

    calls = Calls()
    app = (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_transitions(("inc", "inc"))
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_hooks(calls)
        .build()
    )
    steps = app.iterate()
    next(steps)
    app.step()  # while the iterate generator is suspended
    assert calls.calls == [("pre", "iterate"), ("pre", "step"), ("post", "step")]
    steps.close()
    assert calls.calls[-1] == ("post", "iterate")
