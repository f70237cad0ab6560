"""``Application._step``/``_astep``: one step, decide -> run -> commit, with its hooks.

The fast path here serves actions without policies or exception transitions (the common case,
tuned for overhead). Actions that have them run through ``burr.core._guarded``, whose single
protocol drives retries, timeouts and error routing for both sync and async. Both paths treat an
``Interrupt`` the same way: the step commits the state the action handed over plus the pending
request, and hooks see a completed step (pausing is not failing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from burr.core import _engine as engine
from burr.core import _guarded
from burr.core._engine import SEQUENCE_ID
from burr.core._plan import run_async, run_sync
from burr.core.application import _application_context
from burr.core.policies import INTERRUPT_KEY, Interrupt
from burr.core.state import State, _commit_ops, _vids
from burr.visibility.tracing import tracer_factory_context_var

if TYPE_CHECKING:
    from burr.core._engine import ActionMeta
    from burr.core.application import Application

StepOut = tuple["ActionMeta", Any, "State[Any]"]


def _failure(e: Exception, meta: ActionMeta) -> Exception | None:
    """None if ``e`` pauses the step (a valid Interrupt), else the exception the step fails with."""
    if isinstance(e, Interrupt):
        checked = engine.check_interrupt(meta, e)
        return None if checked is e else checked
    return e


def _decide(app: Application[Any], prev: State[Any]) -> ActionMeta | None:
    """``app._next_meta()`` for ``prev`` = ``app._state``, when it is not cached yet."""
    try:
        nxt = engine.decide(app._metas, app._entry_meta, prev)
    except Exception:
        # As in Apache Burr, a step takes its sequence id before choosing the action: a transition
        # condition that fails (e.g. a missing key) still consumes the id.
        app._state = engine.with_sequence_id(prev, engine.next_sequence_id(prev))
        raise
    app._next_for = prev
    app._next_val = nxt
    return nxt


def _shaped(meta: ActionMeta, returned: Any) -> tuple[Any, State[Any]]:
    """The action's return value as ``(result, state)``, checked (shared by both step drivers)."""
    if type(returned) is State and meta.plain_result:
        for key in meta.writes:
            if key not in returned._d:
                engine.check_writes(meta, returned)  # raises, naming the missing keys
        return {}, returned
    return engine.check_single(meta, returned)  # type: ignore[no-any-return]


def _settle_failure(
    app: Application[Any],
    meta: ActionMeta,
    prev: State[Any],
    mid: State[Any] | None,
    seq: int,
    processed: dict[str, Any],
    e: Exception,
) -> tuple[State[Any], Exception | None]:
    """After the action raised ``e``: set the app's state; return it and the step's failure.

    The failure is None when ``e`` is a valid Interrupt (the step pauses: it commits the state the
    action handed over plus the request). ``mid`` is None once the commit began.
    """
    failure = _failure(e, meta)
    if failure is None:
        new_state = app._state = engine.paused_state(prev, e, meta, seq)  # type: ignore[arg-type]
        return new_state, None
    new_state = app._state = mid if mid is not None else engine.abandoned_state(prev, seq)
    app._log_failure(meta, new_state, processed)
    return new_state, failure


