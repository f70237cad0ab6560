"""Retries and timeouts in the engine, sync and async; each attempt is visible to hooks."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from burr.core import ApplicationBuilder, State, action
from burr.core.action import streaming_action
from burr.core.persistence import SQLitePersister
from burr.core.policies import ActionTimeoutError, RetryPolicy, TimeoutPolicy, retry
from burr.lifecycle import PostRunStepHook, PreRunStepHook

NO_WAIT = RetryPolicy(max_attempts=3, initial_delay=0)


class Attempts(PreRunStepHook, PostRunStepHook):
    """Records (hook, action, attempt, exception type, will_retry) for every step event."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def pre_run_step(self, *, action: Any, **kwargs: Any) -> None:
        self.events.append(("pre", action.name, kwargs.get("attempt")))

    def post_run_step(self, *, action: Any, exception: Any = None, **kwargs: Any) -> None:
        exc = type(exception).__name__ if exception is not None else None
        self.events.append(("post", action.name, kwargs.get("attempt"), exc, kwargs.get("will_retry", False)))


def flaky(failures: int, exc: type[Exception] = ConnectionError) -> Any:
    calls = {"n": 0}

    @action(reads=[], writes=["answer", "calls"])
    def call_llm(state: State) -> State:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise exc(f"provider hiccup {calls['n']}")
        return state.update(answer="42", calls=calls["n"])

    return call_llm, calls


def app_with(act: Any, **policies: Any) -> Any:
    builder = ApplicationBuilder().with_actions(call_llm=act).with_transitions().with_entrypoint("call_llm")
    if policies:
        builder = builder.with_policies(**policies)
    return builder


def test_retry_reruns_a_flaky_action_until_it_succeeds() -> None:
    act, calls = flaky(2)
    app = app_with(act, call_llm=NO_WAIT).build()
    _, _, state = app.run(halt_after=["call_llm"])
    assert (state["answer"], calls["n"]) == ("42", 3)


async def test_retry_reruns_a_flaky_async_action_until_it_succeeds() -> None:
    calls = {"n": 0}

    @action(reads=[], writes=["answer"])
    async def call_llm(state: State) -> State:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("hiccup")
        return state.update(answer="42")

    app = app_with(call_llm, call_llm=NO_WAIT).build()
    _, _, state = await app.arun(halt_after=["call_llm"])
    assert (state["answer"], calls["n"]) == ("42", 3)


def test_retry_gives_up_after_max_attempts_and_raises_the_last_error() -> None:
    act, calls = flaky(5)
    app = app_with(act, call_llm=NO_WAIT).build()
    with pytest.raises(ConnectionError, match="hiccup 3"):
        app.run(halt_after=["call_llm"])
    assert calls["n"] == 3


def test_retry_decorator_on_the_action_applies_without_builder_policies() -> None:
    calls = {"n": 0}

    @retry(max_attempts=2, initial_delay=0)
    @action(reads=[], writes=["ok"])
    def call_llm(state: State) -> State:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("slow")
        return state.update(ok=True)

    _, _, state = app_with(call_llm).build().run(halt_after=["call_llm"])
    assert state["ok"] is True and calls["n"] == 2


def test_builder_default_policy_applies_to_every_action() -> None:
    act, calls = flaky(1)
    app = app_with(act).with_policies(NO_WAIT).build()
    app.run(halt_after=["call_llm"])
    assert calls["n"] == 2


def test_retry_skips_exceptions_it_is_not_configured_for() -> None:
    act, calls = flaky(1, exc=KeyError)
    app = app_with(act, call_llm=RetryPolicy(3, initial_delay=0, retry_on=ConnectionError)).build()
    with pytest.raises(KeyError):
        app.run(halt_after=["call_llm"])
    assert calls["n"] == 1


def test_retry_never_retries_keyboard_interrupt() -> None:
    calls = {"n": 0}

    @action(reads=[], writes=[])
    def call_llm(state: State) -> State:
        calls["n"] += 1
        raise KeyboardInterrupt

    app = app_with(call_llm, call_llm=RetryPolicy(3, initial_delay=0, retry_on=BaseException)).build()
    with pytest.raises(KeyboardInterrupt):
        app.run(halt_after=["call_llm"])
    assert calls["n"] == 1


def test_every_attempt_fires_step_hooks_with_its_attempt_number() -> None:
    act, _ = flaky(2)
    hook = Attempts()
    app = app_with(act, call_llm=NO_WAIT).with_hooks(hook).build()
    app.run(halt_after=["call_llm"])
    assert hook.events == [
        ("pre", "call_llm", 1),
        ("post", "call_llm", 1, "ConnectionError", True),
        ("pre", "call_llm", 2),
        ("post", "call_llm", 2, "ConnectionError", True),
        ("pre", "call_llm", 3),
        ("post", "call_llm", 3, None, False),
    ]


