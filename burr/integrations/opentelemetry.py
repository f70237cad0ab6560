"""OpenTelemetry both ways (needs ``burr[opentelemetry]``).

- Burr -> OTel: ``OpenTelemetryBridge`` is a lifecycle hook that emits one OTel span per
  application call (``run``, ``step``, ...), one per step and one per ``__tracer``/``@trace`` span,
  with stable ``burr.*`` attributes, span links for ``span_dependencies`` and logged attributes as
  typed span attributes.
- OTel -> Burr: ``with_tracker(..., use_otel_tracing=True)`` wraps the tracker in
  ``OpenTelemetryTracker``; OTel spans started inside a step (e.g. by an LLM client's
  instrumentation, see ``init_instruments``) are recorded in the Burr tracker as spans of that step,
  with their attributes. We never replace a global ``TracerProvider``: when the global provider is
  an SDK provider our ``BurrTrackingSpanProcessor`` is added to it; when none is set we use a
  private provider (then third-party instrumentation must be given it: ``init_instruments`` does).
"""

from __future__ import annotations

import contextvars
import dataclasses
import importlib
import json
import logging
import threading
from typing import Any, Callable, Sequence

from burr.integrations.base import require_plugin

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.trace import Link, Status, StatusCode
except ImportError as e:  # pragma: no cover - depends on the environment
    require_plugin(e, "opentelemetry")

from burr.core import serde
from burr.lifecycle.base import (
    DoLogAttributeHook,
    PostApplicationCreateHook,
    PostApplicationExecuteCallHook,
    PostEndSpanHook,
    PostEndStreamHook,
    PostRunStepHook,
    PostStreamItemHook,
    PreApplicationExecuteCallHook,
    PreRunStepHook,
    PreStartSpanHook,
    PreStartStreamHook,
)
from burr.visibility.tracing import ActionSpan

try:
    from burr.lifecycle.base import PostTransitionEvaluationHook as _TransitionHook
except ImportError:  # pragma: no cover - older lifecycle module

    class _TransitionHook:  # type: ignore[no-redef]
        pass


logger = logging.getLogger(__name__)

_PRIMITIVE = (str, bool, int, float)


def convert_to_otel_attribute(attribute: Any) -> Any:
    """An OTel attribute value: primitives and homogeneous primitive sequences as they are,
    anything else as JSON of its serialized form (or ``str`` when that fails)."""
    if isinstance(attribute, _PRIMITIVE):
        return attribute
    if isinstance(attribute, (list, tuple)) and attribute:
        first = type(attribute[0])
        if first in _PRIMITIVE and all(type(x) is first for x in attribute):
            return list(attribute)
    try:
        return json.dumps(serde.serialize(attribute))
    except Exception:
        return str(attribute)


def _ids(app_id: str, partition_key: str | None, project: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"burr.app_id": app_id}
    if partition_key is not None:
        out["burr.partition_key"] = partition_key
    if project is not None:
        out["burr.project"] = project
    return out


def _project_of_context() -> str | None:
    from burr.core.application import ApplicationContext

    ctx = ApplicationContext.get()
    tracker = getattr(ctx, "tracker", None) if ctx is not None else None
    tracker = getattr(tracker, "burr_tracker", tracker)
    return getattr(tracker, "project_id", None)


@dataclasses.dataclass
class _Open:
    key: tuple[Any, ...]
    span: Any
    token: Any


# ---------------------------------------------------------------------------------------------------
# Burr -> OTel
# ---------------------------------------------------------------------------------------------------


