"""Spans and attributes: uids, hook arguments, @trace, the tracer-factory context var."""

from __future__ import annotations

from typing import Any

from burr.core import ApplicationBuilder, State, action
from burr.lifecycle.internal import LifecycleAdapterSet
from burr.visibility import ActionSpan, TracerFactory, trace
from burr.visibility.tracing import create_span_id, tracer_factory_context_var


def test_span_uid_is_path_from_root() -> None:
    root = ActionSpan.create_initial("a", "root", 1, 0)
    child = root.spawn("c0")
    root.spawn("c1")
    grandchild = child.spawn("g")
    second_grandchild = child.spawn("g2")
    assert (root.uid, child.uid, grandchild.uid, second_grandchild.uid) == (
        "0:1",
        "0:1.0",
        "0:1.0.0",
        "0:1.0.1",
    )


def test_create_span_id() -> None:
    assert create_span_id(3, [1, 0, 1]) == "3:1.0.1"


def _spans(recorder: Any) -> list[tuple[str, str, str]]:
    return [
        (name, kw["span"].uid, kw["action"])
        for name, kw in recorder.events
        if name in ("pre_start_span", "post_end_span")
    ]


def _one_action_app(fn: Any, recorder: Any) -> Any:
    """An app of the single action ``fn`` with ``recorder`` as its hook."""
    return (
        ApplicationBuilder()
        .with_actions(**{fn.__name__: fn})
        .with_transitions()
        .with_entrypoint(fn.__name__)
        .with_hooks(recorder)
        .build()
    )


def test_tracer_spans_fire_hooks_with_uids_and_action_name(recorder: Any) -> None:
    factory = TracerFactory("act", 0, "app", None, LifecycleAdapterSet(recorder))
    with factory("a"), factory("a1"):
        pass
    with factory("b"):
        pass
    assert _spans(recorder) == [
        ("pre_start_span", "0:0", "act"),
        ("pre_start_span", "0:0.0", "act"),
        ("post_end_span", "0:0.0", "act"),
        ("post_end_span", "0:0", "act"),
        ("pre_start_span", "0:1", "act"),
        ("post_end_span", "0:1", "act"),
    ]


def test_log_attribute_reports_current_span_or_none(recorder: Any) -> None:
    factory = TracerFactory("act", 2, "app", "pk", LifecycleAdapterSet(recorder))
    factory.log_attribute("top", 1)
    with factory("s") as tracer:
        tracer.log_attributes(x=1, y=2)
    logs = [
        (kw["attributes"], kw["span"].uid if kw["span"] else None)
        for name, kw in recorder.events
        if name == "do_log_attributes"
    ]
    assert logs == [({"top": 1}, None), ({"x": 1, "y": 2}, "2:0")]


@trace()
def helper(x: int, secret: int = 0) -> int:
    return x * 2


@trace(input_filterlist=["secret"], span_name="custom")
def filtered(x: int, secret: int = 0) -> int:
    return x


def test_trace_outside_action_just_calls() -> None:
    assert helper(3) == 6


def test_trace_inside_action_opens_span_and_logs(recorder: Any) -> None:
    @action(reads=[], writes=["v"])
    def uses(state: State) -> State:
        return state.update(v=helper(3))

    app = _one_action_app(uses, recorder)
    app.step()
    spans = _spans(recorder)
    keys = [list(kw["attributes"]) for name, kw in recorder.events if name == "do_log_attributes"]
    assert spans == [("pre_start_span", "0:0", "uses"), ("post_end_span", "0:0", "uses")]
    assert keys == [["x"], ["__burr_function", "__burr_function_hash"], ["return"]]


def test_trace_filters_inputs_and_uses_span_name(recorder: Any) -> None:
    @action(reads=[], writes=[])
    def uses(state: State) -> State:
        filtered(1, secret=2)
        return state

    app = _one_action_app(uses, recorder)
    app.step()
    first = next(kw for name, kw in recorder.events if name == "do_log_attributes")
    span = next(kw["span"] for name, kw in recorder.events if name == "pre_start_span")
    assert first["attributes"] == {"x": 1} and span.name == "custom"


def test_trace_nests_under_injected_tracer_span(recorder: Any) -> None:
    @action(reads=[], writes=[])
    def uses(state: State, __tracer: TracerFactory) -> State:
        with __tracer("outer"):
            helper(1)
        return state

    app = _one_action_app(uses, recorder)
    app.step()
    assert [uid for name, uid, _ in _spans(recorder) if name == "pre_start_span"] == ["0:0", "0:0.0"]


async def test_trace_async_function(recorder: Any) -> None:
    @trace()
    async def ahelper(x: int) -> int:
        return x + 1

    @action(reads=[], writes=["v"])
    async def uses(state: State) -> State:
        return state.update(v=await ahelper(1))

    app = _one_action_app(uses, recorder)
    await app.astep()
    assert app.state["v"] == 2 and [n for n, _, _ in _spans(recorder)] == ["pre_start_span", "post_end_span"]


def test_tracer_factory_var_is_reset_after_step(recorder: Any) -> None:
    @action(reads=[], writes=[])
    def noop(state: State) -> State:
        assert tracer_factory_context_var.get() is not None
        return state

    app = _one_action_app(noop, recorder)
    app.step()
    assert tracer_factory_context_var.get() is None
