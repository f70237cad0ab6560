"""Hook events: order, arguments, sync/async parity, execute-call de-duplication, transitions."""

from __future__ import annotations

from typing import Any

import pytest

from burr.core import ApplicationBuilder, State, action, default, expr
from burr.lifecycle import base
from burr.lifecycle.base import ExecuteMethod
from burr.lifecycle.default import StateAndResultsFullLogger


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
async def ainc(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=[], writes=[])
def fail(state: State) -> State:
    raise RuntimeError("nope")


def _app(*hooks: Any, a: Any = inc, b: Any = inc) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(a=a, b=b)
        .with_transitions(("a", "b"))
        .with_state(n=0)
        .with_entrypoint("a")
        .with_identifiers(app_id="app", partition_key="pk")
        .with_hooks(*hooks)
        .build()
    )


def _summary(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    out = []
    for name, kw in events:
        if name in ("pre_run_step", "post_run_step"):
            item: tuple[Any, ...] = (name, kw["action"].name, kw["sequence_id"], kw["state"]["n"])
            if name == "post_run_step":
                item += (kw["result"], kw["exception"])
            else:
                item += (kw["inputs"],)
            out.append(item)
        elif name in ("pre_run_execute_call", "post_run_execute_call"):
            out.append((name, kw["method"]) + ((kw["exception"],) if "exception" in kw else ()))
        else:
            out.append((name,))
    return out


EXPECTED_RUN = [
    ("pre_run_execute_call", ExecuteMethod.run),
    ("pre_run_step", "a", 0, 0, {}),
    ("post_run_step", "a", 0, 1, {}, None),
    ("pre_run_step", "b", 1, 1, {}),
    ("post_run_step", "b", 1, 2, {}, None),
    ("post_run_execute_call", ExecuteMethod.run, None),
]


def test_run_fires_hooks_in_order(recorder: Any) -> None:
    app = _app(recorder)
    recorder.events.clear()
    app.run(halt_after=["b"])
    assert _summary(recorder.events) == EXPECTED_RUN


async def test_arun_fires_same_hooks_as_run_for_sync_actions(recorder: Any) -> None:
    app = _app(recorder)
    recorder.events.clear()
    await app.arun(halt_after=["b"])
    assert _summary(recorder.events) == [
        (e[0], ExecuteMethod.arun, *e[2:]) if e[0].endswith("execute_call") else e for e in EXPECTED_RUN
    ]


async def test_arun_with_async_actions_fires_same_hooks(recorder: Any) -> None:
    app = _app(recorder, a=ainc, b=ainc)
    recorder.events.clear()
    await app.arun(halt_after=["b"])
    assert _summary(recorder.events) == [
        (e[0], ExecuteMethod.arun, *e[2:]) if e[0].endswith("execute_call") else e for e in EXPECTED_RUN
    ]


class AsyncRecorder(base.PreRunStepHookAsync, base.PostRunStepHookAsync):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def pre_run_step(self, *, action: Any, **kw: Any) -> None:
        self.log.append(f"async-pre-{action.name}")

    async def post_run_step(self, *, action: Any, **kw: Any) -> None:
        self.log.append(f"async-post-{action.name}")


class SyncRecorder(base.PreRunStepHook, base.PostRunStepHook):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def pre_run_step(self, *, action: Any, **kw: Any) -> None:
        self.log.append(f"sync-pre-{action.name}")

    def post_run_step(self, *, action: Any, **kw: Any) -> None:
        self.log.append(f"sync-post-{action.name}")


async def test_async_run_calls_sync_hooks_then_async_hooks() -> None:
    log: list[str] = []
    app = _app(AsyncRecorder(log), SyncRecorder(log))
    await app.astep()
    assert log == ["sync-pre-a", "async-pre-a", "sync-post-a", "async-post-a"]


def test_sync_run_skips_async_hooks() -> None:
    log: list[str] = []
    app = _app(AsyncRecorder(log), SyncRecorder(log))
    app.step()
    assert log == ["sync-pre-a", "sync-post-a"]


def test_post_run_step_on_failure_gets_exception_and_pre_action_state(recorder: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(fail=fail)
        .with_transitions()
        .with_state(n=5)
        .with_entrypoint("fail")
        .with_hooks(recorder)
        .build()
    )
    with pytest.raises(RuntimeError):
        app.step()
    name, kw = recorder.events[-2]
    assert name == "post_run_step" and isinstance(kw["exception"], RuntimeError)
    assert kw["result"] is None and kw["state"]["n"] == 5 and kw["state"]["__SEQUENCE_ID"] == 0


def test_post_run_execute_call_receives_the_exception(recorder: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(fail=fail)
        .with_transitions()
        .with_entrypoint("fail")
        .with_hooks(recorder)
        .build()
    )
    with pytest.raises(RuntimeError):
        app.run(halt_after=["fail"])
    name, kw = recorder.events[-1]
    assert name == "post_run_execute_call" and isinstance(kw["exception"], RuntimeError)


def test_pre_run_step_gets_processed_inputs(recorder: Any) -> None:
    @action(reads=[], writes=[])
    def takes(state: State, x: int, __context: Any = None) -> State:
        return state

    app = (
        ApplicationBuilder()
        .with_actions(takes=takes)
        .with_transitions()
        .with_entrypoint("takes")
        .with_hooks(recorder)
        .build()
    )
    app.step(inputs={"x": 1, "unused": 2})
    inputs = next(kw["inputs"] for name, kw in recorder.events if name == "pre_run_step")
    assert set(inputs) == {"x", "__context"}


async def test_astep_pre_run_step_gets_processed_inputs(recorder: Any) -> None:
    @action(reads=[], writes=[])
    async def takes(state: State, x: int, __context: Any = None) -> State:
        return state

    app = (
        ApplicationBuilder()
        .with_actions(takes=takes)
        .with_transitions()
        .with_entrypoint("takes")
        .with_hooks(recorder)
        .build()
    )
    await app.astep(inputs={"x": 1, "unused": 2})
    inputs = next(kw["inputs"] for name, kw in recorder.events if name == "pre_run_step")
    assert set(inputs) == {"x", "__context"}


async def test_sync_action_under_astep_reports_real_result_and_state(recorder: Any) -> None:
    app = _app(recorder)
    await app.astep()
    _, kw = next(e for e in recorder.events if e[0] == "post_run_step")
    assert kw["state"]["n"] == 1 and kw["result"] == {}


def test_execute_call_hooks_fire_once_for_nested_calls(recorder: Any) -> None:
    app = _app(recorder)
    recorder.events.clear()
    app.run(halt_after=["b"])
    names = recorder.names()
    assert names.count("pre_run_execute_call") == 1 and names.count("post_run_execute_call") == 1


def test_each_step_call_fires_its_own_execute_hooks(recorder: Any) -> None:
    app = _app(recorder)
    recorder.events.clear()
    app.step()
    app.step()
    methods = [kw["method"] for name, kw in recorder.events if name == "pre_run_execute_call"]
    assert methods == [ExecuteMethod.step, ExecuteMethod.step]


def test_iterate_fires_execute_hooks_around_whole_iteration(recorder: Any) -> None:
    app = _app(recorder)
    recorder.events.clear()
    list(app.iterate(halt_after=["b"]))
    names = recorder.names()
    assert names[0] == "pre_run_execute_call" and names[-1] == "post_run_execute_call"
    assert names.count("pre_run_execute_call") == 1


def test_child_app_inside_action_fires_its_own_execute_hooks(recorder: Any) -> None:
    @action(reads=[], writes=["child"])
    def spawn(state: State) -> State:
        child = _app(recorder)
        _, _, child_state = child.run(halt_after=["b"])
        return state.update(child=child_state["n"])

    app = (
        ApplicationBuilder()
        .with_actions(spawn=spawn)
        .with_transitions()
        .with_entrypoint("spawn")
        .with_hooks(recorder)
        .build()
    )
    recorder.events.clear()
    app.run(halt_after=["spawn"])
    assert recorder.names().count("pre_run_execute_call") == 2


def test_post_application_create_fires_at_build(recorder: Any) -> None:
    _app(recorder)
    name, kw = recorder.events[0]
    assert (
        name == "post_application_create"
        and kw["app_id"] == "app"
        and kw["application_graph"].entrypoint.name == "a"
    )


class TransitionRecorder(base.PostTransitionEvaluationHook):
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def post_transition_evaluation(self, **kw: Any) -> None:
        self.calls.append(kw)


def test_transition_hook_reports_evaluated_conditions() -> None:
    hook = TransitionRecorder()
    app = (
        ApplicationBuilder()
        .with_actions(a=inc, b=inc)
        .with_transitions(("a", "a", expr("n < 2")), ("a", "b", default))
        .with_state(n=0)
        .with_entrypoint("a")
        .with_hooks(hook)
        .build()
    )
    app.run(halt_after=["b"])
    assert [(c["sequence_id"], c["from_action"], c["next_action"]) for c in hook.calls] == [
        (0, "a", "a"),
        (1, "a", "b"),
        (2, "b", None),
    ]
    assert hook.calls[1]["evaluated"] == [
        {"to": "a", "condition": "n < 2", "value": False},
        {"to": "b", "condition": "default", "value": True},
    ]


def test_state_and_results_full_logger_writes_a_line_per_step(tmp_path: Any) -> None:
    import json

    path = tmp_path / "log.jsonl"
    app = _app(StateAndResultsFullLogger(str(path)))
    app.run(halt_after=["b"])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["action"], line["state"]["n"], line["exception"]) for line in lines] == [
        ("a", 1, "None"),
        ("b", 2, "None"),
    ]


def test_state_and_results_full_logger_requires_jsonl(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match=".jsonl"):
        StateAndResultsFullLogger(str(tmp_path / "log.txt"))
