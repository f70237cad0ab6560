"""Spans and attributes inside an action: ``__tracer``, ``TracerFactory`` and ``@trace``.

A span is opened with ``with tracer("name"):``; nested ``with`` blocks make child spans. Span ids
are positional: ``"<action sequence id>:<root index>.<child index>..."`` (e.g. ``"0:1.0.1"``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import inspect
import sys
from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union

if TYPE_CHECKING:
    import asyncio

    from burr.lifecycle.internal import LifecycleAdapterSet

F = TypeVar("F", bound=Callable[..., Any])

# The span currently open (None between spans).
execution_context_var: contextvars.ContextVar[ActionSpan | None] = contextvars.ContextVar(
    "burr_execution_context", default=None
)
# The TracerFactory of the action currently running; ``@trace`` reads it.
tracer_factory_context_var: contextvars.ContextVar[TracerFactory | None] = contextvars.ContextVar(
    "burr_tracer_factory", default=None
)

# Async attribute hooks scheduled from sync ``log_attributes`` calls; kept so they are not collected.
_PENDING: set[asyncio.Task[Any]] = set()


def create_span_id(action_sequence_id: int, span_sequence_ids: list[int]) -> str:
    """The positional id of a span, e.g. ``create_span_id(0, [1, 0, 1]) == "0:1.0.1"``."""
    return f"{action_sequence_id}:{'.'.join(str(s) for s in span_sequence_ids)}"


@dataclasses.dataclass
class ActionSpan:
    """One span in an action's span tree."""

    action: Any
    action_sequence_id: int
    name: str
    parent: ActionSpan | None
    sequence_id: int = 0
    child_count: int = 0

    @classmethod
    def create_initial(cls, action: Any, name: str, sequence_id: int, action_sequence_id: int) -> ActionSpan:
        return ActionSpan(action, action_sequence_id, name, None, sequence_id)

    def spawn(self, name: str) -> ActionSpan:
        """A new child span; children are numbered in the order they are opened."""
        self.child_count += 1
        return ActionSpan(self.action, self.action_sequence_id, name, self, self.child_count - 1)

    @property
    def uid(self) -> str:
        ids = []
        span: ActionSpan | None = self
        while span is not None:
            ids.append(span.sequence_id)
            span = span.parent
        ids.reverse()
        return create_span_id(self.action_sequence_id, ids)

    def __repr__(self) -> str:
        return f"ActionSpan(name={self.name!r}, uid={self.uid!r})"


def _action_name(action: Any) -> Any:
    # Fix #19: span/attribute hooks always receive the action's name.
    return action if isinstance(action, str) or action is None else getattr(action, "name", str(action))


class ActionSpanTracer:
    """Context manager (sync and async) that opens one span and fires the span hooks."""

    def __init__(
        self,
        action: Any,
        action_sequence_id: int,
        span_name: str,
        lifecycle_adapters: LifecycleAdapterSet,
        app_id: str,
        partition_key: str | None,
        span_dependencies: list[str],
        top_level_span_count: int = 0,
        context_var: contextvars.ContextVar[ActionSpan | None] = execution_context_var,
    ) -> None:
        self.action = action
        self.action_sequence_id = action_sequence_id
        self.span_name = span_name
        self.lifecycle_adapters = lifecycle_adapters
        self.app_id = app_id
        self.partition_key = partition_key
        self.span_dependencies = span_dependencies
        self.top_level_span_count = top_level_span_count
        self.context_var = context_var
        self.token: contextvars.Token[ActionSpan | None] | None = None
        self.span: ActionSpan | None = None

    def _hook_kwargs(self, span: ActionSpan) -> dict[str, Any]:
        return dict(
            action=_action_name(self.action),
            action_sequence_id=self.action_sequence_id,
            span=span,
            span_dependencies=self.span_dependencies,
            app_id=self.app_id,
            partition_key=self.partition_key,
        )

    def _open(self) -> ActionSpan:
        current = self.context_var.get()
        if current is None:
            span = ActionSpan.create_initial(
                self.action, self.span_name, self.top_level_span_count - 1, self.action_sequence_id
            )
        else:
            span = current.spawn(self.span_name)
        self.span = span
        self.token = self.context_var.set(span)
        return span

    def _close(self) -> ActionSpan:
        span = self.context_var.get()
        if self.token is not None:
            try:
                self.context_var.reset(self.token)
            except ValueError:  # exited in another context: restore the parent by hand
                self.context_var.set(span.parent if span is not None else None)
            self.token = None
        return span if span is not None else self.span  # type: ignore[return-value]

    def __enter__(self) -> ActionSpanTracer:
        span = self._open()
        self.lifecycle_adapters.call_all_lifecycle_hooks_sync("pre_start_span", **self._hook_kwargs(span))
        return self

    def __exit__(self, *exc: Any) -> None:
        span = self._close()
        self.lifecycle_adapters.call_all_lifecycle_hooks_sync("post_end_span", **self._hook_kwargs(span))

    async def __aenter__(self) -> ActionSpanTracer:
        span = self._open()
        await self.lifecycle_adapters.call_all_lifecycle_hooks_sync_and_async(
            "pre_start_span", **self._hook_kwargs(span)
        )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        span = self._close()
        await self.lifecycle_adapters.call_all_lifecycle_hooks_sync_and_async(
            "post_end_span", **self._hook_kwargs(span)
        )

    def log_attribute(self, key: str, value: Any) -> None:
        """Record one attribute on the current span (or on the action when no span is open)."""
        self.log_attributes(**{key: value})

    def log_attributes(self, **attributes: Any) -> None:
        """Record several attributes on the current span (or on the action when no span is open)."""
        adapters = self.lifecycle_adapters
        kwargs = dict(
            attributes=attributes,
            action=_action_name(self.action),
            action_sequence_id=self.action_sequence_id,
            span=self.context_var.get(),
            tags={},
            app_id=self.app_id,
            partition_key=self.partition_key,
        )
        adapters.call_all_lifecycle_hooks_sync("do_log_attributes", **kwargs)
        if adapters.async_hooks.get("do_log_attributes"):
            # Fix #20: async attribute hooks fire when we are inside a running event loop.
            # asyncio is imported lazily: if nobody imported it, no event loop can be running.
            aio = sys.modules.get("asyncio")
            if aio is None:
                return
            try:
                loop = aio.get_running_loop()
            except RuntimeError:
                return
            task = loop.create_task(adapters.call_all_lifecycle_hooks_async("do_log_attributes", **kwargs))
            _PENDING.add(task)
            task.add_done_callback(_PENDING.discard)


