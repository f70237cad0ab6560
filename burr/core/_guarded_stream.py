"""Failure handling for a step streamed by ``stream_result``/``astream_result``/``stream_iterate``.

The engine's stream generator is wrapped so that, while the caller iterates the container:

- an ``Interrupt`` pauses the step (the final pair carries the paused state);
- with a ``RetryPolicy``, a failure *before the first item* starts a new attempt (after the first
  item the caller has already seen output, so the failure stands);
- a failure an ``on_exception`` transition handles ends the stream normally with the routed state.

``Outcome`` tells the container's callbacks what happened, so hooks see the same events as in
``step``: one ``pre_run_step``/``post_run_step`` pair per attempt, the routed exception on the
final ``post_run_step``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, Callable

from burr.core import _engine as engine
from burr.core._guarded import ASYNC, SYNC, Effects
from burr.core._plan import Plan, call, run_async, run_sync
from burr.core.policies import ERROR_KEY, Interrupt, error_record

if TYPE_CHECKING:
    from burr.core._engine import ActionMeta
    from burr.core.application import Application
    from burr.core.state import State

Pair = tuple[Any, "State[Any] | None"]


class Outcome:
    """What the wrapped stream decided: the attempt it ended on, a routed exception, a pause."""

    __slots__ = ("attempt", "routed", "paused")

    def __init__(self) -> None:
        self.attempt = 1
        self.routed: Exception | None = None
        self.paused = False


def _paused_pair(meta: ActionMeta, prev: State[Any], exc: Interrupt, seq: int, outcome: Outcome) -> Pair:
    checked = engine.check_interrupt(meta, exc)
    if checked is not exc:
        raise checked from exc
    outcome.paused = True
    return None, engine.paused_returned(prev, exc, meta, seq)


def _routed_pair(
    meta: ActionMeta, prev: State[Any], exc: Exception, seq: int, outcome: Outcome
) -> Pair | None:
    record = error_record(exc, meta.name, seq, outcome.attempt)
    if not any(condition.matches(record) for condition, _ in meta.error_routes):
        return None
    outcome.routed = exc
    return None, prev.update(**{ERROR_KEY: record})


def _retry_delay(meta: ActionMeta, exc: Exception, items: int, outcome: Outcome) -> float | None:
    """Seconds to wait before another attempt, or None when the failure stands."""
    policy = meta.policies.retry if meta.policies is not None else None
    if items or policy is None or outcome.attempt >= policy.max_attempts or not policy.should_retry(exc):
        return None
    return policy.delay(outcome.attempt)


_RETRY: Any = object()  # _after_failure's answer when another attempt starts


def _after_failure(
    app: Application[Any],
    meta: ActionMeta,
    prev: State[Any],
    mid: State[Any],
    seq: int,
    processed: dict[str, Any],
    failure: Exception,
    items: int,
    outcome: Outcome,
    fx: Effects,
) -> Plan[Pair]:
    """What an attempt's failure leads to: the final pair (paused or routed), ``_RETRY``, or raise.

    Written once for both wrappers; ``fx`` fires the hooks and sleeps the sync or the async way.
    """
    if isinstance(failure, Interrupt):
        return _paused_pair(meta, prev, failure, seq, outcome)
    delay = _retry_delay(meta, failure, items, outcome)
    if delay is not None:
        hooks = app._hooks
        if hooks.post_step:
            post = dict(
                result=None,
                exception=failure,
                will_retry=True,
                **app._step_kwargs(meta, seq, mid, outcome.attempt),
            )
            yield call(fx.fire, app, "post_run_step", False, post)
        if delay > 0:
            yield call(fx.sleep, delay)
        outcome.attempt += 1
        if hooks.pre_step:
            pre = dict(inputs=processed, **app._step_kwargs(meta, seq, mid, outcome.attempt))
            yield call(fx.fire, app, "pre_run_step", True, pre)
        return _RETRY
    routed = _routed_pair(meta, prev, failure, seq, outcome)
    if routed is None:
        raise failure
    return routed


def wrap_sync(
    app: Application[Any],
    meta: ActionMeta,
    prev: State[Any],
    mid: State[Any],
    seq: int,
    processed: dict[str, Any],
    make: Callable[[], Generator[Pair, None, None]],
    outcome: Outcome,
) -> Generator[Pair, None, None]:
    while True:
        gen = make()
        items = 0
        try:
            for pair in gen:
                if pair[1] is None:
                    items += 1
                yield pair
            return
        except Exception as e:
            failure = e
        finally:
            gen.close()
        pair = run_sync(_after_failure(app, meta, prev, mid, seq, processed, failure, items, outcome, SYNC))
        if pair is not _RETRY:
            yield pair
            return


def interruptible_sync(
    meta: ActionMeta, prev: State[Any], seq: int, gen: Generator[Pair, None, None], outcome: Outcome
) -> Generator[Pair, None, None]:
    """The cheap wrapper for actions without policies: only an ``Interrupt`` is handled."""
    try:
        yield from gen
    except Interrupt as e:
        yield _paused_pair(meta, prev, e, seq, outcome)


async def wrap_async(
    app: Application[Any],
    meta: ActionMeta,
    prev: State[Any],
    mid: State[Any],
    seq: int,
    processed: dict[str, Any],
    make: Callable[[], AsyncGenerator[Pair, None]],
    outcome: Outcome,
) -> AsyncGenerator[Pair, None]:
    while True:
        gen = make()
        items = 0
        try:
            async for pair in gen:
                if pair[1] is None:
                    items += 1
                yield pair
            return
        except Exception as e:
            failure = e
        finally:
            await gen.aclose()
        plan = _after_failure(app, meta, prev, mid, seq, processed, failure, items, outcome, ASYNC)
        pair = await run_async(plan)
        if pair is not _RETRY:
            yield pair
            return


async def interruptible_async(
    meta: ActionMeta, prev: State[Any], seq: int, gen: AsyncGenerator[Pair, None], outcome: Outcome
) -> AsyncGenerator[Pair, None]:
    try:
        async for pair in gen:
            yield pair
    except Interrupt as e:
        yield _paused_pair(meta, prev, e, seq, outcome)
    finally:
        await gen.aclose()