def step_sync(app: Application[Any], inputs: dict[str, Any] | None) -> StepOut | None:
    # The hot path of step()/run()/iterate(): work that depends only on the action is precomputed
    # in its ActionMeta, and the common case (no inputs, a plain single-step action) calls the
    # user's function directly.
    prev = app._state
    if app._next_for is prev:
        meta = app._next_val
    else:  # = _decide(app, prev), inlined for step()
        try:
            meta = engine.decide(app._metas, app._entry_meta, prev)
        except Exception:
            app._state = engine.with_sequence_id(prev, engine.next_sequence_id(prev))
            raise
        app._next_for = prev
        app._next_val = meta
    d = prev._d
    seq = d.get(SEQUENCE_ID)
    seq = seq + 1 if type(seq) is int else engine.next_sequence_id(prev)
    # what the action sees: prev plus the id, sharing prev's op log (= engine.with_sequence_id, inlined)
    mid_d = d.copy()
    mid_d[SEQUENCE_ID] = seq
    mid = State.__new__(State)
    mid._d = mid_d
    mid._owned = True
    mid._typing_system = prev._typing_system
    mid._ops = prev._ops
    mid._base = prev._base
    mid._vid = next(_vids)
    del mid_d
    app._state = mid  # the id is consumed even if the step fails
    if meta is None:
        return None
    hooks = app._hooks
    processed = app._inputs(meta, inputs, seq) if inputs or meta.inject or meta.required else {}
    if INTERRUPT_KEY in d:
        # the answer goes to the paused action only, not to later steps of this call
        app._consumed_answer = engine.check_resume(meta, prev, processed)
    ctx = _application_context.set((app, meta.name, seq))
    try:
        tracer = app._tracer_for(meta, processed, seq) if hooks.trace or meta.inject else None
        tf = tracer_factory_context_var.set(tracer) if tracer is not None else None
        try:
            if meta.guarded:
                out = run_sync(_guarded.protocol(app, meta, prev, mid, seq, processed, _guarded.SYNC))
                if hooks.transition:
                    app._after_step(meta, seq)
                return out
            for hook in hooks.pre_step_fns:
                hook(
                    app_id=app._uid,
                    partition_key=app._partition_key,
                    sequence_id=seq,
                    state=mid,
                    action=meta.action,
                    attempt=1,
                    inputs=processed,
                )
            result: Any = None
            exc: Exception | None = None
            new_state: State[Any] | None = None
            try:
                call = meta.call_state
                if call is not None and not processed:
                    result, returned = _shaped(meta, call(mid))
                else:
                    result, returned = engine.run_sync(meta, mid, processed)
                mid = None  # type: ignore[assignment]  # only prev may hold lists at commit (O(1) appends)
                app._state = prev
                # reuse=True: `returned` may become the new State if no one else holds it
                new_state = _commit_ops(prev, returned, (meta.prior_op, ("set", SEQUENCE_ID, seq)), True)
                del returned
                if INTERRUPT_KEY in new_state._d:  # a completed step ends a pause
                    new_state = new_state.wipe(delete=[INTERRUPT_KEY])
                app._state = new_state
            except Exception as e:
                new_state, exc = _settle_failure(app, meta, prev, mid, seq, processed, e)
                if exc is not None:
                    result = None
                    if exc is e:
                        raise
                    raise exc from e
            finally:
                for hook in hooks.post_step_fns:
                    hook(
                        app_id=app._uid,
                        partition_key=app._partition_key,
                        sequence_id=seq,
                        state=new_state,
                        action=meta.action,
                        attempt=1,
                        result=result,
                        exception=exc,
                    )
        finally:
            if tf is not None:
                tracer_factory_context_var.reset(tf)
    finally:
        _application_context.reset(ctx)
    if hooks.transition:
        app._after_step(meta, seq)
    return meta, result, new_state


async def step_async(app: Application[Any], inputs: dict[str, Any] | None) -> StepOut | None:
    # step_sync's fast path, with awaits (keep the two in step). What can be shared without cost is
    # (_shaped, _settle_failure, _guarded.protocol); the commit stays inline in both because
    # _commit_ops' reuse check counts references, and a helper's frame would add one.
    prev = app._state
    meta = app._next_val if app._next_for is prev else _decide(app, prev)
    d = prev._d
    seq = d.get(SEQUENCE_ID)
    seq = seq + 1 if type(seq) is int else engine.next_sequence_id(prev)
    mid_d = d.copy()
    mid_d[SEQUENCE_ID] = seq
    mid = prev._derive(mid_d, ())
    del mid_d
    app._state = mid
    if meta is None:
        return None
    hooks = app._hooks
    processed = app._inputs(meta, inputs, seq) if inputs or meta.inject or meta.required else {}
    if INTERRUPT_KEY in d:
        app._consumed_answer = engine.check_resume(meta, prev, processed)
    ctx = _application_context.set((app, meta.name, seq))
    try:
        tracer = app._tracer_for(meta, processed, seq) if hooks.trace or meta.inject else None
        tf = tracer_factory_context_var.set(tracer) if tracer is not None else None
        try:
            if meta.guarded:
                out = await run_async(_guarded.protocol(app, meta, prev, mid, seq, processed, _guarded.ASYNC))
                if hooks.transition:
                    app._after_step(meta, seq)
                return out
            if hooks.pre_step:
                await app._afire("pre_run_step", inputs=processed, **app._step_kwargs(meta, seq, mid))
            result: Any = None
            exc: Exception | None = None
            new_state: State[Any] | None = None
            try:
                # fix #13: a sync action runs in place, as under step()
                call = meta.acall_state if meta.is_async else meta.call_state
                if call is not None and not processed:
                    result, returned = _shaped(meta, await call(mid) if meta.is_async else call(mid))
                else:
                    result, returned = await engine.run_async(meta, mid, processed)
                mid = None  # type: ignore[assignment]
                app._state = prev
                # reuse=True: `returned` may become the new State if no one else holds it
                new_state = _commit_ops(prev, returned, (meta.prior_op, ("set", SEQUENCE_ID, seq)), True)
                del returned
                if INTERRUPT_KEY in new_state._d:
                    new_state = new_state.wipe(delete=[INTERRUPT_KEY])
                app._state = new_state
            except Exception as e:
                new_state, exc = _settle_failure(app, meta, prev, mid, seq, processed, e)
                if exc is not None:
                    result = None
                    if exc is e:
                        raise
                    raise exc from e
            finally:
                if hooks.post_step:
                    await app._afire(
                        "post_run_step",
                        result=result,
                        exception=exc,
                        **app._step_kwargs(meta, seq, new_state),  # type: ignore[arg-type]
                    )
        finally:
            if tf is not None:
                tracer_factory_context_var.reset(tf)
    finally:
        _application_context.reset(ctx)
    if hooks.transition:
        app._after_step(meta, seq)
    return meta, result, new_state
