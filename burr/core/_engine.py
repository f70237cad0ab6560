"""The step engine: decide, run, commit.

``decide`` (which action is next), input processing and ``check_*``/``commit`` (validate what the
action returned and build the next State) are pure. Only ``run_*`` and the ``stream_*`` generators
call user code; they are the one place sync and async differ. ``Application``'s drivers
(``step``/``astep``, ``run``, ``stream_result``, ...) are thin loops around these functions.

Per-action facts (inputs, injectables, single_step, is_async, transitions) are computed once when
the application is built, so a step costs a few dict lookups plus the user's code.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, Callable

from burr.core.action import FunctionBasedAction
from burr.core.policies import (
    ERROR_KEY,
    INTERRUPT_KEY,
    ActionTimeoutError,
    Interrupt,
    PendingInterrupt,
    current_error,
    is_exception_condition,
)
from burr.core.policies import resolve as resolve_policies
from burr.core.state import Op, State, _commit_ops
from burr.visibility.tracing import tracer_factory_context_var

if TYPE_CHECKING:
    from burr.core.action import Action
    from burr.core.graph import Graph

logger = logging.getLogger("burr.core.application")

PRIOR_STEP = "__PRIOR_STEP"
SEQUENCE_ID = "__SEQUENCE_ID"
INJECTABLES = ("__context", "__tracer")

Evaluator = Callable[[State[Any]], bool]


class ActionMeta:
    """What the engine needs to know about one action, computed once at build."""

    __slots__ = (
        "action",
        "name",
        "single_step",
        "streaming",
        "is_async",
        "required",
        "declared",
        "inject",
        "remap",
        "reads",
        "writes",
        "writes_set",
        "result_type",
        "transitions",
        "error_routes",
        "policies",
        "guarded",
        "tags",
        "call_state",
        "acall_state",
        "plain_result",
        "prior_op",
    )

    def __init__(self, action: Action) -> None:
        self.action: Any = action  # duck-typed: run/run_and_update/stream_run... by kind
        self.name: str = action.name
        self.single_step: bool = bool(action.single_step)
        self.streaming: bool = bool(action.streaming)
        self.is_async: bool = bool(action.is_async())
        required, optional = action.optional_and_required_inputs
        self.required = frozenset(required)
        self.declared = frozenset(required) | frozenset(optional)
        self.inject = tuple(k for k in INJECTABLES if k in self.declared)
        self.remap = _mangled_names(_user_callable(action, self.single_step, self.streaming), self.declared)
        self.reads = tuple(action.reads)
        self.writes = tuple(action.writes)
        self.writes_set = frozenset(self.writes)
        self.result_type = _result_type(action)
        # (evaluator or None for an always-true default, condition, target, the condition's name)
        self.transitions: list[tuple[Evaluator | None, Any, ActionMeta, Any]] = []
        # on_exception transitions, (condition, target), taken only right after this action failed
        self.error_routes: list[tuple[Any, ActionMeta]] = []
        # burr.core.policies.ActionPolicies: the action's own (@retry/@timeout); the builder may
        # replace them with its resolution (set_policies)
        self.policies: Any = resolve_policies(action, {}, {})
        self.guarded = self.policies is not None  # or error routes: steps run through burr.core._guarded
        self.tags = tuple(getattr(action, "tags", None) or ())
        # The step loop's fast path: a callable taking just the state, for sync single-step actions
        # run without inputs (None: go through run_sync).
        self.call_state: Callable[[State[Any]], Any] | None = None
        self.acall_state: Callable[[State[Any]], Any] | None = None  # the same for async actions
        if self.single_step and not self.streaming:
            if self.is_async:
                self.acall_state = _state_callable(action)
            else:
                self.call_state = _state_callable(action)
        # whether the ``{}`` result of an action that returns just a State passes the result-type check
        self.plain_result = isinstance({}, self.result_type)
        self.prior_op: tuple[str, str, Any] = ("set", PRIOR_STEP, self.name)  # what a commit records


def _state_callable(action: Action) -> Callable[[State[Any]], Any]:
    if (
        type(action) is FunctionBasedAction
        and not action._bound_params
        and "run_and_update" not in vars(action)  # not patched on the instance
    ):
        # the user's function itself: what FunctionBasedAction.run_and_update(state) would call
        return action._fn  # type: ignore[no-any-return]
    return action.run_and_update  # type: ignore[attr-defined,no-any-return]


def _user_callable(action: Action, single_step: bool, streaming: bool) -> Any:
    if streaming:
        return getattr(action, "stream_run_and_update" if single_step else "stream_run", None)
    return getattr(action, "run_and_update" if single_step else "run", None)


def _mangled_names(fn: Any, declared: frozenset[str]) -> dict[str, str] | None:
    """``__context`` -> ``_Cls__context`` when the method was written in a class body (Python mangles it)."""
    dunders = [n for n in declared if n.startswith("__")]
    if fn is None or not dunders:
        return None
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    out = {}
    for name in dunders:
        if name in params:
            continue
        for p in params:
            if p.startswith("_") and not p.startswith("__") and p.endswith(name):
                out[name] = p
    return out or None


def _result_type(action: Action) -> Any:
    try:
        t = action.schema.intermediate_result_type()
    except Exception:
        return dict
    return t if isinstance(t, (type, tuple)) else dict


def _evaluator(condition: Any) -> Evaluator | None:
    if getattr(condition, "_always_true", False):
        return None
    pick = getattr(condition, "_engine_evaluator", None)
    if pick is not None:
        return pick()  # type: ignore[no-any-return]
    fast = getattr(condition, "_evaluate", None)
    if fast is not None:
        return fast  # type: ignore[no-any-return]
    key = getattr(condition, "KEY", "PROCEED")
    return lambda state: bool(condition.run(state)[key])


_NO_NAME: Any = object()


def compile_graph(graph: Graph) -> dict[str, ActionMeta]:
    """Per-action metadata with each action's outgoing transitions, in declaration order."""
    metas = {a.name: ActionMeta(a) for a in graph.actions}
    for name, meta in metas.items():
        for target, condition in graph.outgoing(name):
            if is_exception_condition(condition):
                meta.error_routes.append((condition, metas[target.name]))
                meta.guarded = True
            else:
                name = getattr(condition, "name", _NO_NAME)
                if name is _NO_NAME:
                    name = str(condition)
                meta.transitions.append((_evaluator(condition), condition, metas[target.name], name))
    return metas