class OpenTelemetryBridge(
    PreApplicationExecuteCallHook,
    PostApplicationExecuteCallHook,
    PreRunStepHook,
    PostRunStepHook,
    PreStartSpanHook,
    PostEndSpanHook,
    DoLogAttributeHook,
):
    """Emit OTel spans for application calls, steps and ``__tracer`` spans.

    ``.with_hooks(OpenTelemetryBridge(tracer_name="my-app"))`` (or ``tracer=`` an OTel tracer).
    ``project`` (ours) sets ``burr.project``; otherwise it is taken from the app's tracker.
    Span attributes: ``burr.app_id``, ``burr.partition_key``, ``burr.project``, ``burr.method``,
    ``burr.sequence_id``, ``burr.action``, ``burr.span_id``, ``burr.status`` ("completed" /
    "failed"), ``burr.error``; failed spans get status ERROR and the exception recorded.
    """

    def __init__(self, tracer_name: str | None = None, tracer: Any = None, *, project: str | None = None):
        self.tracer = tracer if tracer is not None else trace.get_tracer(tracer_name or "burr")
        self.project = project
        self._stack: contextvars.ContextVar[tuple[_Open, ...]] = contextvars.ContextVar(
            f"burr_otel_bridge_{id(self)}", default=()
        )
        # Burr span uid/name -> OTel span context, per (app, step), for span_dependencies links
        self._span_contexts: dict[tuple[str, int], dict[str, Any]] = {}

    def _start(
        self,
        key: tuple[Any, ...],
        name: str,
        app_id: str,
        partition_key: str | None,
        attributes: dict[str, Any],
        links: Sequence[Any] = (),
    ) -> Any:
        """Open a span carrying the app's ``burr.*`` ids plus ``attributes`` and make it current."""
        attributes = {**_ids(app_id, partition_key, self._project()), **attributes}
        span = self.tracer.start_span(name, attributes=attributes, links=list(links) or None)
        token = otel_context.attach(trace.set_span_in_context(span))
        self._stack.set(self._stack.get() + (_Open(key, span, token),))
        return span

    def _end(self, key: tuple[Any, ...], exception: BaseException | None = None) -> None:
        stack = self._stack.get()
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].key == key:
                break
        else:
            return
        for entry in reversed(stack[i:]):  # close anything left open above it, innermost first
            failed = exception is not None and entry is stack[i]
            entry.span.set_attribute("burr.status", "failed" if failed else "completed")
            if failed:
                entry.span.set_attribute("burr.error", f"{type(exception).__name__}: {exception}")
                entry.span.record_exception(exception)  # type: ignore[arg-type]
                entry.span.set_status(Status(StatusCode.ERROR, str(exception)))
            else:
                entry.span.set_status(Status(StatusCode.OK))
            try:
                otel_context.detach(entry.token)
            except Exception:  # ended in another context (e.g. a stream's callback)
                pass
            entry.span.end()
        self._stack.set(stack[:i])

    def _project(self) -> str | None:
        return self.project if self.project is not None else _project_of_context()

    def pre_run_execute_call(
        self, *, app_id: str, partition_key: str | None, state: Any, method: Any, **future_kwargs: Any
    ) -> None:
        name = getattr(method, "value", str(method))
        self._start(("call", app_id), name, app_id, partition_key, {"burr.method": name})

    def post_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: Any,
        method: Any,
        exception: Exception | None = None,
        **future_kwargs: Any,
    ) -> None:
        self._end(("call", app_id), exception)

    def pre_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: Any,
        action: Any,
        inputs: Any = None,
        **future_kwargs: Any,
    ) -> None:
        self._span_contexts[(app_id, sequence_id)] = {}
        attrs = {"burr.sequence_id": sequence_id, "burr.action": action.name}
        self._start(("step", app_id, sequence_id), action.name, app_id, partition_key, attrs)

    def post_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: Any,
        action: Any,
        result: Any = None,
        exception: Exception | None = None,
        **future_kwargs: Any,
    ) -> None:
        self._span_contexts.pop((app_id, sequence_id), None)
        self._end(("step", app_id, sequence_id), exception)

    def pre_start_span(
        self,
        *,
        action: Any,
        action_sequence_id: int,
        span: ActionSpan,
        span_dependencies: list[str],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        known = self._span_contexts.setdefault((app_id, action_sequence_id), {})
        links = [Link(known[d]) for d in span_dependencies or () if d in known]
        attrs = {
            "burr.sequence_id": action_sequence_id,
            "burr.action": getattr(action, "name", action),
            "burr.span_id": span.uid,
        }
        opened = self._start(("span", app_id, span.uid), span.name, app_id, partition_key, attrs, links)
        ctx = opened.get_span_context()
        known[span.uid] = ctx
        known.setdefault(span.name, ctx)

    def post_end_span(
        self,
        *,
        action: Any,
        action_sequence_id: int,
        span: ActionSpan,
        span_dependencies: list[str],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        self._end(("span", app_id, span.uid))

    def do_log_attributes(
        self,
        *,
        attributes: dict[str, Any],
        action: Any,
        action_sequence_id: int,
        span: ActionSpan | None,
        tags: dict[str, Any],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        key = ("span", app_id, span.uid) if span is not None else ("step", app_id, action_sequence_id)
        target = next((e.span for e in reversed(self._stack.get()) if e.key == key), None)
        if target is None:
            target = trace.get_current_span()
        target.set_attributes({k: convert_to_otel_attribute(v) for k, v in attributes.items()})


# ---------------------------------------------------------------------------------------------------
# OTel -> Burr
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Mirror:
    """An OTel span that stands for a Burr step or span."""

    action_span: ActionSpan | None  # None for the step's own span
    tracker: Any
    app_id: str
    partition_key: str | None
    action: str
    sequence_id: int
    recorded: bool  # already written by Burr's own hooks (the step, __tracer spans)
    root_count: int = 0

    def hook_kwargs(self) -> dict[str, Any]:
        """The arguments naming this step that every span hook of the tracker takes."""
        return {
            "action": self.action,
            "action_sequence_id": self.sequence_id,
            "app_id": self.app_id,
            "partition_key": self.partition_key,
        }


_MIRRORS: dict[int, _Mirror] = {}
_OWN = threading.local()  # set while OpenTelemetryTracker starts its own spans (already recorded)


class BurrTrackingSpanProcessor(SpanProcessor):
    """Records OTel spans whose parent is a Burr step (or a span under one) in that step's tracker."""

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        parent = span.parent
        if parent is None or getattr(_OWN, "active", False):
            return
        owner = _MIRRORS.get(parent.span_id)
        if owner is None:
            return
        if owner.action_span is None:
            owner.root_count += 1
            action_span = ActionSpan.create_initial(
                owner.action, span.name, owner.root_count - 1, owner.sequence_id
            )
        else:
            action_span = owner.action_span.spawn(span.name)
        mirror = dataclasses.replace(owner, action_span=action_span, recorded=False, root_count=0)
        _MIRRORS[span.context.span_id] = mirror
        owner.tracker.pre_start_span(span=action_span, span_dependencies=[], **mirror.hook_kwargs())

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.context
        mirror = _MIRRORS.get(ctx.span_id) if ctx is not None else None
        if mirror is None or mirror.recorded:
            return
        _MIRRORS.pop(ctx.span_id, None)
        if span.attributes:
            attributes = {k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items()}
            mirror.tracker.do_log_attributes(
                attributes=attributes, span=mirror.action_span, tags={}, **mirror.hook_kwargs()
            )
        mirror.tracker.post_end_span(span=mirror.action_span, span_dependencies=[], **mirror.hook_kwargs())


_PROVIDER_LOCK = threading.Lock()
_PRIVATE_PROVIDER: Any = None
_PROCESSOR_ON: set[int] = set()


def _burr_provider(explicit: Any = None) -> Any:
    """The provider Burr's mirrored spans are created with, with our processor attached once."""
    global _PRIVATE_PROVIDER
    with _PROVIDER_LOCK:
        provider = explicit
        if provider is None:
            current = trace.get_tracer_provider()
            if isinstance(current, SDKTracerProvider):
                provider = current
            else:
                if _PRIVATE_PROVIDER is None:
                    _PRIVATE_PROVIDER = SDKTracerProvider()
                provider = _PRIVATE_PROVIDER
        if id(provider) not in _PROCESSOR_ON and hasattr(provider, "add_span_processor"):
            provider.add_span_processor(BurrTrackingSpanProcessor())
            _PROCESSOR_ON.add(id(provider))
        return provider


def initialize_tracer(tracer_provider: Any = None) -> Any:
    """The provider used for ``use_otel_tracing`` (never replaces the global one; see module doc)."""
    return _burr_provider(tracer_provider)


def _passed_on(hook: str) -> Callable[..., None]:
    """A hook method of ``OpenTelemetryTracker`` that only forwards the call to the wrapped tracker."""

    def method(self: OpenTelemetryTracker, **kwargs: Any) -> None:
        self._forward(hook, **kwargs)

    method.__name__ = hook
    method.__qualname__ = f"OpenTelemetryTracker.{hook}"
    return method


class OpenTelemetryTracker(
    PostApplicationCreateHook,
    PreApplicationExecuteCallHook,
    PostApplicationExecuteCallHook,
    PreRunStepHook,
    PostRunStepHook,
    PreStartSpanHook,
    PostEndSpanHook,
    DoLogAttributeHook,
    PreStartStreamHook,
    PostStreamItemHook,
    PostEndStreamHook,
    _TransitionHook,
):
    """Wraps a Burr tracker so OTel spans opened inside a step are recorded under that step.

    Every hook is forwarded to ``burr_tracker``. Each step and ``__tracer`` span also opens an OTel
    span (so instrumented libraries nest under it); OTel spans that start below one are mirrored
    into the tracker as ``begin_span``/``attribute``/``end_span`` records, attributes typed.
    ``tracer_provider`` (ours) pins the provider; by default see ``initialize_tracer``.
    """

    def __init__(self, burr_tracker: Any, *, tracer_provider: Any = None) -> None:
        self.burr_tracker = burr_tracker
        self._explicit_provider = tracer_provider
        self.tracer = _burr_provider(tracer_provider).get_tracer("burr")
        self._open: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def copy(self) -> OpenTelemetryTracker:
        inner = self.burr_tracker.copy() if hasattr(self.burr_tracker, "copy") else self.burr_tracker
        return OpenTelemetryTracker(inner, tracer_provider=self._explicit_provider)

    def __getattr__(self, name: str) -> Any:  # project_id, storage_dir, load ... of the wrapped tracker
        if name == "burr_tracker":
            raise AttributeError(name)
        return getattr(self.burr_tracker, name)

    def _forward(self, hook: str, **kwargs: Any) -> None:
        fn = getattr(self.burr_tracker, hook, None)
        if fn is not None:
            fn(**kwargs)

    def _start(self, key: tuple[Any, ...], name: str, mirror: _Mirror) -> None:
        _OWN.active = True
        try:
            span = self.tracer.start_span(name)
        finally:
            _OWN.active = False
        _MIRRORS[span.get_span_context().span_id] = mirror
        token = otel_context.attach(trace.set_span_in_context(span))
        self._open[key] = (span, token)

    def _end(self, key: tuple[Any, ...], exception: BaseException | None = None) -> None:
        opened = self._open.pop(key, None)
        if opened is None:
            return
        span, token = opened
        _MIRRORS.pop(span.get_span_context().span_id, None)
        if exception is not None:
            span.set_status(Status(StatusCode.ERROR, str(exception)))
        try:
            otel_context.detach(token)
        except Exception:
            pass
        span.end()

    post_application_create = _passed_on("post_application_create")
    pre_run_execute_call = _passed_on("pre_run_execute_call")
    post_run_execute_call = _passed_on("post_run_execute_call")
    post_transition_evaluation = _passed_on("post_transition_evaluation")
    do_log_attributes = _passed_on("do_log_attributes")
    pre_start_stream = _passed_on("pre_start_stream")
    post_stream_item = _passed_on("post_stream_item")
    post_end_stream = _passed_on("post_end_stream")

    def pre_run_step(
        self, *, app_id: str, partition_key: str | None, sequence_id: int, action: Any, **kwargs: Any
    ) -> None:
        self._forward(
            "pre_run_step",
            app_id=app_id,
            partition_key=partition_key,
            sequence_id=sequence_id,
            action=action,
            **kwargs,
        )
        mirror = _Mirror(
            None, self.burr_tracker, app_id, partition_key, action.name, sequence_id, recorded=True
        )
        self._start(("step", app_id, sequence_id), action.name, mirror)

    def post_run_step(
        self, *, app_id: str, sequence_id: int, exception: Exception | None = None, **kwargs: Any
    ) -> None:
        self._end(("step", app_id, sequence_id), exception)
        self._forward("post_run_step", app_id=app_id, sequence_id=sequence_id, exception=exception, **kwargs)

    def pre_start_span(
        self,
        *,
        span: ActionSpan,
        app_id: str,
        partition_key: str | None,
        action: Any,
        action_sequence_id: int,
        **kwargs: Any,
    ) -> None:
        self._forward(
            "pre_start_span",
            span=span,
            app_id=app_id,
            partition_key=partition_key,
            action=action,
            action_sequence_id=action_sequence_id,
            **kwargs,
        )
        name = getattr(action, "name", action)
        mirror = _Mirror(
            span, self.burr_tracker, app_id, partition_key, name, action_sequence_id, recorded=True
        )
        self._start(("span", app_id, span.uid), span.name, mirror)

    def post_end_span(self, *, span: ActionSpan, app_id: str, **kwargs: Any) -> None:
        self._end(("span", app_id, span.uid))
        self._forward("post_end_span", span=span, app_id=app_id, **kwargs)


# ---------------------------------------------------------------------------------------------------
# init_instruments
# ---------------------------------------------------------------------------------------------------

# short name -> (module that must already be imported, opentelemetry.instrumentation.<module>)
INSTRUMENTS: dict[str, tuple[str, str]] = {
    "openai": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "cohere": ("cohere", "cohere"),
    "google_generativeai": ("google.generativeai", "google_generativeai"),
    "mistral": ("mistralai", "mistralai"),
    "ollama": ("ollama", "ollama"),
    "transformers": ("transformers", "transformers"),
    "together": ("together", "together"),
    "bedrock": ("boto3", "bedrock"),
    "replicate": ("replicate", "replicate"),
    "vertexai": ("vertexai", "vertexai"),
    "groq": ("groq", "groq"),
    "watsonx": ("ibm_watson_machine_learning", "watsonx"),
    "alephalpha": ("aleph_alpha_client", "alephalpha"),
    "pinecone": ("pinecone", "pinecone"),
    "qdrant": ("qdrant_client", "qdrant"),
    "chroma": ("chromadb", "chromadb"),
    "milvus": ("pymilvus", "milvus"),
    "weaviate": ("weaviate", "weaviate"),
    "lancedb": ("lancedb", "lancedb"),
    "marqo": ("marqo", "marqo"),
    "redis": ("redis", "redis"),
    "langchain": ("langchain", "langchain"),
    "llama_index": ("llama_index", "llamaindex"),
    "haystack": ("haystack", "haystack"),
    "requests": ("requests", "requests"),
    "httpx": ("httpx", "httpx"),
    "urllib": ("urllib.request", "urllib"),
    "urllib3": ("urllib3", "urllib3"),
    "fastapi": ("fastapi", "fastapi"),
}


def _instrumentor_class(module: Any) -> Any:
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[import-not-found]

    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseInstrumentor) and value is not BaseInstrumentor:
            return value
    return None


def init_instruments(*instruments: str, init_all: bool = False, tracer_provider: Any = None) -> list[str]:
    """Turn on OTel instrumentations by short name (``"openai"``, ``"requests"``, ... see
    ``INSTRUMENTS``); ``init_all=True`` tries every one. Each needs its library already imported and
    its ``opentelemetry-instrumentation-*`` package installed, otherwise it is skipped (logged).
    Instrumentors get Burr's provider (``initialize_tracer``) unless ``tracer_provider`` is given, so
    their spans reach the tracker even when no global provider is set. Returns the names enabled.
    """
    import sys

    unknown = [name for name in instruments if name not in INSTRUMENTS]
    if unknown:
        raise ValueError(f"Unknown instrument(s) {unknown}: choose from {sorted(INSTRUMENTS)}.")
    names = list(INSTRUMENTS) if init_all else list(instruments)
    provider = tracer_provider if tracer_provider is not None else _burr_provider()
    enabled: list[str] = []
    for name in names:
        target, module_name = INSTRUMENTS[name]
        if target not in sys.modules:
            logger.info("Skipping OTel instrument %s: import %s first.", name, target)
            continue
        try:
            module = importlib.import_module(f"opentelemetry.instrumentation.{module_name}")
            cls = _instrumentor_class(module)
        except ImportError:
            logger.warning(
                "Skipping OTel instrument %s: install opentelemetry-instrumentation-%s.", name, module_name
            )
            continue
        if cls is None:
            logger.warning("Skipping OTel instrument %s: no instrumentor found in its package.", name)
            continue
        instrumentor = cls()
        if getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
            continue
        instrumentor.instrument(tracer_provider=provider)
        enabled.append(name)
    return enabled
