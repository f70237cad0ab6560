"""Policies for steps streamed by stream_result/astream_result: retries, error routes, interrupts."""

from __future__ import annotations

from typing import Any

import pytest

from burr.core import ApplicationBuilder, State, action
from burr.core.action import streaming_action
from burr.core.policies import ERROR_KEY, Interrupt, RetryPolicy, on_exception
from burr.lifecycle import PostRunStepHook

NO_WAIT = RetryPolicy(max_attempts=3, initial_delay=0)


class Posts(PostRunStepHook):
    def __init__(self) -> None:
        self.seen: list[tuple[Any, Any]] = []

    def post_run_step(self, *, exception: Any = None, **kwargs: Any) -> None:
        self.seen.append((kwargs.get("attempt"), type(exception).__name__ if exception else None))


def flaky_stream(fail_before: int, fail_after_first: bool = False) -> Any:
    calls = {"n": 0}

    @streaming_action(reads=[], writes=["text"])
    def chat(state: State) -> Any:
        calls["n"] += 1
        if calls["n"] <= fail_before:
            raise ConnectionError("connect failed")
        yield {"delta": "Hi"}, None
        if fail_after_first:
            raise ConnectionError("stream dropped")
        yield {"text": "Hi!"}, state.update(text="Hi!")

    return chat, calls


@action(reads=["last_error"], writes=["text"])
def fallback(state: State) -> State:
    return state.update(text=f"fallback after {state['last_error']['message']}")


def build(chat_action: Any, **policies: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(chat=chat_action, fallback=fallback)
        .with_transitions(("chat", "fallback", on_exception(ConnectionError)))
        .with_entrypoint("chat")
        .with_policies(**policies)
    )


def test_stream_result_retries_a_failure_before_the_first_item() -> None:
    chat, calls = flaky_stream(fail_before=2)
    hook = Posts()
    app = build(chat, chat=NO_WAIT).with_hooks(hook).build()
    _, container = app.stream_result(halt_after=["chat"])
    items = list(container)
    _, state = container.get()
    assert items == [{"delta": "Hi"}] and state["text"] == "Hi!" and calls["n"] == 3
    assert hook.seen == [(1, "ConnectionError"), (2, "ConnectionError"), (3, None)]


async def test_astream_result_retries_a_failure_before_the_first_item() -> None:
    calls = {"n": 0}

    @streaming_action(reads=[], writes=["text"])
    async def chat(state: State) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("connect failed")
        yield {"delta": "Hi"}, None
        yield {"text": "Hi!"}, state.update(text="Hi!")

    app = build(chat, chat=NO_WAIT).build()
    _, container = await app.astream_result(halt_after=["chat"])
    items = [item async for item in container]
    _, state = await container.get()
    assert items == [{"delta": "Hi"}] and state["text"] == "Hi!" and calls["n"] == 2


def test_stream_result_routes_a_failure_after_items_instead_of_retrying() -> None:
    chat, calls = flaky_stream(fail_before=0, fail_after_first=True)
    app = build(chat, chat=NO_WAIT).build()
    _, container = app.stream_result(halt_after=["chat"])
    assert list(container) == [{"delta": "Hi"}]
    result, state = container.get()
    assert result is None and state[ERROR_KEY]["message"] == "stream dropped" and calls["n"] == 1
    _, _, state = app.run(halt_after=["fallback"])
    assert state["text"] == "fallback after stream dropped"


def test_stream_result_raises_when_no_route_handles_the_failure() -> None:
    chat, _ = flaky_stream(fail_before=5)
    app = ApplicationBuilder().with_actions(chat=chat).with_transitions().with_entrypoint("chat")
    app = app.with_policies(chat=NO_WAIT).build()
    _, container = app.stream_result(halt_after=["chat"])
    with pytest.raises(ConnectionError):
        list(container)


def test_stream_result_pauses_on_interrupt_and_resumes_with_the_answer() -> None:
    @streaming_action(reads=[], writes=["text", "approved"])
    def chat(state: State, answer: bool | None = None) -> Any:
        if answer is None:
            yield {"delta": "draft"}, None
            raise Interrupt("approve the draft?", state=state.update(text="draft"))
        yield {"approved": answer}, state.update(approved=answer)

    app = ApplicationBuilder().with_actions(chat=chat).with_transitions().with_entrypoint("chat").build()
    _, container = app.stream_result(halt_after=["chat"])
    assert list(container) == [{"delta": "draft"}]
    _, state = container.get()
    assert app.pending_interrupt is not None and state["text"] == "draft"
    _, container = app.stream_result(halt_after=["chat"], inputs={"answer": True})
    _, state = container.get()
    assert state["approved"] is True and state["text"] == "draft" and app.pending_interrupt is None