def set_policies(metas: dict[str, ActionMeta], policies: dict[str, Any]) -> None:
    """Attach the builder's resolved ``ActionPolicies`` (by action name; absent = none)."""
    for name, meta in metas.items():
        meta.policies = policies.get(name)
        meta.guarded = meta.policies is not None or bool(meta.error_routes)


# ---------------------------------------------------------------------------------------------
# decide
# ---------------------------------------------------------------------------------------------


def decide(metas: dict[str, ActionMeta], entrypoint: ActionMeta, state: State[Any]) -> ActionMeta | None:
    """The next action: the entrypoint before any step, else the first transition whose condition holds."""
    d = state._d
    prior = d.get(PRIOR_STEP)
    if type(prior) is not str:  # None before the first step (or an odd value: the general path)
        prior = state.get(PRIOR_STEP)
        if prior is None:
            return entrypoint
    meta = metas.get(prior)
    if meta is None:
        raise ValueError(
            f"The state says the last action run was `{prior}`, but this application has no action of that "
            f"name (actions: {sorted(metas)}). Was the state loaded from a different application? Call "
            "reset_to_entrypoint() to start over."
        )
    if meta.error_routes or INTERRUPT_KEY in d:
        special = _special_next(metas, meta, state)
        if special is not None:
            return special[0]
    for evaluate, _, target, _ in meta.transitions:
        if evaluate is None or evaluate(state):
            return target
    return None