async def test_every_async_attempt_fires_step_hooks_with_its_attempt_number() -> None:
    act, _ = flaky(1)
    hook = Attempts()
    app = app_with(act, call_llm=NO_WAIT).with_hooks(hook).build()
    await app.arun(halt_after=["call_llm"])
    assert [e[:3] for e in hook.events] == [
        ("pre", "call_llm", 1),
        ("post", "call_llm", 1),
        ("pre", "call_llm", 2),
        ("post", "call_llm", 2),
    ]


def test_an_action_without_policies_reports_attempt_one() -> None:
    act, _ = flaky(0)
    hook = Attempts()
    app_with(act).with_hooks(hook).build().run(halt_after=["call_llm"])
    assert hook.events == [("pre", "call_llm", 1), ("post", "call_llm", 1, None, False)]


def test_persister_stores_only_the_final_failure_of_a_retried_step(tmp_path: Any) -> None:
    persister = SQLitePersister(db_path=str(tmp_path / "p.db"), table_name="retry_fail")
    persister.initialize()
    act, _ = flaky(9)
    app = (
        app_with(act, call_llm=NO_WAIT).with_state_persister(persister).with_identifiers(app_id="a1").build()
    )
    with pytest.raises(ConnectionError):
        app.run(halt_after=["call_llm"])
    steps = persister.list_steps(None, "a1")
    assert [(s.sequence_id, s.status) for s in steps] == [(0, "failed")]


def test_persister_stores_a_step_that_succeeded_on_retry_as_completed(tmp_path: Any) -> None:
    persister = SQLitePersister(db_path=str(tmp_path / "p.db"), table_name="retry_ok")
    persister.initialize()
    act, _ = flaky(2)
    app = (
        app_with(act, call_llm=NO_WAIT).with_state_persister(persister).with_identifiers(app_id="a2").build()
    )
    app.run(halt_after=["call_llm"])
    loaded = persister.load(None, "a2")
    assert loaded is not None and loaded["status"] == "completed" and loaded["state"]["answer"] == "42"


# ---------------------------------------------------------------------------------------------
# timeouts
# ---------------------------------------------------------------------------------------------


async def test_async_timeout_cancels_the_action_and_raises() -> None:
    seen: list[str] = []

    @action(reads=[], writes=[])
    async def slow(state: State) -> State:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return state

    app = ApplicationBuilder().with_actions(slow).with_transitions().with_entrypoint("slow")
    app = app.with_policies(slow=TimeoutPolicy(0.05)).build()
    with pytest.raises(ActionTimeoutError, match="slow"):
        await app.arun(halt_after=["slow"])
    assert seen == ["cancelled"]


def test_sync_timeout_abandons_the_worker_and_raises() -> None:
    release = threading.Event()

    @action(reads=[], writes=[])
    def slow(state: State) -> State:
        release.wait(30)
        return state

    app = ApplicationBuilder().with_actions(slow).with_transitions().with_entrypoint("slow")
    app = app.with_policies(slow=TimeoutPolicy(0.05)).build()
    try:
        with pytest.raises(ActionTimeoutError, match="`slow`"):
            app.run(halt_after=["slow"])
    finally:
        release.set()
    assert app.sequence_id == 0  # the step was consumed, state unchanged


def test_a_timed_out_attempt_is_retried() -> None:
    release = threading.Event()
    calls = {"n": 0}

    @action(reads=[], writes=["done"])
    def slow_once(state: State) -> State:
        calls["n"] += 1
        if calls["n"] == 1:
            release.wait(30)
        return state.update(done=calls["n"])

    app = ApplicationBuilder().with_actions(slow_once).with_transitions().with_entrypoint("slow_once")
    app = app.with_policies(slow_once=[TimeoutPolicy(0.05), NO_WAIT]).build()
    try:
        _, _, state = app.run(halt_after=["slow_once"])
    finally:
        release.set()
    assert state["done"] == 2


async def test_async_streaming_idle_timeout_is_refreshed_by_each_yield() -> None:
    @streaming_action(reads=[], writes=["n"])
    async def ticker(state: State) -> Any:
        for i in range(6):
            await asyncio.sleep(0.05)  # 0.3s in total, more than the idle limit
            yield {"i": i}, None
        yield {"i": 6}, state.update(n=6)

    app = ApplicationBuilder().with_actions(ticker).with_transitions().with_entrypoint("ticker")
    app = app.with_policies(ticker=TimeoutPolicy(idle=0.2)).build()
    _, container = await app.astream_result(halt_after=["ticker"])
    items = [item async for item in container]
    _, state = await container.get()
    assert len(items) == 6 and state["n"] == 6


