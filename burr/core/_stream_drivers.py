"""``stream_result``/``astream_result`` and ``stream_iterate``/``astream_iterate`` (spec section 5).

A streamed step is the engine's step split in two: everything up to ``pre_start_stream`` happens
when ``stream_result`` returns; the action's items flow as the caller iterates the container; the
commit and the closing hooks (``post_run_step``, ``post_run_execute_call``, ``post_end_stream``)
happen when the stream ends, is abandoned, or raises.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, Callable

from burr.core import _engine as engine
from burr.core import _guarded_stream
from burr.core._engine import PRIOR_STEP, ActionMeta
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


# ---------------------------------------------------------------------------------------------
# sync
# ---------------------------------------------------------------------------------------------


def stream_result(
    app: Application[Any], halt_after: list[str], halt_before: list[str] | None, inputs: dict[str, Any] | None
) -> tuple[Action, StreamingResultContainer[Any, Any]]:
    app.validate_correct_async_use()
    method = ExecuteMethod.stream_result
    token = app._exec_mark(method) if app._hooks.exec else None
    owner = token is not None
    handed_off = False
    try:
        if owner:
            app._fire("pre_run_execute_call", **app._exec_kwargs(method))
        hb, ha, inputs = app._process_control_flow_params(halt_before, halt_after, inputs)
        meta = app._next_meta()
        if meta is None:
            raise _no_next_action(app)
        if meta.name not in ha:
            app._run(set(ha) | set(hb), set(), inputs)
            meta = app._next_meta()
            if meta is None:
                raise _no_next_action(app)
            if meta.name not in ha:
                out = meta.action, StreamingResultContainer.pass_through(None, app.state)
                if owner:
                    app._fire("post_run_execute_call", exception=None, **app._exec_kwargs(method))
                handed_off = True
                return out
        action, container, handed_off = _start(app, meta, inputs, method if owner else None)
        return action, container
    except BaseException as e:
        if owner and not handed_off:
            app._fire("post_run_execute_call", exception=e, **app._exec_kwargs(method))
        raise
    finally:
        if token is not None:
            app._exec_unmark(token)


def _start(
    app: Application[Any], meta: ActionMeta, inputs: dict[str, Any], exec_method: ExecuteMethod | None
) -> tuple[Action, StreamingResultContainer[Any, Any], bool]:
    """Start streaming ``meta``; returns ``(action, container, post_exec_is_handled)``."""
    if not meta.streaming:
        ran = app._step(inputs)
        assert ran is not None
        if exec_method is not None:
            app._fire("post_run_execute_call", exception=None, **app._exec_kwargs(exec_method))
        return meta.action, StreamingResultContainer.pass_through(ran[1], ran[2]), True
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
        app._fire("pre_run_step", inputs=processed, **app._step_kwargs(meta, seq, mid))
    try:
        if meta.is_async:
            raise engine._async_in_sync_error(meta)
        if hooks.stream:
            app._fire("pre_start_stream", **_stream_kwargs(app, meta, seq))
        on_item = (
            _item_reporter(app, meta, seq, 1 if meta.single_step else 0, app._fire) if hooks.stream else _noop
        )
        tracer = app._tracer_for(meta, processed, seq) if hooks.trace or meta.inject else None
        if meta.single_step:
            make = functools.partial(
                engine.stream_single_sync, meta, mid, processed, on_item, tracer, lambda: prev
            )
        else:
            make = functools.partial(engine.stream_multi_sync, meta, mid, processed, on_item, tracer)
        if meta.guarded:  # retries before the first item, error routes (keeps `mid` for new attempts)
            gen = _guarded_stream.wrap_sync(app, meta, prev, mid, seq, processed, make, outcome)
        else:
            gen = _guarded_stream.interruptible_sync(meta, prev, seq, make(), outcome)
        del make
    except Exception as e:
        app._log_failure(meta, mid, processed)
        if hooks.post_step:
            app._fire("post_run_step", result=None, exception=e, **app._step_kwargs(meta, seq, mid))
        raise
    del mid

    def process_result(result: Any, returned: State[Any]) -> tuple[Any, State[Any]]:
        app._state = prev
        commit = engine.commit if outcome.paused else engine.commit_step  # a pause keeps its request
        new_state = commit(prev, returned, meta.name, seq)
        app._state = new_state
        return result, new_state

    def callback(result: Any, state: State[Any], exc: BaseException | None) -> None:
        try:
            if exc is not None:
                result, state = None, app._state
                # get() after an abandoned/failed stream returns the state the step started from,
                # with the step's sequence id already consumed (as Apache Burr does).
                container._result = (None, state)
                if not isinstance(exc, GeneratorExit):
                    app._log_failure(meta, state, processed)
            if hooks.post_step:
                app._fire(
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
                    app._fire("post_run_execute_call", exception=exc, **app._exec_kwargs(exec_method))
            finally:
                if hooks.stream:
                    app._fire("post_end_stream", **_stream_kwargs(app, meta, seq))

    container: StreamingResultContainer[Any, Any] = StreamingResultContainer(
        gen, prev, process_result, callback
    )
    return meta.action, container, True


def stream_iterate(
    app: Application[Any],
    halt_after: list[str] | None,
    halt_before: list[str] | None,
    inputs: dict[str, Any] | None,
) -> Generator[tuple[Action, StreamingResultContainer[Any, Any]], None, None]:
    app.validate_correct_async_use()
    hb, ha, inputs = app._process_control_flow_params(halt_before, halt_after, inputs)
    method = ExecuteMethod.stream_iterate
    token = app._exec_mark(method) if app._hooks.exec else None
    owner = token is not None
    exc: BaseException | None = None
    try:
        if owner:
            app._fire("pre_run_execute_call", **app._exec_kwargs(method))
        hb_set, ha_set = set(hb), set(ha)
        guard = app._loop_guard("stream_iterate", hb, ha)
        while (meta := app._next_meta()) is not None:
            if guard is not None:
                guard()
            action, container, _ = _start(app, meta, inputs, None)
            token = app._exec_yield(token)  # calls made while suspended fire their own hooks
            try:
                yield action, container
            finally:
                token = app._exec_resume(owner, method)
            container.get()
            if INTERRUPT_KEY in app._state:
                return
            nxt = app._next_meta()
            if (nxt is not None and nxt.name in hb_set) or meta.name in ha_set:
                return
    except BaseException as e:
        exc = e
        raise
    finally:
        if owner:
            try:
                app._fire("post_run_execute_call", exception=app._reported(exc), **app._exec_kwargs(method))
            finally:
                if token is not None:
                    app._exec_unmark(token)


# ---------------------------------------------------------------------------------------------
# async
# ---------------------------------------------------------------------------------------------


async def astream_result(
    app: Application[Any], halt_after: list[str], halt_before: list[str] | None, inputs: dict[str, Any] | None
) -> tuple[Action, AsyncStreamingResultContainer[Any, Any]]:
    method = ExecuteMethod.astream_result
    token = app._exec_mark(method) if app._hooks.exec else None
    owner = token is not None
    handed_off = False
    try:
        if owner:
            await app._afire("pre_run_execute_call", **app._exec_kwargs(method))
        hb, ha, inputs = app._process_control_flow_params(halt_before, halt_after, inputs)
        meta = app._next_meta()
        if meta is None:
            raise _no_next_action(app)
        if meta.name not in ha:
            await app._arun(set(ha) | set(hb), set(), inputs)
            meta = app._next_meta()
            if meta is None:
                raise _no_next_action(app)
            if meta.name not in ha:
                out = meta.action, AsyncStreamingResultContainer.pass_through(None, app.state)
                if owner:
                    await app._afire("post_run_execute_call", exception=None, **app._exec_kwargs(method))
                handed_off = True
                return out
        action, container, handed_off = await _astart(app, meta, inputs, method if owner else None)
        return action, container
    except BaseException as e:
        if owner and not handed_off:
            await app._afire("post_run_execute_call", exception=e, **app._exec_kwargs(method))
        raise
    finally:
        if token is not None:
            app._exec_unmark(token)


async def _astart(
    app: Application[Any], meta: ActionMeta, inputs: dict[str, Any], exec_method: ExecuteMethod | None
) -> tuple[Action, AsyncStreamingResultContainer[Any, Any], bool]:
    if not meta.streaming:
        ran = await app._astep(inputs)
        assert ran is not None
        if exec_method is not None:
            await app._afire("post_run_execute_call", exception=None, **app._exec_kwargs(exec_method))
        return meta.action, AsyncStreamingResultContainer.pass_through(ran[1], ran[2]), True
    hooks = app._hooks
    prev = app._state
    seq = engine.next_sequence_id(prev)
    mid = engine.with_sequence_id(prev, seq)
    app._state = mid
    processed = app._inputs(meta, inputs, seq)
    if INTERRUPT_KEY in prev:
        app._consumed_answer = engine.check_resume(meta, prev, processed)
    outcome = _guarded_stream.Outcome()

    async def end_stream() -> None:
        if hooks.stream:
            await app._afire("post_end_stream", **_stream_kwargs(app, meta, seq))

    if hooks.pre_step:
        await app._afire("pre_run_step", inputs=processed, **app._step_kwargs(meta, seq, mid))
    try:
        if not meta.is_async:
            raise ValueError(
                f"Action: {meta.name} is not an async action, but is marked as streaming: astream_result() "
                "needs an async generator (`async def` with `yield`). Use stream_result() for sync streaming "
                "actions."
            )
        if hooks.stream:
            await app._afire("pre_start_stream", **_stream_kwargs(app, meta, seq))
        on_item = (
            _item_reporter(app, meta, seq, 1 if meta.single_step else 0, app._afire)
            if hooks.stream
            else _anoop
        )
        tracer = app._tracer_for(meta, processed, seq) if hooks.trace or meta.inject else None
        if meta.single_step:
            amake = functools.partial(
                engine.stream_single_async, meta, mid, processed, on_item, tracer, lambda: prev
            )
        else:
            amake = functools.partial(engine.stream_multi_async, meta, mid, processed, on_item, tracer)
        if meta.guarded:
            gen = _guarded_stream.wrap_async(app, meta, prev, mid, seq, processed, amake, outcome)
        else:
            gen = _guarded_stream.interruptible_async(meta, prev, seq, amake(), outcome)
        del amake
    except Exception as e:
        app._log_failure(meta, mid, processed)
        if hooks.post_step:
            await app._afire("post_run_step", result=None, exception=e, **app._step_kwargs(meta, seq, mid))
        await end_stream()
        raise
    del mid

    def process_result(result: Any, returned: State[Any]) -> tuple[Any, State[Any]]:
        app._state = prev
        commit = engine.commit if outcome.paused else engine.commit_step  # a pause keeps its request
        new_state = commit(prev, returned, meta.name, seq)
        app._state = new_state
        return result, new_state

    async def callback(result: Any, state: State[Any], exc: BaseException | None) -> None:
        try:
            if exc is not None:
                result, state = None, app._state
                container._result = (None, state)  # as in the sync driver
                if not isinstance(exc, GeneratorExit):
                    app._log_failure(meta, state, processed)
            if hooks.post_step:
                await app._afire(
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
                    await app._afire("post_run_execute_call", exception=exc, **app._exec_kwargs(exec_method))
            finally:
                await end_stream()

    container: AsyncStreamingResultContainer[Any, Any] = AsyncStreamingResultContainer(
        gen, prev, process_result, callback
    )
    return meta.action, container, True


async def astream_iterate(
    app: Application[Any],
    halt_after: list[str] | None,
    halt_before: list[str] | None,
    inputs: dict[str, Any] | None,
) -> AsyncGenerator[tuple[Action, AsyncStreamingResultContainer[Any, Any]], None]:
    hb, ha, inputs = app._process_control_flow_params(halt_before, halt_after, inputs)
    method = ExecuteMethod.astream_iterate
    token = app._exec_mark(method) if app._hooks.exec else None
    owner = token is not None
    exc: BaseException | None = None
    try:
        if owner:
            await app._afire("pre_run_execute_call", **app._exec_kwargs(method))
        hb_set, ha_set = set(hb), set(ha)
        guard = app._loop_guard("astream_iterate", hb, ha)
        while (meta := app._next_meta()) is not None:
            if guard is not None:
                guard()
            action, container, _ = await _astart(app, meta, inputs, None)
            token = app._exec_yield(token)  # as in stream_iterate
            try:
                yield action, container
            finally:
                token = app._exec_resume(owner, method)
            await container.get()
            if INTERRUPT_KEY in app._state:
                return
            nxt = app._next_meta()
            if (nxt is not None and nxt.name in hb_set) or meta.name in ha_set:
                return
    except BaseException as e:
        exc = e
        raise
    finally:
        if owner:
            try:
                await app._afire(
                    "post_run_execute_call", exception=app._reported(exc), **app._exec_kwargs(method)
                )
            finally:
                if token is not None:
                    app._exec_unmark(token)
