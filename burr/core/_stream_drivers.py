"""``stream_result``/``astream_result`` and ``stream_iterate``/``astream_iterate`` (spec section 5).

A streamed step is the engine's step split in two: everything up to ``pre_start_stream`` happens
when ``stream_result`` returns; the action's items flow as the caller iterates the container; the
commit and the closing hooks (``post_run_step``, ``post_run_execute_call``, ``post_end_stream``)
happen when the stream ends, is abandoned, or raises.

Each of these is written once, as a plan (``burr.core._plan``) that yields its hooks and runs as
``Call`` effects; ``_Kind`` holds what differs (which hooks/step functions, container, stream
runner). The sync and async entry points at the bottom only pick a driver.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, Callable

from burr.core import _engine as engine
from burr.core import _guarded_stream
from burr.core._engine import PRIOR_STEP, ActionMeta
from burr.core._plan import Emit, Plan, call, iterate_async, iterate_sync, run_async, run_sync
from burr.core._streaming import AsyncStreamingResultContainer, StreamingResultContainer
from burr.core.policies import INTERRUPT_KEY
from burr.core.state import State
from burr.lifecycle.base import ExecuteMethod

if TYPE_CHECKING:
    import datetime

    from burr.core.action import Action
    from burr.core.application import Application


def _no_next_action(app: Application[Any]) -> ValueError:
    return ValueError(
        f"Cannot stream result -- no next action found! Prior action was: {app.state.get(PRIOR_STEP)}. "
        "The graph has no transition out of it that holds; call reset_to_entrypoint() or update_state() "
        "to continue."
    )


def _stream_kwargs(app: Application[Any], meta: ActionMeta, seq: int) -> dict[str, Any]:
    return dict(action=meta.name, sequence_id=seq, app_id=app.uid, partition_key=app.partition_key)


def _item_reporter(
    app: Application[Any], meta: ActionMeta, seq: int, first_index: int, fire: Callable[..., Any]
) -> Callable[[Any], Any]:
    """The ``on_item`` callback firing ``post_stream_item`` (``fire`` is sync or async)."""
    from burr import system  # lazy: burr.system imports datetime, which `import burr.core` skips

    init_time = system.now()
    counter = [first_index - 1]
    first: list[datetime.datetime | None] = [None]
    kwargs = _stream_kwargs(app, meta, seq)

    def on_item(item: Any) -> Any:
        if first[0] is None:
            first[0] = system.now()
        counter[0] += 1
        return fire(
            "post_stream_item",
            item=item,
            item_index=counter[0],
            stream_initialize_time=init_time,
            first_stream_item_start_time=first[0],
            **kwargs,
        )

    return on_item


def _noop(item: Any) -> None:
    return None


async def _anoop(item: Any) -> None:
    return None


def _not_async_error(meta: ActionMeta) -> ValueError:
    return ValueError(
        f"Action: {meta.name} is not an async action, but is marked as streaming: astream_result() "
        "needs an async generator (`async def` with `yield`). Use stream_result() for sync streaming "
        "actions."
    )


@dataclasses.dataclass(frozen=True)
class _Kind:
    """What differs between the sync and the async stream driver; the plans below read only this.

    ``fire``/``run``/``step`` name the app's methods (looked up per call: ``_fire`` may be bound
    per instance), called through ``Call`` effects so the sync driver calls and the async one awaits.
    """

    is_async: bool
    fire: str
    run: str
    step: str
    container: Any
    noop: Callable[[Any], Any]
    stream_single: Callable[..., Any]
    stream_multi: Callable[..., Any]
    wrap: Callable[..., Any]
    interruptible: Callable[..., Any]
    wrong_kind: Callable[[ActionMeta], Exception | None]


_SYNC = _Kind(
    is_async=False,
    fire="_fire",
    run="_run",
    step="_step",
    container=StreamingResultContainer,
    noop=_noop,
    stream_single=engine.stream_single_sync,
    stream_multi=engine.stream_multi_sync,
    wrap=_guarded_stream.wrap_sync,
    interruptible=_guarded_stream.interruptible_sync,
    wrong_kind=lambda meta: engine._async_in_sync_error(meta) if meta.is_async else None,
)
_ASYNC = _Kind(
    is_async=True,
    fire="_afire",
    run="_arun",
    step="_astep",
    container=AsyncStreamingResultContainer,
    noop=_anoop,
    stream_single=engine.stream_single_async,
    stream_multi=engine.stream_multi_async,
    wrap=_guarded_stream.wrap_async,
    interruptible=_guarded_stream.interruptible_async,
    wrong_kind=lambda meta: None if meta.is_async else _not_async_error(meta),
)


# ---------------------------------------------------------------------------------------------
# the logic, once: plans yield ``Call`` effects (hooks, running steps) that a driver performs
# ---------------------------------------------------------------------------------------------


def _result_plan(
    app: Application[Any],
    kind: _Kind,
    method: ExecuteMethod,
    halt_after: list[str],
    halt_before: list[str] | None,
    inputs: dict[str, Any] | None,
) -> Plan[tuple[Action, Any]]:
    """``stream_result``: run up to the streamed action, then start streaming it."""
    fire = getattr(app, kind.fire)
    token = app._exec_mark(method) if app._hooks.exec else None
    owner = token is not None
    handed_off = False
    try:
        if owner:
            yield call(fire, "pre_run_execute_call", **app._exec_kwargs(method))
        hb, ha, inputs = app._process_control_flow_params(halt_before, halt_after, inputs)
        meta = app._next_meta()
        if meta is None:
            raise _no_next_action(app)
        if meta.name not in ha:
            yield call(getattr(app, kind.run), set(ha) | set(hb), set(), inputs)
            meta = app._next_meta()
            if meta is None:
                raise _no_next_action(app)
            if meta.name not in ha:
                out = meta.action, kind.container.pass_through(None, app.state)
                if owner:
                    yield call(fire, "post_run_execute_call", exception=None, **app._exec_kwargs(method))
                handed_off = True
                return out
        action, container, handed_off = yield from _start_plan(
            app, kind, meta, inputs, method if owner else None
        )
        return action, container
    except BaseException as e:
        if owner and not handed_off:
            yield call(fire, "post_run_execute_call", exception=e, **app._exec_kwargs(method))
        raise
    finally:
        if token is not None:
            app._exec_unmark(token)


def _start_plan(
    app: Application[Any],
    kind: _Kind,
    meta: ActionMeta,
    inputs: dict[str, Any],
    exec_method: ExecuteMethod | None,
) -> Plan[tuple[Action, Any, bool]]:
    """Start streaming ``meta``; returns ``(action, container, post_exec_is_handled)``."""
    fire = getattr(app, kind.fire)
    if not meta.streaming:
        ran = yield call(getattr(app, kind.step), inputs)
        assert ran is not None
        if exec_method is not None:
            yield call(fire, "post_run_execute_call", exception=None, **app._exec_kwargs(exec_method))
        return meta.action, kind.container.pass_through(ran[1], ran[2]), True
    hooks = app._hooks
    prev = app._state
    seq = engine.next_sequence_id(prev)
    mid = engine.with_sequence_id(prev, seq)
    app._state = mid
    processed = app._inputs(meta, inputs, seq)
    if INTERRUPT_KEY in prev:
        app._consumed_answer = engine.check_resume(meta, prev, processed)
    outcome = _guarded_stream.Outcome()
    if hooks.pre_step:
        yield call(fire, "pre_run_step", inputs=processed, **app._step_kwargs(meta, seq, mid))
    started = False  # a stream whose start was announced is always ended, sync and async alike
    try:
        if (wrong := kind.wrong_kind(meta)) is not None:
            raise wrong
        if hooks.stream:
            yield call(fire, "pre_start_stream", **_stream_kwargs(app, meta, seq))
            started = True
        on_item = (
            _item_reporter(app, meta, seq, 1 if meta.single_step else 0, fire) if hooks.stream else kind.noop
        )
        tracer = app._tracer_for(meta, processed, seq) if hooks.trace or meta.inject else None
        if meta.single_step:
            make = functools.partial(kind.stream_single, meta, mid, processed, on_item, tracer, lambda: prev)
        else:
            make = functools.partial(kind.stream_multi, meta, mid, processed, on_item, tracer)
        if meta.guarded:  # retries before the first item, error routes (keeps `mid` for new attempts)
            gen = kind.wrap(app, meta, prev, mid, seq, processed, make, outcome)
        else:
            gen = kind.interruptible(meta, prev, seq, make(), outcome)
        del make
    except Exception as e:
        app._log_failure(meta, mid, processed)
        if hooks.post_step:
            yield call(fire, "post_run_step", result=None, exception=e, **app._step_kwargs(meta, seq, mid))
        if started:
            yield call(fire, "post_end_stream", **_stream_kwargs(app, meta, seq))
        raise
    del mid

    def process_result(result: Any, returned: State[Any]) -> tuple[Any, State[Any]]:
        app._state = prev
        commit = engine.commit if outcome.paused else engine.commit_step  # a pause keeps its request
        new_state = commit(prev, returned, meta.name, seq)
        app._state = new_state
        return result, new_state

    def end_plan(result: Any, state: State[Any], exc: BaseException | None) -> Plan[None]:
        """The closing hooks, run by the container when the stream ends, is abandoned or raises."""
        try:
            if exc is not None:
                result, state = None, app._state
                # get() after an abandoned/failed stream returns the state the step started from,
                # with the step's sequence id already consumed (as Apache Burr does).
                container._result = (None, state)
                if not isinstance(exc, GeneratorExit):
                    app._log_failure(meta, state, processed)
            if hooks.post_step:
                yield call(
                    fire,
                    "post_run_step",
                    result=result,
                    exception=exc if exc is not None else outcome.routed,
                    **app._step_kwargs(meta, seq, state, outcome.attempt),
                )
            if exc is None and hooks.transition:
                app._after_step(meta, seq)
        finally:
            try:
                if exec_method is not None:
                    yield call(fire, "post_run_execute_call", exception=exc, **app._exec_kwargs(exec_method))
            finally:
                if hooks.stream:
                    yield call(fire, "post_end_stream", **_stream_kwargs(app, meta, seq))

    callback: Callable[..., Any]
    if kind.is_async:

        async def callback(result: Any, state: State[Any], exc: BaseException | None) -> None:
            await run_async(end_plan(result, state, exc))

    else:

        def callback(result: Any, state: State[Any], exc: BaseException | None) -> None:
            run_sync(end_plan(result, state, exc))

    container = kind.container(gen, prev, process_result, callback)
    return meta.action, container, True


def _iterate_plan(
    app: Application[Any],
    kind: _Kind,
    method: ExecuteMethod,
    halt_after: list[str] | None,
    halt_before: list[str] | None,
    inputs: dict[str, Any] | None,
) -> Plan[None]:
    """``stream_iterate``: ``Emit`` ``(action, container)`` per step, finish it, stop at a halt."""
    if not kind.is_async:
        app.validate_correct_async_use()
    hb, ha, inputs = app._process_control_flow_params(halt_before, halt_after, inputs)
    fire = getattr(app, kind.fire)
    token = app._exec_mark(method) if app._hooks.exec else None
    owner = token is not None
    exc: BaseException | None = None
    try:
        if owner:
            yield call(fire, "pre_run_execute_call", **app._exec_kwargs(method))
        hb_set, ha_set = set(hb), set(ha)
        guard = app._loop_guard(method.value, hb, ha)
        while (meta := app._next_meta()) is not None:
            if guard is not None:
                guard()
            action, container, _ = yield from _start_plan(app, kind, meta, inputs, None)
            token = app._exec_yield(token)  # calls made while suspended fire their own hooks
            try:
                yield Emit((action, container))
            finally:
                token = app._exec_resume(owner, method)
            yield call(container.get)  # the caller may have stopped early: finish (or close) the step
            if _halts(app, meta, hb_set, ha_set):
                return
    except BaseException as e:
        exc = e
        raise
    finally:
        if owner:
            try:
                yield call(
                    fire, "post_run_execute_call", exception=app._reported(exc), **app._exec_kwargs(method)
                )
            finally:
                if token is not None:
                    app._exec_unmark(token)


def _halts(app: Application[Any], meta: ActionMeta, hb_set: set[str], ha_set: set[str]) -> bool:
    """After ``meta``'s stream finished: does ``stream_iterate``/``astream_iterate`` stop here?"""
    if INTERRUPT_KEY in app._state:  # a paused step waits for its answer
        return True
    nxt = app._next_meta()
    return (nxt is not None and nxt.name in hb_set) or meta.name in ha_set


