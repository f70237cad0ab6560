"""A step of an action that has policies (retry, timeout) or exception transitions.

The step's decisions (fire which hook, retry or not, how long to wait, route the error or raise)
live in one generator, ``protocol``, that never calls user code nor waits: it *yields* ``Call``
effects (run an attempt, fire hooks, sleep) from an ``Effects`` table and is sent their outcomes
(``burr.core._plan``). ``_step_drivers`` runs it as ``run_sync(protocol(..., SYNC))`` or
``run_async(protocol(..., ASYNC))``, so retries, timeouts and routing behave identically in
``step``/``run`` and ``astep``/``arun``.

Every attempt fires ``pre_run_step``/``post_run_step`` with ``attempt=n`` (1-based). A failed attempt
that will be retried reports ``will_retry=True`` and is *not* sent to persister hooks: a step is
persisted once, with its final outcome (a failed attempt changed no state).
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from burr.core import _engine as engine
from burr.core._plan import Plan, call
from burr.core.policies import ActionTimeoutError, Interrupt, error_record

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

    from burr.core._engine import ActionMeta
    from burr.core.application import Application
    from burr.core.state import State


@dataclasses.dataclass(frozen=True)
class Effects:
    """The I/O of a guarded step, as the sync or the async driver does it."""

    attempt: Callable[..., Any]  # (meta, state, inputs) -> (result, state): run one attempt
    fire: Callable[..., Any]  # (app, name, final, kwargs): final=False skips persister hooks
    sleep: Callable[[float], Any]


StepOut = tuple["ActionMeta", Any, "State[Any]"]


def protocol(
    app: Application[Any],
    meta: ActionMeta,
    prev: State[Any],
    mid: State[Any],
    seq: int,
    processed: dict[str, Any],
    fx: Effects,
) -> Plan[StepOut]:
    hooks = app._hooks
    policy = meta.policies.retry if meta.policies is not None else None

    def kw(state: State[Any], attempt: int) -> dict[str, Any]:
        return app._step_kwargs(meta, seq, state, attempt)

    attempt = 0
    while True:
        attempt += 1
        if hooks.pre_step:
            yield call(fx.fire, app, "pre_run_step", True, dict(inputs=processed, **kw(mid, attempt)))
        try:
            result, returned = yield call(fx.attempt, meta, mid, processed)
        except BaseException as e:
            exc: BaseException = e
        else:
            new_state = app._state = engine.commit_step(prev, returned, meta.name, seq)
            if hooks.post_step:
                post = dict(result=result, exception=None, **kw(new_state, attempt))
                yield call(fx.fire, app, "post_run_step", True, post)
            return meta, result, new_state
        handleable = True  # a misused Interrupt is a programming error: never retried nor routed
        if isinstance(exc, Interrupt):
            checked = engine.check_interrupt(meta, exc)
            if checked is exc:
                new_state = app._state = engine.paused_state(prev, exc, meta, seq)
                if hooks.post_step:
                    post = dict(result=None, exception=None, **kw(new_state, attempt))
                    yield call(fx.fire, app, "post_run_step", True, post)
                return meta, None, new_state
            checked.__cause__ = exc
            exc, handleable = checked, False
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit, CancelledError...
            raise exc
        if handleable and policy is not None and attempt < policy.max_attempts and policy.should_retry(exc):
            if hooks.post_step:
                post = dict(result=None, exception=exc, will_retry=True, **kw(mid, attempt))
                yield call(fx.fire, app, "post_run_step", False, post)
            delay = policy.delay(attempt)
            if delay > 0:
                yield call(fx.sleep, delay)
            continue
        record = error_record(exc, meta.name, seq, attempt)
        routed = handleable and any(condition.matches(record) for condition, _ in meta.error_routes)
        if routed:
            new_state = app._state = engine.routed_state(prev, record, meta.name, seq)
        else:
            new_state = app._state = mid
            app._log_failure(meta, new_state, processed)
        if hooks.post_step:
            post = dict(result=None, exception=exc, **kw(new_state, attempt))
            yield call(fx.fire, app, "post_run_step", True, post)
        if routed:
            return meta, None, new_state
        raise exc


# ---------------------------------------------------------------------------------------------
# running one attempt under a timeout
# ---------------------------------------------------------------------------------------------


def _in_thread(fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    """Run ``fn`` in a daemon thread (in a copy of this context); abandoned if nobody waits for it."""
    import concurrent.futures  # lazy: only timeouts need it

    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    ctx = contextvars.copy_context()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(ctx.run(fn))
        except BaseException as e:  # delivered to the waiter (if it still waits)
            future.set_exception(e)

    threading.Thread(target=target, name="burr-timeout-attempt", daemon=True).start()
    return future


def _drain_sync(meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> Any:
    """Run a streaming action to its end through the engine's stream (which enforces its timeouts)."""
    if meta.single_step:
        gen = engine.stream_single_sync(meta, state, inputs, _ignore, None, lambda: state)
    else:
        gen = engine.stream_multi_sync(meta, state, inputs, _ignore, None)
    for result, returned in gen:
        if returned is not None:
            return result, returned
    raise AssertionError("a stream always ends with its final state")  # pragma: no cover


