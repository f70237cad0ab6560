"""Failure handling as part of the graph: retries, timeouts, exception transitions and interrupts.

- ``RetryPolicy`` / ``@retry``: re-run a failing action (exponential backoff with jitter). Every
  attempt fires ``pre_run_step``/``post_run_step`` with an ``attempt`` keyword (1-based).
- ``TimeoutPolicy`` / ``@timeout``: a per-attempt time limit and an idle limit that a streaming
  action's yields refresh. Raises ``ActionTimeoutError`` (a ``TimeoutError``, so it is retryable).
- ``on_exception(...)``: a transition condition taken when the action raised (optionally only for
  some exception types). The next action finds the error under ``state["last_error"]`` (see
  ``ERROR_KEY``/``error_record``).
- ``Interrupt``: raised by an action to pause the application for outside input; ``run`` returns
  and a later ``run(inputs={answer_input: ...})`` re-enters the action (even in another process,
  through a persister) with the state the action handed over when it paused.

Policies are set on an action (``@retry``/``@timeout``) or on the builder
(``ApplicationBuilder.with_policies``). See docs/policies.md.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union

from burr.core.action import Condition

if TYPE_CHECKING:
    from burr.core.state import State

__all__ = [
    "ERROR_KEY",
    "INTERRUPT_KEY",
    "ActionTimeoutError",
    "GraphCheckError",
    "Interrupt",
    "MaxStepsExceededError",
    "PendingInterrupt",
    "RetryPolicy",
    "TimeoutPolicy",
    "error_record",
    "on_exception",
    "retry",
    "timeout",
]

ERROR_KEY = "last_error"
"""State key holding the error record of a failure routed by an ``on_exception`` transition."""

INTERRUPT_KEY = "pending_interrupt"
"""State key holding the pending interrupt of a paused application (None/absent when not paused)."""

# Never retried, never routed: the user or the runtime is stopping the program. asyncio.CancelledError
# belongs here too; `never_handled` checks it without importing asyncio (`import burr.core` stays cheap).
NEVER_HANDLED: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)


def never_handled(exc: BaseException) -> bool:
    """Whether ``exc`` stops the program: never retried or routed by a policy."""
    if isinstance(exc, NEVER_HANDLED):
        return True
    # If asyncio was never imported, no asyncio.CancelledError can exist.
    aio = sys.modules.get("asyncio")
    return aio is not None and isinstance(exc, aio.CancelledError)


_PRIOR_STEP = "__PRIOR_STEP"  # = burr.core._engine.PRIOR_STEP (kept literal: no import cycle)
_SEQUENCE_ID = "__SEQUENCE_ID"
_TRACEBACK_LIMIT = 8000  # characters of traceback kept in the error record

RetryOn = Union[type[BaseException], tuple[type[BaseException], ...], Callable[[BaseException], bool]]
F = TypeVar("F")


class ActionTimeoutError(TimeoutError):
    """An action exceeded its ``TimeoutPolicy``."""

    def __init__(self, action: str, limit: float, kind: str) -> None:
        what = "without yielding an item for" if kind == "idle" else "for more than"
        super().__init__(
            f"Action `{action}` ran {what} {limit:g}s (its {kind} timeout) and was stopped. Raise the limit "
            f"with @timeout(...)/with_policies({action}=TimeoutPolicy(...)), or retry it with a RetryPolicy "
            "(timeouts are retryable)."
        )
        self.action = action
        self.limit = limit
        self.kind = kind


class MaxStepsExceededError(RuntimeError):
    """A single run/iterate call took more steps than ``ApplicationBuilder.with_max_steps`` allows."""


class GraphCheckError(ValueError):
    """A build-time graph check failed with ``ApplicationBuilder.with_strict_checks()``."""


def _bad(policy: str, field: str, value: Any, rule: str) -> ValueError:
    return ValueError(f"{policy}({field}={value!r}): {field} {rule}.")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# retry
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Re-run a failing action up to ``max_attempts`` times in total.

    The wait before retry ``n`` (n = 1, 2, ...) is ``min(max_delay, initial_delay * multiplier**(n-1))``
    scaled by a random factor in ``[1 - jitter, 1]`` (``jitter=0`` waits exactly that long).
    ``retry_on``: exception types (default ``Exception``) or a predicate ``exc -> bool``.
    ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``, ``asyncio.CancelledError`` and an
    ``Interrupt`` are never retried. Under ``stream_result`` a streaming action is retried only
    if it failed before its first item (what was streamed cannot be taken back).
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    retry_on: RetryOn = Exception

    def __post_init__(self) -> None:
        name = "RetryPolicy"
        if (
            not isinstance(self.max_attempts, int)
            or isinstance(self.max_attempts, bool)
            or self.max_attempts < 1
        ):
            raise _bad(name, "max_attempts", self.max_attempts, "must be an int >= 1 (1 means no retries)")
        for field in ("initial_delay", "max_delay"):
            value = getattr(self, field)
            if not _is_number(value) or value < 0:
                raise _bad(name, field, value, "must be a number of seconds >= 0")
        if not _is_number(self.multiplier) or self.multiplier < 1:
            raise _bad(name, "multiplier", self.multiplier, "must be a number >= 1 (1 = constant delay)")
        if not _is_number(self.jitter) or not 0 <= self.jitter <= 1:
            raise _bad(name, "jitter", self.jitter, "must be a fraction between 0 and 1")
        retry_on = self.retry_on
        if isinstance(retry_on, list):
            retry_on = tuple(retry_on)
            object.__setattr__(self, "retry_on", retry_on)
        if isinstance(retry_on, tuple):
            if not retry_on or not all(
                isinstance(t, type) and issubclass(t, BaseException) for t in retry_on
            ):
                raise _bad(name, "retry_on", retry_on, "must list exception classes, e.g. (TimeoutError,)")
        elif not (isinstance(retry_on, type) and issubclass(retry_on, BaseException)) and not callable(
            retry_on
        ):
            raise _bad(
                name,
                "retry_on",
                retry_on,
                "must be an exception class, a tuple of them, or a predicate exc -> bool",
            )

    def should_retry(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt (ignoring how many were made)."""
        if isinstance(exc, Interrupt) or never_handled(exc):
            return False
        retry_on = self.retry_on
        if isinstance(retry_on, (type, tuple)):
            return isinstance(exc, retry_on)
        return bool(retry_on(exc))

    def delay(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``retry_number`` (1 = the first retry)."""
        base: float = min(self.max_delay, self.initial_delay * self.multiplier ** (retry_number - 1))
        return base * (1 - self.jitter * rand()) if self.jitter else base


# ---------------------------------------------------------------------------------------------
# timeout
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TimeoutPolicy:
    """Time limits for one attempt of an action, in seconds.

    ``seconds``: the whole attempt. ``idle``: the longest wait for a streaming action's next item
    (each yield resets it; for a non-streaming action it acts like ``seconds``).
    Async actions are cancelled when a limit passes. Sync actions cannot be stopped from outside:
    a non-streaming sync action runs in a worker thread that is *abandoned* at the limit (its
    result is discarded; it keeps running until it returns, so make it side-effect safe); a sync
    streaming action is checked between yields. Either way ``ActionTimeoutError`` is raised.
    """

    seconds: float | None = None
    idle: float | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.idle is None:
            raise ValueError(
                "TimeoutPolicy() needs seconds=... (whole attempt) and/or idle=... (between yields)."
            )
        for field in ("seconds", "idle"):
            value = getattr(self, field)
            if value is not None and (not _is_number(value) or value <= 0):
                raise _bad(
                    "TimeoutPolicy", field, value, "must be a number of seconds > 0 (or None for no limit)"
                )

    @property
    def first_limit(self) -> float:
        """The limit on the attempt before any item was yielded (the smaller of both)."""
        limits = [v for v in (self.seconds, self.idle) if v is not None]
        return float(min(limits))


# ---------------------------------------------------------------------------------------------
# attaching policies to actions
# ---------------------------------------------------------------------------------------------

POLICIES_ATTR = "_burr_policies"

Policy = Union[RetryPolicy, TimeoutPolicy]


def _kind(policy: Any) -> str:
    if isinstance(policy, RetryPolicy):
        return "retry"
    if isinstance(policy, TimeoutPolicy):
        return "timeout"
    raise ValueError(
        f"{policy!r} (a {type(policy).__name__}) is not a policy. Use RetryPolicy(...) or TimeoutPolicy(...)."
    )


def _attach(target: F, policy: Policy) -> F:
    """Record ``policy`` on an ``@action`` function, an ``Action`` or a plain function (``@action`` below)."""
    holder: Any = getattr(target, "action_function", target)
    current = dict(getattr(holder, POLICIES_ATTR, None) or {})
    current[_kind(policy)] = policy
    setattr(holder, POLICIES_ATTR, current)
    return target


def retry(
    max_attempts: int = 3,
    *,
    initial_delay: float = 0.5,
    max_delay: float = 30.0,
    multiplier: float = 2.0,
    jitter: float = 0.5,
    retry_on: RetryOn = Exception,
) -> Callable[[F], F]:
    """Decorate an action (above or below ``@action``, or wrap an ``Action``) with a ``RetryPolicy``."""
    policy = RetryPolicy(max_attempts, initial_delay, max_delay, multiplier, jitter, retry_on)
    return lambda target: _attach(target, policy)


def timeout(seconds: float | None = None, *, idle: float | None = None) -> Callable[[F], F]:
    """Decorate an action with a ``TimeoutPolicy`` (``seconds`` per attempt, ``idle`` between yields)."""
    policy = TimeoutPolicy(seconds, idle)
    return lambda target: _attach(target, policy)


def policies_of(action: Any) -> dict[str, Policy]:
    """Policies attached to ``action`` by ``@retry``/``@timeout`` (on it or on its function)."""
    found: dict[str, Policy] = {}
    fn = getattr(action, "fn", None)
    if fn is not None:
        found.update(getattr(fn, POLICIES_ATTR, None) or {})
    found.update(getattr(action, POLICIES_ATTR, None) or {})
    return found


@dataclasses.dataclass(frozen=True)
class ActionPolicies:
    """The policies that apply to one action, resolved at build."""

    retry: RetryPolicy | None = None
    timeout: TimeoutPolicy | None = None


def check_policy_list(where: str, value: Any) -> dict[str, Policy]:
    """``{kind: policy}`` from one policy or a list of them; clear errors for anything else."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    out: dict[str, Policy] = {}
    for item in items:
        try:
            kind = _kind(item)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        if kind in out:
            raise ValueError(f"{where}: two {kind} policies given ({out[kind]!r} and {item!r}); keep one.")
        out[kind] = item
    return out


def resolve(
    action: Any, defaults: Mapping[str, Policy], per_action: Mapping[str, Mapping[str, Policy]]
) -> ActionPolicies | None:
    """Builder per-action policies win over decorator ones, which win over builder defaults."""
    merged: dict[str, Policy] = dict(defaults)
    merged.update(policies_of(action))
    merged.update(per_action.get(action.name, {}))
    if not merged:
        return None
    return ActionPolicies(
        retry=merged.get("retry"),  # type: ignore[arg-type]
        timeout=merged.get("timeout"),  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------------
# exception transitions
# ---------------------------------------------------------------------------------------------


def type_name(cls: type) -> str:
    """``ValueError`` for builtins, ``package.module.Class`` otherwise."""
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def error_record(exc: BaseException, action: str, sequence_id: int, attempts: int = 1) -> dict[str, Any]:
    """What ``state["last_error"]`` holds after a routed failure (plain JSON-serializable data).

    ``type``: the exception's class (``ValueError`` or ``pkg.mod.Class``); ``types``: it and its
    base classes (routing uses them, so a resumed process needs no imports); ``message``: ``str(exc)``;
    ``traceback``: the formatted traceback (last 8000 characters); ``action``/``sequence_id``: the
    failed step; ``attempts``: how many attempts were made.
    """
    import traceback  # lazy: only failures need it

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        "type": type_name(type(exc)),
        "types": [type_name(c) for c in type(exc).__mro__ if issubclass(c, BaseException)],
        "message": str(exc),
        "traceback": tb[-_TRACEBACK_LIMIT:],
        "action": action,
        "sequence_id": sequence_id,
        "attempts": attempts,
    }


def current_error(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The error record if the step that produced ``state`` failed and was routed, else None."""
    record = state.get(ERROR_KEY)
    if (
        isinstance(record, Mapping)
        and record.get("sequence_id") == state.get(_SEQUENCE_ID)
        and record.get("action") == state.get(_PRIOR_STEP)
    ):
        return dict(record)
    return None


class ExceptionCondition(Condition):
    """A transition condition that holds only right after its source action raised a matching error."""

    def __init__(self, exc_types: tuple[type[BaseException], ...]) -> None:
        self.exc_types = exc_types
        self._type_names = frozenset(type_name(t) for t in exc_types)
        label = ", ".join(t.__name__ for t in exc_types) if exc_types else "Exception"
        super().__init__([], self._holds, name=f"on_exception({label})", optional_keys=[ERROR_KEY])

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether the error described by ``record`` is one this transition handles."""
        return not self._type_names or bool(self._type_names.intersection(record.get("types", ())))

    def _holds(self, state: Mapping[str, Any]) -> bool:
        record = current_error(state)
        return record is not None and self.matches(record)

    def _no_combining(self, *args: Any) -> Condition:
        raise ValueError(
            f"{self.name} cannot be combined with ~, & or |: exception transitions are chosen by exception "
            "type only. Add one on_exception transition per route (they are checked in order)."
        )

    __invert__ = _no_combining
    __and__ = _no_combining
    __or__ = _no_combining


def on_exception(*exc_types: type[BaseException]) -> ExceptionCondition:
    """Transition condition: taken when the source action raised one of ``exc_types`` (any ``Exception``
    when none are given), after its retries ran out. Use it in ``with_transitions``:
    ``("call_llm", "apologize", on_exception(TimeoutError))``. The failed step's state is the state
    before the action plus ``state["last_error"]`` (see ``error_record``)."""
    for t in exc_types:
        if not (isinstance(t, type) and issubclass(t, Exception)):
            raise ValueError(
                f"on_exception({t!r}): pass exception classes that subclass Exception (e.g. on_exception("
                "TimeoutError, ValueError)); KeyboardInterrupt/SystemExit are never routed."
            )
    return ExceptionCondition(tuple(exc_types))


def is_exception_condition(condition: Any) -> bool:
    return isinstance(condition, ExceptionCondition)


# ---------------------------------------------------------------------------------------------
# interrupts
# ---------------------------------------------------------------------------------------------


class Interrupt(Exception):
    """Raise inside an action to pause the application until someone answers ``request``.

    ``request``: what you are asking (a dataclass, pydantic model, dict, ...: it is stored in state,
    so it must be serializable for persisted apps). ``state``: the state the action built before
    pausing (e.g. ``state.update(draft=draft)``); it is committed (and persisted) so the work is not
    redone. ``answer_input``: the input name the answer arrives under; the action must declare it
    as a parameter (give it a default of None so the first run works without it).

    The application stops (``run`` returns ``(action, None, state)``, ``app.pending_interrupt`` says
    what is pending) and the next ``run(inputs={answer_input: answer})`` re-runs the same action on
    the committed state, with the answer.
    """

    def __init__(
        self, request: Any, *, state: State[Any] | None = None, answer_input: str = "answer"
    ) -> None:
        super().__init__(f"Interrupt waiting for input `{answer_input}`: {request!r:.200}")
        if not isinstance(answer_input, str) or not answer_input or answer_input.startswith("__"):
            raise ValueError(
                f"Interrupt(answer_input={answer_input!r}) must be a plain input name (a parameter of the action)."
            )
        self.request = request
        self.state = state
        self.answer_input = answer_input


@dataclasses.dataclass(frozen=True)
class PendingInterrupt:
    """What a paused application waits for (``Application.pending_interrupt``)."""

    action: str
    request: Any
    answer_input: str
    sequence_id: int

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"request": self.request}

    @staticmethod
    def from_state(state: Mapping[str, Any]) -> PendingInterrupt | None:
        record = state.get(INTERRUPT_KEY)
        if not isinstance(record, Mapping):
            return None
        return PendingInterrupt(
            action=record["action"],
            request=record["request"],
            answer_input=record["answer_input"],
            sequence_id=record["sequence_id"],
        )
