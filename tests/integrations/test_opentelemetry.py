"""OpenTelemetry both ways, with the real opentelemetry-sdk and its in-memory exporter."""

from __future__ import annotations

import os
import pathlib

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import StatusCode  # noqa: E402

from burr.core import ApplicationBuilder, State, action, default, expr  # noqa: E402
from burr.integrations.opentelemetry import (  # noqa: E402
    OpenTelemetryBridge,
    OpenTelemetryTracker,
    convert_to_otel_attribute,
    init_instruments,
)
from burr.tracking import LocalTrackingClient  # noqa: E402
from burr.tracking.common import logs  # noqa: E402

PROVIDER = TracerProvider()  # a private provider: the tests never touch the global one


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    exp = InMemorySpanExporter()
    PROVIDER.add_span_processor(SimpleSpanProcessor(exp))
    return exp


@action(reads=["count"], writes=["count"])
def counter(state: State, __tracer) -> State:
    with __tracer("first"):
        pass
    with __tracer("second", span_dependencies=["first"]) as t:
        t.log_attributes(n=state["count"], ratio=0.5, tags=["a", "b"], blob={"k": 1})
    return state.update(count=state["count"] + 1)


@action(reads=[], writes=[])
def explode(state: State) -> State:
    raise RuntimeError("kaboom")


@action(reads=["count"], writes=["count"])
def call_llm(state: State) -> State:
    tracer = PROVIDER.get_tracer("fake-llm-client")
    with tracer.start_as_current_span("openai.chat") as span:
        span.set_attribute("gen_ai.request.model", "gpt-x")
        span.set_attribute("gen_ai.usage.prompt_tokens", 12)
        with tracer.start_as_current_span("http.post"):
            pass
    return state.update(count=state["count"] + 1)


def _app(hooks=(), tracker=None, actions=None, **tracker_kw):
    b = (
        ApplicationBuilder()
        .with_actions(**(actions or {"counter": counter, "explode": explode}))
        .with_transitions(
            *(
                [("counter", "counter", expr("count < 2")), ("counter", "explode", default)]
                if actions is None
                else []
            )
        )
        .with_state(count=0)
        .with_entrypoint(next(iter(actions)) if actions else "counter")
        .with_identifiers(app_id="otel-app", partition_key="pk")
    )
    if hooks:
        b = b.with_hooks(*hooks)
    if tracker is not None:
        b = b.with_tracker(tracker, **tracker_kw)
    return b.build()


def by_name(exporter: InMemorySpanExporter) -> dict[str, list]:
    out: dict[str, list] = {}
    for span in exporter.get_finished_spans():
        out.setdefault(span.name, []).append(span)
    return out


def test_convert_keeps_primitives_and_homogeneous_lists() -> None:
    assert convert_to_otel_attribute(3) == 3 and convert_to_otel_attribute("x") == "x"
    assert convert_to_otel_attribute((1, 2)) == [1, 2]


def test_convert_serializes_everything_else_as_json() -> None:
    assert convert_to_otel_attribute({"k": [1]}) == '{"k": [1]}'
    assert convert_to_otel_attribute([1, "a"]) == '[1, "a"]'


def test_bridge_emits_call_step_and_tracer_spans(exporter: InMemorySpanExporter) -> None:
    _app([OpenTelemetryBridge(tracer=PROVIDER.get_tracer("t"))]).run(halt_after=["counter"])
    spans = by_name(exporter)
    run, step, first = spans["run"][0], spans["counter"][0], spans["first"][0]
    assert step.parent.span_id == run.context.span_id and first.parent.span_id == step.context.span_id


def test_bridge_step_attributes(exporter: InMemorySpanExporter) -> None:
    _app([OpenTelemetryBridge(tracer=PROVIDER.get_tracer("t"), project="proj")]).run(halt_after=["counter"])
    attrs = dict(by_name(exporter)["counter"][0].attributes)
    assert attrs["burr.app_id"] == "otel-app" and attrs["burr.partition_key"] == "pk"
    assert attrs["burr.sequence_id"] == 0 and attrs["burr.action"] == "counter"
    assert attrs["burr.project"] == "proj" and attrs["burr.status"] == "completed"


def test_bridge_logged_attributes_keep_types(exporter: InMemorySpanExporter) -> None:
    _app([OpenTelemetryBridge(tracer=PROVIDER.get_tracer("t"))]).run(halt_after=["counter"])
    attrs = by_name(exporter)["second"][0].attributes
    assert attrs["n"] == 0 and attrs["ratio"] == 0.5 and tuple(attrs["tags"]) == ("a", "b")
    assert attrs["blob"] == '{"k": 1}'