class TracerFactory(ActionSpanTracer):
    """What an action receives as ``__tracer``: call it to open a span, or log action-level attributes."""

    def __init__(
        self,
        action: Any,
        sequence_id: int,
        app_id: str,
        partition_key: str | None,
        lifecycle_adapters: LifecycleAdapterSet,
        _context_var: contextvars.ContextVar[ActionSpan | None] = execution_context_var,
    ) -> None:
        # ActionSpanTracer.__init__(action, sequence_id, "root", lifecycle_adapters, app_id,
        # partition_key, [], 0, _context_var), spelled out: a traced app builds one per step.
        self.action = action
        self.action_sequence_id = sequence_id
        self.span_name = "root"
        self.lifecycle_adapters = lifecycle_adapters
        self.app_id = app_id
        self.partition_key = partition_key
        self.span_dependencies: list[str] = []
        self.top_level_span_count = 0
        self.context_var = _context_var
        self.token: contextvars.Token[ActionSpan | None] | None = None
        self.span: ActionSpan | None = None

    def __call__(self, span_name: str, span_dependencies: list[str] | None = None) -> ActionSpanTracer:
        if self.context_var.get() is None:
            self.top_level_span_count += 1
        return ActionSpanTracer(
            action=self.action,
            action_sequence_id=self.action_sequence_id,
            span_name=span_name,
            lifecycle_adapters=self.lifecycle_adapters,
            app_id=self.app_id,
            partition_key=self.partition_key,
            span_dependencies=span_dependencies if span_dependencies is not None else [],
            top_level_span_count=self.top_level_span_count,
            context_var=self.context_var,
        )


@functools.cache
def _source_hash(fn: Callable[..., Any]) -> str:
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = getattr(fn, "__qualname__", repr(fn))
    import hashlib  # lazy: only traced functions need it

    return hashlib.sha256(source.encode()).hexdigest()


def trace(
    capture_inputs: Union[bool, Callable[..., Any]] = True,
    capture_outputs: bool = True,
    input_filterlist: list[str] | None = None,
    span_name: str | None = None,
    _context_var: contextvars.ContextVar[TracerFactory | None] = tracer_factory_context_var,
) -> Any:
    """Decorate a function so calls inside a Burr action open a span and log inputs/outputs.

    Use as ``@trace()`` (or bare ``@trace``). Outside an action the function runs untouched.
    """
    if callable(capture_inputs):  # bare @trace
        return trace()(capture_inputs)
    filtered = set(input_filterlist or [])

    def decorator(fn: F) -> F:
        name = span_name or fn.__name__
        signature = inspect.signature(fn)

        def _inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            bound = signature.bind(*args, **kwargs)
            return {k: v for k, v in bound.arguments.items() if k not in filtered}

        def _meta() -> dict[str, Any]:
            return {"__burr_function": fn.__qualname__, "__burr_function_hash": _source_hash(fn)}

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                factory = _context_var.get()
                if factory is None:
                    return await fn(*args, **kwargs)
                async with factory(name) as tracer:
                    if capture_inputs:
                        tracer.log_attributes(**_inputs(args, kwargs))
                    tracer.log_attributes(**_meta())
                    out = await fn(*args, **kwargs)
                    if capture_outputs:
                        tracer.log_attributes(**{"return": out})
                    return out

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            factory = _context_var.get()
            if factory is None:
                return fn(*args, **kwargs)
            with factory(name) as tracer:
                if capture_inputs:
                    tracer.log_attributes(**_inputs(args, kwargs))
                tracer.log_attributes(**_meta())
                out = fn(*args, **kwargs)
                if capture_outputs:
                    tracer.log_attributes(**{"return": out})
                return out

        return wrapper  # type: ignore[return-value]

    return decorator
