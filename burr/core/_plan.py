"""Sans-IO plans: logic written once, run by a sync or an async driver (the h11 idea).

Used by the persisters and by the engine's stream drivers (``_stream_drivers``); it lives in core
because imports point down only.

A *plan* is a generator that yields the I/O it needs and receives each result back (or has the
error thrown in at that point, so its own ``try``/``except``/``finally`` work as in straight code):

* ``Call(fn, args, kwargs)``: call ``fn``. With a sync client it returns the value; with an async
  client it returns an awaitable, which ``run_async`` awaits. Plans never know which.
* ``Scoped(scope, args, plan)``: run a sub-plan inside ``scope(*args)``, a context manager (sync
  driver) or an async context manager (async driver), e.g. a transaction that rolls back on error.
* ``Emit(value)``: hand ``value`` to whoever iterates the driver (only ``iterate_sync``/
  ``iterate_async``, which are generators); what the consumer sends or throws comes back, and
  closing the driver throws ``GeneratorExit`` into the plan, whose ``finally`` may still ``Call``.

A plan's return value is the driver's return value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, TypeVar

T = TypeVar("T")
Plan = Generator[Any, Any, T]


@dataclasses.dataclass(frozen=True)
class Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Scoped:
    scope: Callable[..., Any]
    args: tuple[Any, ...]
    plan: Plan[Any]


@dataclasses.dataclass(frozen=True)
class Emit:
    value: Any


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Call:
    return Call(fn, args, kwargs)


def single(request: Any) -> Plan[Any]:
    """A plan of one request (for a ``Scoped`` around a single statement)."""
    return (yield request)


_DONE = object()


class _Cursor:
    """Steps a plan: hands it each outcome, gives the driver its next request (or ``_DONE``)."""

    def __init__(self, plan: Plan[Any]) -> None:
        self._plan = plan
        self._resume: Callable[[Any], Any] = plan.send
        self._outcome: Any = None
        self.result: Any = None

    def next(self) -> Any:
        try:
            return self._resume(self._outcome)
        except StopIteration as stop:
            self.result = stop.value
            return _DONE

    def ok(self, value: Any) -> None:
        self._resume, self._outcome = self._plan.send, value

    def failed(self, error: BaseException) -> None:
        self._resume, self._outcome = self._plan.throw, error


def run_sync(plan: Plan[T]) -> T:
    """Run ``plan`` with blocking calls."""
    cursor = _Cursor(plan)
    while (request := cursor.next()) is not _DONE:
        try:
            if isinstance(request, Scoped):
                with request.scope(*request.args):
                    cursor.ok(run_sync(request.plan))
            else:
                cursor.ok(request.fn(*request.args, **request.kwargs))
        except BaseException as e:
            cursor.failed(e)
    return cursor.result  # type: ignore[no-any-return]


async def run_async(plan: Plan[T]) -> T:
    """Run ``plan``, awaiting each call."""
    cursor = _Cursor(plan)
    while (request := cursor.next()) is not _DONE:
        try:
            if isinstance(request, Scoped):
                async with request.scope(*request.args):
                    cursor.ok(await run_async(request.plan))
            else:
                cursor.ok(await request.fn(*request.args, **request.kwargs))
        except BaseException as e:
            cursor.failed(e)
    return cursor.result  # type: ignore[no-any-return]


def iterate_sync(plan: Plan[Any]) -> Generator[Any, Any, Any]:
    """Run ``plan`` with blocking calls, yielding each ``Emit``'s value to the consumer."""
    cursor = _Cursor(plan)
    while (request := cursor.next()) is not _DONE:
        try:
            if type(request) is Emit:
                cursor.ok((yield request.value))
            elif isinstance(request, Scoped):
                with request.scope(*request.args):
                    cursor.ok(run_sync(request.plan))
            else:
                cursor.ok(request.fn(*request.args, **request.kwargs))
        except BaseException as e:
            cursor.failed(e)
    return cursor.result


async def iterate_async(plan: Plan[Any]) -> AsyncGenerator[Any, Any]:
    """Run ``plan``, awaiting each call and yielding each ``Emit``'s value (the plan's return is lost)."""
    cursor = _Cursor(plan)
    while (request := cursor.next()) is not _DONE:
        try:
            if type(request) is Emit:
                cursor.ok((yield request.value))
            elif isinstance(request, Scoped):
                async with request.scope(*request.args):
                    cursor.ok(await run_async(request.plan))
            else:
                cursor.ok(await request.fn(*request.args, **request.kwargs))
        except BaseException as e:
            cursor.failed(e)