def test_bridge_links_span_dependencies(exporter: InMemorySpanExporter) -> None:
    _app([OpenTelemetryBridge(tracer=PROVIDER.get_tracer("t"))]).run(halt_after=["counter"])
    spans = by_name(exporter)
    first, second = spans["first"][0], spans["second"][0]
    assert [link.context.span_id for link in second.links] == [first.context.span_id]


def test_bridge_marks_failed_step_and_call(exporter: InMemorySpanExporter) -> None:
    app = _app([OpenTelemetryBridge(tracer=PROVIDER.get_tracer("t"))])
    with pytest.raises(RuntimeError):
        app.run(halt_after=["explode"])
    step = by_name(exporter)["explode"][0]
    assert step.status.status_code == StatusCode.ERROR
    assert step.attributes["burr.status"] == "failed" and "kaboom" in step.attributes["burr.error"]


def test_tracker_mode_records_otel_spans_under_the_step(tmp_path: pathlib.Path) -> None:
    tracker = LocalTrackingClient("otel", str(tmp_path))
    app = _app(
        tracker=OpenTelemetryTracker(tracker, tracer_provider=PROVIDER), actions={"call_llm": call_llm}
    )
    app.step()
    tracker.flush()
    records = logs.read_log(os.path.join(tracker.storage_dir, "otel-app", "log.jsonl")).records
    spans = [
        (r["span_id"], r["span_name"], r["parent_span_id"]) for r in records if r["type"] == "begin_span"
    ]
    assert spans == [("0:0", "openai.chat", None), ("0:0.0", "http.post", "0:0")]
    attrs = {r["key"]: r["value"] for r in records if r["type"] == "attribute"}
    assert attrs == {"gen_ai.request.model": "gpt-x", "gen_ai.usage.prompt_tokens": 12}


def test_tracker_mode_does_not_duplicate_tracer_spans(tmp_path: pathlib.Path) -> None:
    tracker = LocalTrackingClient("otel", str(tmp_path))
    app = _app(tracker=OpenTelemetryTracker(tracker, tracer_provider=PROVIDER))
    app.step()
    tracker.flush()
    records = logs.read_log(os.path.join(tracker.storage_dir, "otel-app", "log.jsonl")).records
    assert [r["span_name"] for r in records if r["type"] == "begin_span"] == ["first", "second"]


def test_use_otel_tracing_never_replaces_global_provider(tmp_path: pathlib.Path) -> None:
    before = trace.get_tracer_provider()
    tracker = LocalTrackingClient("otel", str(tmp_path))
    app = _app(tracker=tracker, use_otel_tracing=True)
    app.step()
    tracker.flush()
    assert trace.get_tracer_provider() is before
    records = logs.read_log(os.path.join(tracker.storage_dir, "otel-app", "log.jsonl")).records
    assert [r["span_name"] for r in records if r["type"] == "begin_span"] == ["first", "second"]


def test_otel_tracker_copy_wraps_a_copy(tmp_path: pathlib.Path) -> None:
    wrapped = OpenTelemetryTracker(LocalTrackingClient("otel", str(tmp_path)), tracer_provider=PROVIDER)
    copied = wrapped.copy()
    assert isinstance(copied, OpenTelemetryTracker) and copied.burr_tracker is not wrapped.burr_tracker
    assert copied.project_id == "otel"


def test_init_instruments_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="Unknown instrument"):
        init_instruments("not-a-library")


def test_init_instruments_skips_libraries_not_imported() -> None:
    assert init_instruments("marqo", tracer_provider=PROVIDER) == []


GLOBAL_PROVIDER_SCRIPT = """
import os, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
provider = TracerProvider()
trace.set_tracer_provider(provider)
from burr.core import ApplicationBuilder, State, action
from burr.tracking import LocalTrackingClient
from burr.tracking.common import logs

@action(reads=[], writes=["x"])
def call(state: State) -> State:
    with trace.get_tracer("instrumented-lib").start_as_current_span("lib.call") as span:
        span.set_attribute("tokens", 7)
    return state.update(x=1)

tracker = LocalTrackingClient("g", sys.argv[1])
app = (ApplicationBuilder().with_actions(call=call).with_transitions().with_entrypoint("call")
       .with_identifiers(app_id="g-app").with_tracker(tracker, use_otel_tracing=True).build())
app.run(halt_after=["call"])
assert trace.get_tracer_provider() is provider, "global provider replaced"
records = logs.read_log(os.path.join(tracker.storage_dir, "g-app", "log.jsonl")).records
print([r["span_name"] for r in records if r["type"] == "begin_span"],
      [(r["key"], r["value"]) for r in records if r["type"] == "attribute"])
"""


def test_tracker_mode_adds_processor_to_the_users_global_provider(tmp_path: pathlib.Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "g.py"
    script.write_text(GLOBAL_PROVIDER_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['lib.call'] [('tokens', 7)]"