async def test_async_streaming_idle_timeout_stops_a_stalled_stream() -> None:
    @streaming_action(reads=[], writes=["n"])
    async def stalls(state: State) -> Any:
        yield {"i": 0}, None
        await asyncio.sleep(30)
        yield {"i": 1}, state.update(n=1)

    app = ApplicationBuilder().with_actions(stalls).with_transitions().with_entrypoint("stalls")
    app = app.with_policies(stalls=TimeoutPolicy(idle=0.05)).build()
    _, container = await app.astream_result(halt_after=["stalls"])
    with pytest.raises(ActionTimeoutError, match="without yielding"):
        async for _ in container:
            pass


def test_sync_streaming_idle_timeout_is_checked_between_yields() -> None:
    @streaming_action(reads=[], writes=["n"])
    def stalls(state: State) -> Any:
        yield {"i": 0}, None
        time.sleep(0.2)
        yield {"i": 1}, None
        yield {"i": 2}, state.update(n=2)

    app = ApplicationBuilder().with_actions(stalls).with_transitions().with_entrypoint("stalls")
    app = app.with_policies(stalls=TimeoutPolicy(idle=0.05)).build()
    _, container = app.stream_result(halt_after=["stalls"])
    with pytest.raises(ActionTimeoutError):
        for _ in container:
            pass


def test_a_streaming_action_run_by_run_is_retried_as_a_whole() -> None:
    calls = {"n": 0}

    @streaming_action(reads=[], writes=["text"])
    def stream_llm(state: State) -> Any:
        calls["n"] += 1
        yield {"delta": "Hel"}, None
        if calls["n"] == 1:
            raise ConnectionError("stream dropped")
        yield {"text": "Hello"}, state.update(text="Hello")

    app = ApplicationBuilder().with_actions(stream_llm).with_transitions().with_entrypoint("stream_llm")
    _, _, state = app.with_policies(stream_llm=NO_WAIT).build().run(halt_after=["stream_llm"])
    assert state["text"] == "Hello" and calls["n"] == 2


async def test_a_sync_action_in_an_async_app_times_out_without_blocking_the_loop() -> None:
    release = threading.Event()

    @action(reads=[], writes=[])
    def blocking(state: State) -> State:
        release.wait(30)
        return state

    app = ApplicationBuilder().with_actions(blocking).with_transitions().with_entrypoint("blocking")
    app = app.with_policies(blocking=TimeoutPolicy(0.05)).build()
    try:
        with pytest.raises(ActionTimeoutError):
            await app.arun(halt_after=["blocking"])
    finally:
        release.set()


def test_the_tracker_logs_one_entry_per_attempt(tmp_path: Any) -> None:
    from burr.tracking import LocalTrackingClient
    from burr.tracking.common.logs import read_log

    tracker = LocalTrackingClient(project="attempts", storage_dir=str(tmp_path))
    act, _ = flaky(2)
    app = app_with(act, call_llm=NO_WAIT).with_tracker(tracker).with_identifiers(app_id="t1").build()
    app.run(halt_after=["call_llm"])
    tracker.flush()
    records = read_log(str(tmp_path / "attempts" / "t1" / "log.jsonl")).records
    ends = [r for r in records if r["type"] == "end_entry"]
    assert [(r["sequence_id"], r["exception"] is None) for r in ends] == [(0, False), (0, False), (0, True)]


def test_action_policies_apply_in_parallel_branches_built_without_the_builder() -> None:
    from burr.core.parallelism import MapStates

    calls = {"n": 0}

    @retry(max_attempts=2, initial_delay=0)
    @action(reads=["x"], writes=["y"])
    def branch(state: State) -> State:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("first call fails")
        return state.update(y=state["x"])

    class Fan(MapStates):
        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return branch

        def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Any:
            yield state.update(x=1)

        def reduce(self, state: State, states: Any) -> State:
            return state.update(ys=[s["y"] for s in states])

        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["ys"]

    app = ApplicationBuilder().with_actions(fan=Fan()).with_transitions().with_entrypoint("fan").build()
    _, _, state = app.run(halt_after=["fan"])
    assert state["ys"] == [1] and calls["n"] == 2


async def test_async_persister_stores_only_the_final_outcome_of_a_retried_step(tmp_path: Any) -> None:
    pytest.importorskip("aiosqlite", reason="the async SQLite persister needs aiosqlite (burr[aiosqlite])")
    from burr.integrations.persisters.b_aiosqlite import AsyncSQLitePersister

    persister = await AsyncSQLitePersister.from_values(str(tmp_path / "a.db"), table_name="retry_async")
    await persister.initialize()
    act, _ = flaky(2)
    builder = app_with(act, call_llm=NO_WAIT).with_state_persister(persister).with_identifiers(app_id="a3")
    app = await builder.abuild()
    await app.arun(halt_after=["call_llm"])
    loaded = await persister.load(None, "a3")
    assert loaded is not None and (loaded["sequence_id"], loaded["status"]) == (0, "completed")
    await persister.cleanup()