async def _drain_async(meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> Any:
    if meta.single_step:
        gen = engine.stream_single_async(meta, state, inputs, _aignore, None, lambda: state)
    else:
        gen = engine.stream_multi_async(meta, state, inputs, _aignore, None)
    async for result, returned in gen:
        if returned is not None:
            return result, returned
    raise AssertionError("a stream always ends with its final state")  # pragma: no cover


def _ignore(item: Any) -> None:
    return None


async def _aignore(item: Any) -> None:
    return None


def _expired(meta: ActionMeta, limit: float, idle: float | None) -> ActionTimeoutError:
    return ActionTimeoutError(meta.name, limit, "idle" if limit == idle else "total")


def _call_sync(meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> Any:
    timeout = meta.policies.timeout if meta.policies is not None else None
    if timeout is None:
        return engine.run_sync(meta, state, inputs)
    if meta.is_async:
        raise engine._async_in_sync_error(meta)
    if meta.streaming:
        return _drain_sync(meta, state, inputs)
    import concurrent.futures  # lazy: only timeouts need it

    limit = timeout.first_limit
    future = _in_thread(lambda: engine.run_sync(meta, state, inputs))
    try:
        return future.result(timeout=limit)
    except concurrent.futures.TimeoutError:
        if future.done():  # the action itself raised a TimeoutError
            raise
        raise _expired(meta, limit, timeout.idle) from None


async def _call_async(meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> Any:
    timeout = meta.policies.timeout if meta.policies is not None else None
    if timeout is None:
        return await engine.run_async(meta, state, inputs)
    if meta.streaming:
        return await _drain_async(meta, state, inputs) if meta.is_async else _drain_sync(meta, state, inputs)
    import asyncio  # lazy: `import burr.core` must not pay for asyncio

    limit = timeout.first_limit
    task: asyncio.Future[Any]
    if meta.is_async:
        task = asyncio.ensure_future(engine.run_async(meta, state, inputs))
    else:  # a sync action cannot be cancelled: run it in a thread we can stop waiting for
        task = asyncio.wrap_future(_in_thread(lambda: engine.run_sync(meta, state, inputs)))
    done, _ = await asyncio.wait([task], timeout=limit)
    if not done:
        task.cancel()
        await asyncio.wait([task], timeout=1.0)  # let it unwind, but never hang on one ignoring cancellation
        raise _expired(meta, limit, timeout.idle)
    return task.result()


# ---------------------------------------------------------------------------------------------
# drivers
# ---------------------------------------------------------------------------------------------


def _attempt_adapters(app: Application[Any]) -> Any:
    """The app's hooks minus persister hooks (for attempts that will be retried)."""
    cached = app.__dict__.get("_attempt_adapter_set")
    if cached is None:
        from burr.core.persistence import PersisterHook, PersisterHookAsync
        from burr.lifecycle.internal import LifecycleAdapterSet

        kept = [
            a for a in app._adapter_set.adapters if not isinstance(a, (PersisterHook, PersisterHookAsync))
        ]
        cached = app.__dict__["_attempt_adapter_set"] = LifecycleAdapterSet(*kept)
    return cached


def _fire_sync(app: Application[Any], name: str, final: bool, kwargs: dict[str, Any]) -> None:
    target = app._adapter_set if final else _attempt_adapters(app)
    target.call_all_lifecycle_hooks_sync(name, **kwargs)


async def _fire_async(app: Application[Any], name: str, final: bool, kwargs: dict[str, Any]) -> None:
    target = app._adapter_set if final else _attempt_adapters(app)
    await target.call_all_lifecycle_hooks_sync_and_async(name, **kwargs)


async def _sleep_async(seconds: float) -> None:
    import asyncio  # lazy: `import burr.core` must not pay for asyncio

    await asyncio.sleep(seconds)


SYNC = Effects(attempt=_call_sync, fire=_fire_sync, sleep=time.sleep)
ASYNC = Effects(attempt=_call_async, fire=_fire_async, sleep=_sleep_async)
