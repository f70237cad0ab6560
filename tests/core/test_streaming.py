"""Streaming: containers, stream_result/astream_result event orders, abandon, stream_iterate."""

from __future__ import annotations

from typing import Any, AsyncGenerator, Generator

import pytest

from burr.core import ApplicationBuilder, State, action
from burr.core.action import (
    AsyncStreamingResultContainer,
    StreamingAction,
    StreamingResultContainer,
    streaming_action,
)


@action(reads=[], writes=["n"])
def plain(state: State) -> State:
    return state.update(n=1)


@streaming_action(reads=[], writes=["out"])
def s1(state: State) -> Generator[tuple[dict, Any], None, None]:
    for i in range(3):
        yield {"tok": i}, None
    yield {"out": "x"}, state.update(out="x")


@streaming_action(reads=[], writes=["out"])
async def as1(state: State) -> AsyncGenerator[tuple[dict, Any], None]:
    for i in range(3):
        yield {"tok": i}, None
    yield {"out": "x"}, state.update(out="x")


def _app(recorder: Any, streamer: Any = s1, **kw: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(plain=plain, s1=streamer)
        .with_transitions(("plain", "s1"), ("s1", "plain"))
        .with_entrypoint("plain")
        .with_hooks(recorder)
        .build()
    )


def _events(recorder: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for name, kw in recorder.events:
        if name == "pre_run_execute_call":
            out.append(("pre_exec", kw["method"].value))
        elif name == "post_run_execute_call":
            exc = kw["exception"]
            out.append(("post_exec", kw["method"].value, type(exc).__name__ if exc else None))
        elif name == "pre_run_step":
            out.append(("pre_run_step", kw["action"].name, kw["sequence_id"]))
        elif name == "post_run_step":
            exc = kw["exception"]
            out.append(
                (
                    "post_run_step",
                    kw["action"].name,
                    kw["sequence_id"],
                    kw["result"],
                    type(exc).__name__ if exc else None,
                )
            )
        elif name == "pre_start_stream":
            out.append(("pre_start_stream", kw["action"], kw["sequence_id"]))
        elif name == "post_stream_item":
            out.append(("post_stream_item", kw["item_index"], kw["item"]))
        elif name == "post_end_stream":
            out.append(("post_end_stream", kw["action"]))
    return out


EXPECTED = [
    ("pre_exec", "stream_result"),
    ("pre_run_step", "plain", 0),
    ("post_run_step", "plain", 0, {}, None),
    ("pre_run_step", "s1", 1),
    ("pre_start_stream", "s1", 1),
    ("post_stream_item", 1, {"tok": 0}),
    ("post_stream_item", 2, {"tok": 1}),
    ("post_stream_item", 3, {"tok": 2}),
    ("post_run_step", "s1", 1, {"out": "x"}, None),
    ("post_exec", "stream_result", None),
    ("post_end_stream", "s1"),
]


def test_stream_result_event_order(recorder: Any) -> None:
    app = _app(recorder)
    recorder.events.clear()
    act, container = app.stream_result(halt_after=["s1"])
    items = list(container)
    assert act.name == "s1" and items == [{"tok": 0}, {"tok": 1}, {"tok": 2}]
    assert _events(recorder) == EXPECTED


def test_nothing_streams_until_iterated(recorder: Any) -> None:
    app = _app(recorder)
    recorder.events.clear()
    app.stream_result(halt_after=["s1"])
    assert _events(recorder)[-1] == ("pre_start_stream", "s1", 1)


async def test_astream_result_event_order_matches_sync(recorder: Any) -> None:
    app = _app(recorder, streamer=as1)
    recorder.events.clear()
    act, container = await app.astream_result(halt_after=["s1"])
    items = [i async for i in container]
    assert items == [{"tok": 0}, {"tok": 1}, {"tok": 2}]
    assert _events(recorder) == [
        (e[0], "astream_result", *e[2:]) if e[0] in ("pre_exec", "post_exec") else e for e in EXPECTED
    ]


def test_get_returns_final_result_and_commits_state(recorder: Any) -> None:
    app = _app(recorder)
    _, container = app.stream_result(halt_after=["s1"])
    result, state = container.get()
    assert result == {"out": "x"} and state["out"] == "x" and app.state["__PRIOR_STEP"] == "s1"


def test_get_is_idempotent(recorder: Any) -> None:
    app = _app(recorder)
    _, container = app.stream_result(halt_after=["s1"])
    first = container.get()
    assert container.get() is first and list(container) == []


def test_abandoning_stream_leaves_state_and_reports_generator_exit(recorder: Any) -> None:
    app = _app(recorder)
    _, container = app.stream_result(halt_after=["s1"])
    recorder.events.clear()
    for _ in container:
        break
    assert _events(recorder) == [
        ("post_stream_item", 1, {"tok": 0}),
        ("post_run_step", "s1", 1, None, "GeneratorExit"),
        ("post_exec", "stream_result", "GeneratorExit"),
        ("post_end_stream", "s1"),
    ]
    assert app.state["__PRIOR_STEP"] == "plain" and app.sequence_id == 1 and "out" not in app.state


def test_get_after_abandon_returns_none_and_pre_state(recorder: Any) -> None:
    app = _app(recorder)
    _, container = app.stream_result(halt_after=["s1"])
    for _ in container:
        break
    result, state = container.get()
    assert result is None and state["n"] == 1 and "out" not in state


def test_callback_fires_once_over_container_life(recorder: Any) -> None:
    app = _app(recorder)
    _, container = app.stream_result(halt_after=["s1"])
    container.get()
    container.get()
    list(container)
    assert recorder.names().count("post_end_stream") == 1


def test_non_streaming_target_returns_pass_through(recorder: Any) -> None:
    app = _app(recorder)
    act, container = app.stream_result(halt_after=["plain"])
    assert act.name == "plain" and list(container) == [] and container.get()[0] == {}


def test_halt_before_returns_pass_through_with_none(recorder: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(plain=plain, s1=s1, other=plain)
        .with_transitions(("plain", "other"), ("other", "s1"))
        .with_entrypoint("plain")
        .with_hooks(recorder)
        .build()
    )
    act, container = app.stream_result(halt_after=["s1"], halt_before=["other"])
    assert act.name == "other" and container.get() == (None, app.state)


def test_stream_result_without_next_action_raises(recorder: Any) -> None:
    app = ApplicationBuilder().with_actions(plain=plain).with_transitions().with_entrypoint("plain").build()
    app.step()
    with pytest.raises(ValueError, match="Cannot stream result -- no next action found"):
        app.stream_result(halt_after=["plain"])


def test_pass_through_container() -> None:
    container = StreamingResultContainer.pass_through({"a": 1}, State({"b": 2}))
    assert list(container) == [] and container.get() == ({"a": 1}, State({"b": 2}))


async def test_async_pass_through_container() -> None:
    container = AsyncStreamingResultContainer.pass_through({"a": 1}, State({"b": 2}))
    assert [i async for i in container] == [] and await container.get() == ({"a": 1}, State({"b": 2}))


class MultiStep(StreamingAction):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["last"]

    def stream_run(self, state: State, **kw: Any) -> Generator[dict, None, None]:
        for i in range(3):
            yield {"i": i}

    def update(self, result: dict, state: State) -> State:
        return state.update(last=result["i"])


def test_multi_step_streaming_last_item_is_result_and_indices_start_at_zero(recorder: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(m=MultiStep())
        .with_transitions()
        .with_entrypoint("m")
        .with_hooks(recorder)
        .build()
    )
    _, container = app.stream_result(halt_after=["m"])
    items = list(container)
    result, state = container.get()
    indices = [kw["item_index"] for name, kw in recorder.events if name == "post_stream_item"]
    assert items == [{"i": 0}, {"i": 1}] and result == {"i": 2} and state["last"] == 2 and indices == [0, 1]


def test_streaming_action_via_step_is_drained() -> None:
    app = ApplicationBuilder().with_actions(s1=s1).with_transitions().with_entrypoint("s1").build()
    _, result, state = app.step()
    assert result == {"out": "x"} and state["out"] == "x"


def test_bare_dict_yield_is_an_intermediate_item() -> None:
    @streaming_action(reads=[], writes=["out"])
    def bare(state: State) -> Generator[Any, None, None]:
        yield {"tok": 1}
        yield {"out": 1}, state.update(out=1)

    app = ApplicationBuilder().with_actions(bare=bare).with_transitions().with_entrypoint("bare").build()
    _, container = app.stream_result(halt_after=["bare"])
    assert list(container) == [{"tok": 1}] and container.get()[0] == {"out": 1}


def test_stream_without_final_state_raises() -> None:
    @streaming_action(reads=[], writes=[])
    def never(state: State) -> Generator[Any, None, None]:
        yield {"tok": 1}, None

    app = ApplicationBuilder().with_actions(never=never).with_transitions().with_entrypoint("never").build()
    _, container = app.stream_result(halt_after=["never"])
    with pytest.raises(ValueError, match="did not return a state update"):
        container.get()


def test_stream_yielding_non_tuple_raises() -> None:
    @streaming_action(reads=[], writes=[])
    def odd(state: State) -> Generator[Any, None, None]:
        yield "text"

    app = ApplicationBuilder().with_actions(odd=odd).with_transitions().with_entrypoint("odd").build()
    _, container = app.stream_result(halt_after=["odd"])
    with pytest.raises(ValueError, match="must yield a tuple of"):
        container.get()


def test_exception_after_items_in_single_step_stream_propagates() -> None:
    # Observed with Apache Burr 0.43 (tests/compat streaming scenario): only multi-step streams
    # finish gracefully; a single-step stream has no state to finish with.
    @streaming_action(reads=[], writes=[])
    def flaky(state: State) -> Generator[Any, None, None]:
        yield {"tok": 1}, None
        raise RuntimeError("connection lost")

    app = ApplicationBuilder().with_actions(flaky=flaky).with_transitions().with_entrypoint("flaky").build()
    _, container = app.stream_result(halt_after=["flaky"])
    with pytest.raises(RuntimeError, match="connection lost"):
        container.get()
    assert "__PRIOR_STEP" not in app.state


def test_exception_before_any_item_propagates(recorder: Any) -> None:
    @streaming_action(reads=[], writes=[])
    def broken(state: State) -> Generator[Any, None, None]:
        raise RuntimeError("at once")
        yield  # pragma: no cover

    app = (
        ApplicationBuilder()
        .with_actions(broken=broken)
        .with_transitions()
        .with_entrypoint("broken")
        .with_hooks(recorder)
        .build()
    )
    _, container = app.stream_result(halt_after=["broken"])
    with pytest.raises(RuntimeError, match="at once"):
        container.get()
    post = next(kw for name, kw in recorder.events if name == "post_run_step")
    assert isinstance(post["exception"], RuntimeError)


async def test_sync_streaming_action_in_astream_result_raises() -> None:
    app = ApplicationBuilder().with_actions(s1=s1).with_transitions().with_entrypoint("s1").build()
    with pytest.raises(ValueError, match="is not an async action, but is marked as streaming"):
        await app.astream_result(halt_after=["s1"])


def _two_streamers(recorder: Any, first: Any, second: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(a=first, b=second)
        .with_transitions(("a", "b"))
        .with_entrypoint("a")
        .with_hooks(recorder)
        .build()
    )


@streaming_action(reads=[], writes=["k"])
def ten(state: State) -> Generator[Any, None, None]:
    for i in range(10):
        yield {"i": i}, None
    yield {}, state.update(k=state.get("k", 0) + 1)


@streaming_action(reads=[], writes=["k"])
async def aten(state: State) -> AsyncGenerator[Any, None]:
    for i in range(10):
        yield {"i": i}, None
    yield {}, state.update(k=state.get("k", 0) + 1)


def test_stream_iterate_runs_each_stream(recorder: Any) -> None:
    app = _two_streamers(recorder, ten, ten)
    recorder.events.clear()
    actions = [act.name for act, _ in app.stream_iterate(halt_after=["b"])]
    names = recorder.names()
    seqs = [kw["sequence_id"] for name, kw in recorder.events if name == "pre_run_step"]
    assert actions == ["a", "b"] and app.state["k"] == 2
    assert (
        names.count("pre_start_stream"),
        names.count("post_end_stream"),
        names.count("post_stream_item"),
    ) == (2, 2, 20)
    assert seqs == [0, 1]


async def test_astream_iterate_runs_each_stream(recorder: Any) -> None:
    app = _two_streamers(recorder, aten, aten)
    recorder.events.clear()
    actions = [act.name async for act, _ in app.astream_iterate(halt_after=["b"])]
    names = recorder.names()
    assert actions == ["a", "b"] and app.state["k"] == 2
    assert (
        names.count("pre_start_stream"),
        names.count("post_end_stream"),
        names.count("post_stream_item"),
    ) == (2, 2, 20)


def test_streamed_append_extends_list_in_place() -> None:
    @streaming_action(reads=["history"], writes=["history"])
    def talk(state: State, i: int) -> Generator[Any, None, None]:
        yield {"tok": i}, None
        yield {}, state.append(history=i)

    app = (
        ApplicationBuilder()
        .with_actions(talk=talk)
        .with_transitions(("talk", "talk"))
        .with_state(history=[])
        .with_entrypoint("talk")
        .build()
    )
    kept = app.stream_result(halt_after=["talk"], inputs={"i": 0})[1].get()[1]
    first_id = id(kept["history"])
    for i in range(1, 4):
        app.stream_result(halt_after=["talk"], inputs={"i": i})[1].get()
    assert id(app.state["history"]) == first_id and app.state["history"] == [0, 1, 2, 3]


async def test_wrong_kind_of_streaming_action_fires_the_same_hooks_sync_and_async() -> None:
    from tests.conftest import EventRecorder

    sync_events, async_events = EventRecorder(), EventRecorder()
    with pytest.raises(ValueError, match="Cannot run async"):
        _app(sync_events, streamer=as1).stream_result(halt_after=["s1"])
    with pytest.raises(ValueError, match="is not an async action"):
        await _app(async_events, streamer=s1).astream_result(halt_after=["s1"])
    assert sync_events.names() == async_events.names()
    assert sync_events.names()[-3:] == ["pre_run_step", "post_run_step", "post_run_execute_call"]
    assert "post_end_stream" not in sync_events.names()  # the stream never started