def _special_next(
    metas: dict[str, ActionMeta], meta: ActionMeta, state: State[Any]
) -> tuple[ActionMeta | None, list[dict[str, Any]]] | None:
    """The next action when the last step paused (its action again) or failed and was routed."""
    pending = state.get(INTERRUPT_KEY)
    if pending is not None:
        name = pending.get("action") if isinstance(pending, dict) else None
        if name not in metas:
            raise ValueError(
                f"The state holds a pending interrupt for action `{name}`, which this application does not have "
                f"(actions: {sorted(metas)}). Remove `{INTERRUPT_KEY}` from the state or add the action."
            )
        return metas[name], []
    if meta.error_routes:
        record = current_error(state)
        if record is not None:
            evaluated = []
            for condition, target in meta.error_routes:
                value = condition.matches(record)
                evaluated.append({"to": target.name, "condition": condition.name, "value": value})
                if value:
                    return target, evaluated
            return None, evaluated
    return None


def decide_recorded(
    metas: dict[str, ActionMeta], entrypoint: ActionMeta, state: State[Any]
) -> tuple[ActionMeta | None, list[dict[str, Any]]]:
    """``decide`` that also returns each condition it evaluated (for transition hooks)."""
    d = state._d
    prior = d.get(PRIOR_STEP)
    if type(prior) is not str:  # as in decide
        prior = state.get(PRIOR_STEP)
        if prior is None:
            return entrypoint, []
    evaluated: list[dict[str, Any]] = []
    meta = metas.get(prior)
    if meta is None:
        return decide(metas, entrypoint, state), evaluated
    if meta.error_routes or INTERRUPT_KEY in d:
        special = _special_next(metas, meta, state)
        if special is not None:
            return special
    for evaluate, _, target, name in meta.transitions:
        value = True if evaluate is None else bool(evaluate(state))
        evaluated.append({"to": target.name, "condition": name, "value": value})
        if value:
            return target, evaluated
    return None, evaluated


def next_sequence_id(state: State[Any]) -> int:
    seq = state.get(SEQUENCE_ID)
    return 0 if seq is None else seq + 1


def with_sequence_id(state: State[Any], seq: int) -> State[Any]:
    """``state`` with ``__SEQUENCE_ID`` set: what the action sees while it runs.

    The new State shares ``state``'s op log (the id change is internal: ``commit`` re-derives it),
    so the step's ops stay exactly the action's own and the commit takes its fast path.
    """
    d = state._d.copy()
    d[SEQUENCE_ID] = seq
    return state._derive(d, ())


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------


def check_reserved_inputs(inputs: dict[str, Any]) -> None:
    reserved = [k for k in inputs if k.startswith("__")]
    if reserved:
        raise ValueError(
            f"Inputs starting with a double underscore ({reserved}) are reserved for internal use/injected "
            "inputs (__context, __tracer are provided by the framework). Rename these inputs."
        )


def process_inputs(
    meta: ActionMeta, inputs: dict[str, Any] | None, inject: Callable[[str], Any]
) -> dict[str, Any]:
    """The inputs the action gets: the declared ones given, plus injected ``__context``/``__tracer``."""
    if inputs:
        check_reserved_inputs(inputs)
        declared = meta.declared
        processed = {k: v for k, v in inputs.items() if k in declared}
    else:
        processed = {}
    for name in meta.inject:
        if name not in processed:
            processed[name] = inject(name)
    if meta.required and not meta.required <= processed.keys():
        missing = sorted(meta.required - processed.keys())
        raise ValueError(
            f"Action {meta.name} is missing required inputs: {missing}. Has inputs: {sorted(processed)}. "
            f"Pass them with inputs={{...}} to step()/run()/iterate()/stream_result(), or give the "
            "parameters defaults to make them optional."
        )
    return processed


def _call_kwargs(meta: ActionMeta, inputs: dict[str, Any]) -> dict[str, Any]:
    if meta.remap is None:
        return inputs
    return {meta.remap.get(k, k): v for k, v in inputs.items()}


# ---------------------------------------------------------------------------------------------
# run (the only phase that differs between sync and async)
# ---------------------------------------------------------------------------------------------