# ---------------------------------------------------------------------------------------------
# sync drivers
# ---------------------------------------------------------------------------------------------


def stream_result(
    app: Application[Any], halt_after: list[str], halt_before: list[str] | None, inputs: dict[str, Any] | None
) -> tuple[Action, StreamingResultContainer[Any, Any]]:
    app.validate_correct_async_use()
    plan = _result_plan(app, _SYNC, ExecuteMethod.stream_result, halt_after, halt_before, inputs)
    return run_sync(plan)


def stream_iterate(
    app: Application[Any],
    halt_after: list[str] | None,
    halt_before: list[str] | None,
    inputs: dict[str, Any] | None,
) -> Generator[tuple[Action, StreamingResultContainer[Any, Any]], None, None]:
    # the plan starts on the first next(): argument errors surface there, as from a generator function
    plan = _iterate_plan(app, _SYNC, ExecuteMethod.stream_iterate, halt_after, halt_before, inputs)
    return iterate_sync(plan)


# ---------------------------------------------------------------------------------------------
# async drivers
# ---------------------------------------------------------------------------------------------


async def astream_result(
    app: Application[Any], halt_after: list[str], halt_before: list[str] | None, inputs: dict[str, Any] | None
) -> tuple[Action, AsyncStreamingResultContainer[Any, Any]]:
    plan = _result_plan(app, _ASYNC, ExecuteMethod.astream_result, halt_after, halt_before, inputs)
    return await run_async(plan)


def astream_iterate(
    app: Application[Any],
    halt_after: list[str] | None,
    halt_before: list[str] | None,
    inputs: dict[str, Any] | None,
) -> AsyncGenerator[tuple[Action, AsyncStreamingResultContainer[Any, Any]], None]:
    plan = _iterate_plan(app, _ASYNC, ExecuteMethod.astream_iterate, halt_after, halt_before, inputs)
    return iterate_async(plan)  # as in stream_iterate