def _async_in_sync_error(meta: ActionMeta) -> ValueError:
    return ValueError(
        f"Cannot run async: {meta.name} in non-async context. Use astep()/aiterate()/arun() instead "
        f"(astream_result() for streaming): action `{meta.name}` is async (async def / async generator). "
        "Build with abuild() if your persister is async."
    )


def run_sync(meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> tuple[Any, State[Any]]:
    """Call the action on ``state`` and return ``(result, returned_state)``, validated."""
    if meta.is_async:
        raise _async_in_sync_error(meta)
    action = meta.action
    if meta.single_step:
        if not inputs:
            return check_single(meta, action.run_and_update(state))
        return check_single(meta, action.run_and_update(state, **_call_kwargs(meta, inputs)))
    result = action.run(state.subset(*meta.reads), **_call_kwargs(meta, inputs))
    return check_reduce(meta, result, state)


async def run_async(meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> tuple[Any, State[Any]]:
    """``run_sync`` for ``astep``: awaits async actions, runs sync ones in place (fix #13)."""
    if not meta.is_async:
        return run_sync(meta, state, inputs)
    action = meta.action
    if meta.single_step:
        return check_single(meta, await action.run_and_update(state, **_call_kwargs(meta, inputs)))
    result = await action.run(state.subset(*meta.reads), **_call_kwargs(meta, inputs))
    return check_reduce(meta, result, state)


# ---------------------------------------------------------------------------------------------
# commit
# ---------------------------------------------------------------------------------------------


def check_single(meta: ActionMeta, out: Any) -> tuple[Any, State[Any]]:
    """Normalise a single-step action's output to ``(result, state)`` and validate it."""
    if isinstance(out, State):
        result: Any = {}
        returned = out
    elif type(out) is tuple and len(out) == 2 and isinstance(out[1], State):
        result, returned = out
    else:
        raise ValueError(
            f"Single step action: {meta.name} must return either *just* the newly updated State or a tuple "
            f"of (result: dict, state: State). Got: {type(out).__name__} ({out!r:.200}). "
            + (
                "It returned a coroutine: run async actions with astep()/arun()."
                if inspect.iscoroutine(out)
                else ""
            )
        )
    check_result_type(meta, result)
    check_writes(meta, returned)
    return result, returned


def check_result_type(meta: ActionMeta, result: Any) -> None:
    if not isinstance(result, meta.result_type):
        raise ValueError(
            f"Action {meta.name} returned a non-dict result: {result!r:.200} (a {type(result).__name__}). "
            "All results must be dictionaries (or the action schema's result type)."
        )


def check_writes(meta: ActionMeta, returned: State[Any]) -> None:
    for key in meta.writes:
        if key not in returned:
            missing = {k for k in meta.writes if k not in returned}
            raise ValueError(
                f"State is missing write keys after running: {meta.name}. Missing keys are: {missing}. "
                f"Has writes: {list(meta.writes)}. Set them in the State the action returns, or remove "
                "them from `writes`."
            )


def check_reduce(meta: ActionMeta, result: Any, state: State[Any]) -> tuple[Any, State[Any]]:
    """Run a two-step action's reducer on the full state and validate what it wrote."""
    check_result_type(meta, result)
    returned = meta.action.update(result, state)
    undeclared = {k for k in returned if k not in state and k not in meta.writes_set}
    if undeclared:
        raise ValueError(
            f"Action {meta.name} attempted to write to keys {undeclared} that it did not declare. "
            f"It declared: ({list(meta.writes)})! Add them to the action's `writes`."
        )
    check_writes(meta, returned)
    return result, returned


def internal_ops(name: str, seq: int) -> tuple[Op, Op]:
    """The internal keys a commit sets (in this order): the action run and the step's sequence id."""
    return ("set", PRIOR_STEP, name), ("set", SEQUENCE_ID, seq)


def commit(prev: State[Any], returned: State[Any], name: str, seq: int) -> State[Any]:
    """The application's next State (Apache Burr's merge rule, O(1) list appends; see ``state._commit``)."""
    return _commit_ops(prev, returned, internal_ops(name, seq))


def commit_step(prev: State[Any], returned: State[Any], name: str, seq: int) -> State[Any]:
    """``commit``, and the end of a pause: a completed step clears the pending interrupt."""
    new_state = _commit_ops(prev, returned, internal_ops(name, seq))
    if INTERRUPT_KEY in new_state._d:
        new_state = new_state.wipe(delete=[INTERRUPT_KEY])
    return new_state


def routed_state(prev: State[Any], record: dict[str, Any], name: str, seq: int) -> State[Any]:
    """The state after a failure an ``on_exception`` transition handles: the prior state plus the record."""
    return _commit_ops(prev, prev.update(**{ERROR_KEY: record}), internal_ops(name, seq))


def check_interrupt(meta: ActionMeta, exc: Interrupt) -> Exception:
    """``exc`` if the action can be resumed with its answer, else the error to raise instead."""
    if exc.answer_input not in meta.declared:
        error = ValueError(
            f"Action `{meta.name}` raised Interrupt(answer_input={exc.answer_input!r}) but has no parameter "
            f"`{exc.answer_input}`, so the answer could never reach it. Add `{exc.answer_input}: ... = None` to "
            "its signature (or pass answer_input= naming an existing parameter)."
        )
        error.__cause__ = exc
        return error
    if exc.state is not None and not isinstance(exc.state, State):
        error = ValueError(
            f"Action `{meta.name}` raised Interrupt(state={exc.state!r:.100}): state must be a State (e.g. "
            "state.update(draft=...)) or None."
        )
        error.__cause__ = exc
        return error
    return exc


def paused_returned(prev: State[Any], exc: Interrupt, meta: ActionMeta, seq: int) -> State[Any]:
    """What a paused action "returns": the state it handed over plus the pending interrupt record."""
    pending = PendingInterrupt(meta.name, exc.request, exc.answer_input, seq)
    returned = exc.state if exc.state is not None else prev
    return returned.update(**{INTERRUPT_KEY: pending.to_record()})


def paused_state(prev: State[Any], exc: Interrupt, meta: ActionMeta, seq: int) -> State[Any]:
    """The state after an action paused (``paused_returned`` committed)."""
    return _commit_ops(prev, paused_returned(prev, exc, meta, seq), internal_ops(meta.name, seq))


def check_resume(meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> str | None:
    """A paused application continues only with the answer it waits for; returns that input's name."""
    pending = PendingInterrupt.from_state(state)
    if pending is None or pending.action != meta.name:
        return None
    if pending.answer_input in inputs:
        return pending.answer_input
    raise ValueError(
        f"The application is paused at `{meta.name}` (step {pending.sequence_id}) waiting for input "
        f"`{pending.answer_input}` (request: {pending.request!r:.200}). Continue with "
        f"run(inputs={{'{pending.answer_input}': ...}}) (or step/iterate/arun with the same inputs)."
    )


def abandoned_state(prev: State[Any], seq: int) -> State[Any]:
    """The state after a step that did not complete: unchanged, but the sequence id is consumed."""
    return prev.update(**{SEQUENCE_ID: seq})


# ---------------------------------------------------------------------------------------------
# streaming runs: generators of (item, None) ... then (final_result, returned_state)
# ---------------------------------------------------------------------------------------------

OnItem = Callable[[Any], None]


class StreamTimer:
    """A streaming action's ``TimeoutPolicy``: ``seconds`` for the whole stream, ``idle`` between items."""

    __slots__ = ("name", "idle", "total", "started", "last")

    def __init__(self, name: str, idle: float | None, total: float | None) -> None:
        self.name, self.idle, self.total = name, idle, total
        self.started = self.last = time.monotonic()

    @staticmethod
    def start(meta: ActionMeta) -> StreamTimer | None:
        timeout = meta.policies.timeout if meta.policies is not None else None
        return None if timeout is None else StreamTimer(meta.name, timeout.idle, timeout.seconds)

    def _remaining(self, now: float) -> tuple[float, str]:
        """Seconds left before the next limit, and which limit that is."""
        left, kind = float("inf"), "total"
        if self.total is not None:
            left = self.started + self.total - now
        if self.idle is not None and self.last + self.idle - now < left:
            left, kind = self.last + self.idle - now, "idle"
        return left, kind

    def _expired(self, kind: str) -> ActionTimeoutError:
        limit = self.idle if kind == "idle" else self.total
        return ActionTimeoutError(self.name, float(limit or 0), kind)

    def check(self) -> None:
        """After an item arrived (sync streams): raise if it came too late."""
        now = time.monotonic()
        left, kind = self._remaining(now)
        if left < 0:
            raise self._expired(kind)
        self.last = now

    async def wait(self, awaitable: Any) -> Any:
        """Await the next item (async streams), cancelling it when a limit passes."""
        began = time.monotonic()
        left, kind = self._remaining(began)
        import asyncio  # lazy: `import burr.core` must not pay for asyncio

        try:
            item = await asyncio.wait_for(awaitable, max(left, 0))
        except asyncio.TimeoutError:
            if time.monotonic() - began < left:
                raise  # the action's own TimeoutError
            raise self._expired(kind) from None
        self.last = time.monotonic()
        return item


_NOTHING: Any = object()


def _yield_shape(meta: ActionMeta, item: Any) -> tuple[Any, State[Any] | None]:
    if type(item) is dict:  # 0.43: a bare dict is an intermediate item
        return item, None
    if not isinstance(item, tuple) or len(item) != 2:
        raise ValueError(
            f"Action {meta.name} must yield a tuple of (result, state_update) -- (dict, None) for "
            f"intermediate items and (dict, State) last. Got: {item!r:.200}"
        )
    return item


def _no_state_error(meta: ActionMeta) -> ValueError:
    return ValueError(
        f"Action {meta.name} did not return a state update. For streaming actions, the last yield "
        "statement must be a tuple of (result, state_update), e.g. `yield {'response': r}, state.update(...)`."
    )


def _post_yield_failure(meta: ActionMeta, count: int) -> None:
    logger.exception(
        "Streaming action %s raised after yielding %d item(s); finishing the stream with what it produced.",
        meta.name,
        count,
    )


# The four stream runners below keep their per-item loops as sync/async twins on purpose: a shared
# driver would cost a call per item, which is more than an item costs (bench/core_stream.py). What
# happens before and after the loop is shared here.


def _checked_final(meta: ActionMeta, final: tuple[Any, Any]) -> tuple[Any, State[Any]]:
    """A single-step stream's last ``(result, state)``, checked before the commit."""
    result, returned = final
    if not isinstance(returned, State):
        raise _no_state_error(meta)
    check_result_type(meta, result)
    check_writes(meta, returned)
    return result, returned


def _reduced_final(meta: ActionMeta, pending: Any, state: State[Any]) -> tuple[Any, State[Any]]:
    """A multi-step stream's last item reduced to ``(result, state)`` (``pending`` = that item)."""
    if pending is _NOTHING:
        raise _no_state_error(meta)
    return check_reduce(meta, pending, state)


def stream_single_sync(
    meta: ActionMeta,
    state: State[Any],
    inputs: dict[str, Any],
    on_item: OnItem,
    tracer: Any,
    unchanged: Callable[[], State[Any]],
) -> Generator[tuple[Any, State[Any] | None], None, None]:
    gen = meta.action.stream_run_and_update(state, **_call_kwargs(meta, inputs))
    del state  # the user's generator frame holds it; we must not outlive that (O(1) appends)
    timer = StreamTimer.start(meta)
    last: Any = _NOTHING
    count = 0
    final: Any = None
    try:
        while final is None:
            token = tracer_factory_context_var.set(tracer) if tracer is not None else None
            # An error raised after some items still fails the step, as in Apache Burr: a single-step
            # stream has no state to finish with (only multi-step streams degrade gracefully).
            try:
                item = next(gen)
            except StopIteration:
                raise _no_state_error(meta) from None
            finally:
                if token is not None:
                    tracer_factory_context_var.reset(token)
            if timer is not None:
                timer.check()
            result, new_state = _yield_shape(meta, item)
            if new_state is None:
                count += 1
                last = result
                on_item(result)
                yield result, None
            else:
                final = (result, new_state)
    finally:
        gen.close()  # release the generator's frame (and its references) before we commit
    del gen, item, last
    out = _checked_final(meta, final)
    del final  # the commit may reuse lists only we hold (O(1) appends)
    yield out


def stream_multi_sync(
    meta: ActionMeta,
    state: State[Any],
    inputs: dict[str, Any],
    on_item: OnItem,
    tracer: Any,
) -> Generator[tuple[Any, State[Any] | None], None, None]:
    gen = meta.action.stream_run(state.subset(*meta.reads), **_call_kwargs(meta, inputs))
    timer = StreamTimer.start(meta)
    pending: Any = _NOTHING
    count = 0
    try:
        while True:
            token = tracer_factory_context_var.set(tracer) if tracer is not None else None
            try:
                item = next(gen)
            except StopIteration:
                break
            except (ActionTimeoutError, Interrupt):  # never swallowed after items: they stop the step
                raise
            except Exception:
                if pending is _NOTHING:
                    raise
                _post_yield_failure(meta, count)
                break
            finally:
                if token is not None:
                    tracer_factory_context_var.reset(token)
            if timer is not None:
                timer.check()
            if pending is not _NOTHING:
                on_item(pending)
                count += 1
                yield pending, None
            pending = item
    finally:
        gen.close()
    out = _reduced_final(meta, pending, state)
    del state, pending, gen
    yield out


async def stream_single_async(
    meta: ActionMeta,
    state: State[Any],
    inputs: dict[str, Any],
    on_item: Callable[[Any], Any],
    tracer: Any,
    unchanged: Callable[[], State[Any]],
) -> AsyncGenerator[tuple[Any, State[Any] | None], None]:
    gen = meta.action.stream_run_and_update(state, **_call_kwargs(meta, inputs))
    del state
    timer = StreamTimer.start(meta)
    last: Any = _NOTHING
    count = 0
    final: Any = None
    try:
        while final is None:
            token = tracer_factory_context_var.set(tracer) if tracer is not None else None
            try:  # errors after some items fail the step (see stream_single_sync)
                item = await (gen.__anext__() if timer is None else timer.wait(gen.__anext__()))
            except StopAsyncIteration:
                raise _no_state_error(meta) from None
            finally:
                if token is not None:
                    tracer_factory_context_var.reset(token)
            result, new_state = _yield_shape(meta, item)
            if new_state is None:
                count += 1
                last = result
                await on_item(result)
                yield result, None
            else:
                final = (result, new_state)
    finally:
        await gen.aclose()
    del gen, item, last
    out = _checked_final(meta, final)
    del final  # the commit may reuse lists only we hold (O(1) appends)
    yield out


async def stream_multi_async(
    meta: ActionMeta,
    state: State[Any],
    inputs: dict[str, Any],
    on_item: Callable[[Any], Any],
    tracer: Any,
) -> AsyncGenerator[tuple[Any, State[Any] | None], None]:
    gen = meta.action.stream_run(state.subset(*meta.reads), **_call_kwargs(meta, inputs))
    timer = StreamTimer.start(meta)
    pending: Any = _NOTHING
    count = 0
    try:
        while True:
            token = tracer_factory_context_var.set(tracer) if tracer is not None else None
            try:
                item = await (gen.__anext__() if timer is None else timer.wait(gen.__anext__()))
            except StopAsyncIteration:
                break
            except (ActionTimeoutError, Interrupt):  # never swallowed after items: they stop the step
                raise
            except Exception:
                if pending is _NOTHING:
                    raise
                _post_yield_failure(meta, count)
                break
            finally:
                if token is not None:
                    tracer_factory_context_var.reset(token)
            if pending is not _NOTHING:
                await on_item(pending)
                count += 1
                yield pending, None
            pending = item
    finally:
        await gen.aclose()
    out = _reduced_final(meta, pending, state)
    del state, pending, gen
    yield out
