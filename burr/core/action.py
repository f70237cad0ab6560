"""Actions (what a step does), conditions (which step comes next) and the decorators that make them.

``import burr.core.action`` gives this module; the module itself is also callable as the ``@action``
decorator (see the bottom of the file), so ``from burr.core import action`` then ``@action(...)``
and ``action.pydantic(...)`` work without shadowing the module.
"""

from __future__ import annotations

import abc
import copy
import inspect
import sys
import types
import weakref
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any, Callable, Protocol, TypeVar, Union, cast

from burr.core._expr import compile_expr, compile_expr_evaluator, compile_safe_expr, undeclared_state_reads
from burr.core.state import State
from burr.core.typing import ActionSchema

FuncT = TypeVar("FuncT", bound=Callable[..., Any])

# Parameters the application injects when an action declares them.
INJECTED_PARAMS = ("__context", "__tracer")


class Function(abc.ABC):
    """The compute half of an action: reads state, returns a result dict."""

    @property
    @abc.abstractmethod
    def reads(self) -> list[str]:
        """State keys this reads."""

    @abc.abstractmethod
    def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:
        """Compute a result from ``state`` (restricted to ``reads`` for two-step actions)."""

    @property
    def inputs(self) -> Union[list[str], tuple[list[str], list[str]]]:
        """Runtime inputs: a list of required names, or ``(required, optional)``."""
        return []

    @property
    def optional_and_required_inputs(self) -> tuple[set[str], set[str]]:
        """``(required, optional)`` input names (note the order: required first, as in Apache Burr)."""
        inputs = self.inputs
        if isinstance(inputs, tuple):
            required, optional = inputs
            return set(required), set(optional)
        return set(inputs), set()

    def validate_inputs(self, inputs: dict[str, Any] | None) -> None:
        """Raise ``ValueError`` if required inputs are missing or undeclared ones are given."""
        given = set(inputs or {})
        required, optional = self.optional_and_required_inputs
        missing = required - given
        extra = given - required - optional
        if missing or extra:
            parts = [f"Inputs to function {self} are invalid."]
            if missing:
                parts.append(f"Missing the following inputs: {', '.join(sorted(missing))}.")
            if extra:
                parts.append(f"Additional inputs: {', '.join(sorted(extra))} (not declared by the action).")
            raise ValueError(" ".join(parts))

    def is_async(self) -> bool:
        """Whether running this needs an event loop (``astep``/``arun``)."""
        return inspect.iscoroutinefunction(self.run)


class Reducer(abc.ABC):
    """The update half of an action: writes a result into state."""

    @property
    @abc.abstractmethod
    def writes(self) -> list[str]:
        """State keys this writes."""

    @abc.abstractmethod
    def update(self, result: dict[str, Any], state: State[Any]) -> State[Any]:
        """Return the new state given the result of ``run``."""


class DefaultSchema(ActionSchema):
    """The schema of untyped actions: results are dicts, state types are unknown."""

    def state_input_type(self) -> type[Any]:
        raise NotImplementedError("Untyped actions have no state input type.")

    def state_output_type(self) -> type[Any]:
        raise NotImplementedError("Untyped actions have no state output type.")

    def intermediate_result_type(self) -> type[dict[str, Any]]:
        return dict


DEFAULT_SCHEMA = DefaultSchema()


class Action(Function, Reducer, abc.ABC):
    """A step of an application. Subclass it (two-step: ``run`` then ``update``) or use ``@action``."""

    _name: str | None = None  # class default so subclasses that skip ``super().__init__()`` work

    def __init__(self) -> None:
        self._name = None

    def with_name(self, name: str) -> Action:
        """A shallow copy of this action carrying ``name``; an action's name can be set only once."""
        if self._name is not None:
            raise ValueError(
                f"Name of {self} already set to {self._name} -- cannot set name to {name}. Actions can "
                "only be named once: pass a fresh (unnamed) action, or use the existing name."
            )
        new = copy.copy(self)
        new._name = name
        return new

    @property
    def name(self) -> str:
        return self._name  # type: ignore[return-value]

    @property
    def single_step(self) -> bool:
        return False

    @property
    def streaming(self) -> bool:
        return False

    @property
    def schema(self) -> ActionSchema:
        return DEFAULT_SCHEMA

    @property
    def tags(self) -> list[str]:
        return []

    def input_schema(self) -> Any:
        return None

    def get_source(self) -> str:
        """The code trackers show for this action (the class source; override to customise)."""
        try:
            return inspect.getsource(self.__class__)
        except (OSError, TypeError):
            return f"# source not available for {self.__class__.__qualname__}"

    def __repr__(self) -> str:
        reads = ", ".join(self.reads) if self.reads else "{}"
        writes = ", ".join(self.writes) if self.writes else "{}"
        return f"{self.name}: {reads} -> {writes}"


class SingleStepAction(Action, abc.ABC):
    """An action that computes and updates in one call: implement ``run_and_update``.

    It receives the full state (not just ``reads``) and may be ``async def``.
    """

    @property
    def single_step(self) -> bool:
        return True

    @abc.abstractmethod
    def run_and_update(self, state: State[Any], **run_kwargs: Any) -> tuple[dict[str, Any], State[Any]]:
        """Return ``(result, new_state)``."""

    def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"{type(self).__name__} is a single-step action: call run_and_update(), not run().")

    def update(self, result: dict[str, Any], state: State[Any]) -> State[Any]:
        raise ValueError(
            f"{type(self).__name__} is a single-step action: call run_and_update(), not update()."
        )

    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.run_and_update)


class StreamingAction(Action, abc.ABC):
    """A two-step action whose ``stream_run`` yields dicts; the last one is the final result."""

    @abc.abstractmethod
    def stream_run(self, state: State[Any], **run_kwargs: Any) -> Generator[dict[str, Any], None, None]:
        """Yield intermediate results, then the final result last."""

    def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] | None = None
        for result in self.stream_run(state, **run_kwargs):  # noqa: B007 -- keep the last
            pass
        return result  # type: ignore[return-value]

    @property
    def streaming(self) -> bool:
        return True


class AsyncStreamingAction(Action, abc.ABC):
    """``StreamingAction`` with an async generator ``stream_run``."""

    @abc.abstractmethod
    def stream_run(self, state: State[Any], **run_kwargs: Any) -> AsyncGenerator[dict[str, Any], None]:
        """Yield intermediate results, then the final result last."""

    async def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        result: dict[str, Any] | None = None
        async for result in self.stream_run(state, **run_kwargs):  # noqa: B007 -- keep the last
            pass
        return result  # type: ignore[return-value]

    @property
    def streaming(self) -> bool:
        return True

    def is_async(self) -> bool:
        return True


def _final_stream_item(name: str | None, item: Any) -> tuple[dict[str, Any], State[Any]]:
    if not isinstance(item, tuple) or len(item) != 2 or item[1] is None:
        raise ValueError(
            f"Action {name} did not return a state update. For streaming actions, the last yield "
            "statement must be a tuple of (result, state_update), e.g. `yield {'out': x}, "
            "state.update(out=x)`."
        )
    return item


def _drain_stream(name: str | None, gen: Generator[Any, None, None]) -> tuple[dict[str, Any], State[Any]]:
    last: Any = None
    for last in gen:  # noqa: B007 -- keep the last
        pass
    return _final_stream_item(name, last)


async def _adrain_stream(
    name: str | None, gen: AsyncGenerator[Any, None]
) -> tuple[dict[str, Any], State[Any]]:
    last: Any = None
    async for last in gen:  # noqa: B007 -- keep the last
        pass
    return _final_stream_item(name, last)


class SingleStepStreamingAction(SingleStepAction, abc.ABC):
    """Implement ``stream_run_and_update`` yielding ``(partial, None)``... then ``(final, new_state)``."""

    @abc.abstractmethod
    def stream_run_and_update(
        self, state: State[Any], **run_kwargs: Any
    ) -> Union[
        Generator[tuple[dict[str, Any], State[Any] | None], None, None],
        AsyncGenerator[tuple[dict[str, Any], State[Any] | None], None],
    ]:
        """Yield ``(partial_result, None)`` items, then ``(final_result, new_state)``."""

    def run_and_update(self, state: State[Any], **run_kwargs: Any) -> Any:
        gen = self.stream_run_and_update(state, **run_kwargs)
        if inspect.isasyncgen(gen):
            return _adrain_stream(self.name, cast(AsyncGenerator[Any, None], gen))
        return _drain_stream(self.name, cast(Generator[Any, None, None], gen))

    @property
    def streaming(self) -> bool:
        return True

    def is_async(self) -> bool:
        return inspect.isasyncgenfunction(self.stream_run_and_update)


# --------------------------------------------------------------------------------------------
# Function-based actions (what @action / @streaming_action attach)
# --------------------------------------------------------------------------------------------


def derive_inputs_from_fn(
    bound_params: Mapping[str, Any], fn: Callable[..., Any]
) -> tuple[list[str], list[str]]:
    """``(required, optional)`` inputs of ``fn``: every parameter except ``state`` and bound ones."""
    required: list[str] = []
    optional: list[str] = []
    for name, param in inspect.signature(fn).parameters.items():
        if name == "state" or name in bound_params:
            continue
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        (required if param.default is inspect.Parameter.empty else optional).append(name)
    return required, optional


class _FunctionBased:
    """Shared plumbing of the two function-based action classes."""

    ACTION_FUNCTION = "action_function"

    _name: str | None

    def __init__(
        self,
        fn: Callable[..., Any],
        reads: list[str],
        writes: list[str],
        bound_params: dict[str, Any] | None = None,
        input_spec: tuple[list[str], list[str]] | None = None,
        originating_fn: Callable[..., Any] | None = None,
        schema: ActionSchema = DEFAULT_SCHEMA,
        tags: list[str] | None = None,
    ) -> None:
        super().__init__()  # the Action base that follows in the MRO
        self._fn = fn
        self._reads = list(reads)
        self._writes = list(writes)
        self._bound_params = dict(bound_params or {})
        self._input_spec = input_spec  # before binding; None = derive from fn
        self._originating_fn = originating_fn if originating_fn is not None else fn
        self._schema = schema
        self._tags = list(tags) if tags else []
        self._inputs = self._compute_inputs()

    def _call(self, state: State[Any], run_kwargs: dict[str, Any]) -> Any:
        if self._bound_params:
            return self._fn(state, **self._bound_params, **run_kwargs)
        return self._fn(state, **run_kwargs)

    def _compute_inputs(self) -> tuple[list[str], list[str]]:
        if self._input_spec is None:
            return derive_inputs_from_fn(self._bound_params, self._fn)
        required, optional = self._input_spec
        bound = self._bound_params
        return [r for r in required if r not in bound], [o for o in optional if o not in bound]

    @property
    def fn(self) -> Callable[..., Any]:
        return self._fn

    @property
    def reads(self) -> list[str]:
        return self._reads

    @property
    def writes(self) -> list[str]:
        return self._writes

    @property
    def inputs(self) -> tuple[list[str], list[str]]:
        return self._inputs

    @property
    def schema(self) -> ActionSchema:
        return self._schema

    @property
    def tags(self) -> list[str]:
        return self._tags

    def with_params(self, **bound_params: Any) -> Any:
        """A copy with more parameters bound (they stop being inputs)."""
        new = copy.copy(self)
        new._bound_params = {**self._bound_params, **bound_params}
        new._inputs = new._compute_inputs()
        return new

    def get_source(self) -> str:
        try:
            return inspect.getsource(self._originating_fn)
        except (OSError, TypeError):
            return f"# source not available for {getattr(self._originating_fn, '__qualname__', self._name)}"


class FunctionBasedAction(_FunctionBased, SingleStepAction):
    """The action behind an ``@action`` function: calls ``fn(state, **bound, **inputs)``."""

    def run_and_update(self, state: State[Any], **run_kwargs: Any) -> Any:
        return self._call(state, run_kwargs)

    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self._fn)


class FunctionBasedStreamingAction(_FunctionBased, SingleStepStreamingAction):
    """The action behind a ``@streaming_action`` generator function."""

    def stream_run_and_update(self, state: State[Any], **run_kwargs: Any) -> Any:
        return self._call(state, run_kwargs)

    def is_async(self) -> bool:
        return inspect.isasyncgenfunction(self._fn)


# --------------------------------------------------------------------------------------------
# Injected dunder parameters in class actions
# --------------------------------------------------------------------------------------------

# Inside a class body Python renames a parameter ``__context`` to ``_ClassName__context``; the engine
# must pass it under that name. Maps function -> {"__context": "_ClassName__context", ...}.
_DUNDER_MAPS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def injected_param_names(fn: Callable[..., Any]) -> dict[str, str]:
    """For a (bound) method, map each injected name (``__context``/``__tracer``) to its real name."""
    func = getattr(fn, "__func__", fn)
    try:
        return _DUNDER_MAPS[func]
    except (KeyError, TypeError):
        pass
    mapping: dict[str, str] = {}
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    for name in params:
        for injected in INJECTED_PARAMS:
            if (
                name != injected
                and name.endswith(injected)
                and name.startswith("_")
                and not name.startswith("__")
            ):
                mapping[injected] = name
    try:
        _DUNDER_MAPS[func] = mapping
    except TypeError:  # not weak-referenceable; just don't cache
        pass
    return mapping


def remap_injected_params(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with ``__context``/``__tracer`` renamed to ``fn``'s mangled parameter names.

    Works for ``run``, ``run_and_update``, ``stream_run`` and ``stream_run_and_update``, sync or
    async (Apache Burr only remapped sync ``run``). Returns ``kwargs`` itself when nothing changes.
    """
    mapping = injected_param_names(fn)
    if not mapping or not any(k in kwargs for k in mapping):
        return kwargs
    out = dict(kwargs)
    for src, dst in mapping.items():
        if src in out:
            out[dst] = out.pop(src)
    return out


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


class Condition(Function):
    """A predicate over state deciding whether a transition is taken.

    ``run(state)`` returns ``{"PROCEED": <resolver value>}``; the engine uses the faster ``_evaluate(state)``.
    """

    KEY = "PROCEED"
    default: Condition  # the always-true singleton, set below
    _always_true = False  # lets the engine skip evaluating `default`
    _fetches_keys = False  # resolver reads all keys up front (expr): KeyError means a missing key
    _fast_evaluate: Callable[[Mapping[str, Any]], Any] | None = None  # _evaluate in one call (expr)

    def __init__(
        self,
        keys: list[str],
        resolver: Callable[[State[Any]], bool],
        name: str | None = None,
        optional_keys: list[str] | None = None,
    ) -> None:
        self._keys = list(keys)
        self._resolver = resolver
        self._name = name
        self._optional_keys = list(optional_keys) if optional_keys else []
        self._always_true = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:  # a subclass customising run(): route the fast path through it
            cls._evaluate = lambda self, state: bool(self.run(state)[Condition.KEY])  # type: ignore[method-assign,arg-type]

    @property
    def reads(self) -> list[str]:
        return self._keys

    @property
    def optional_keys(self) -> list[str]:
        return self._optional_keys

    @property
    def resolver(self) -> Callable[[State[Any]], bool]:
        return self._resolver

    @property
    def name(self) -> str:
        return self._name  # type: ignore[return-value]

    def _missing_keys_error(self, state: Mapping[str, Any]) -> ValueError:
        missing = list(dict.fromkeys(k for k in self._keys if k not in state))
        known = [k for k in state if not k.startswith("__")]
        return ValueError(
            f"Missing keys in state required by condition: {self} {missing}. The state has {known}. "
            f"Make sure an earlier action writes {missing}, give them initial values with "
            "ApplicationBuilder().with_state(...), or use a condition that tolerates missing keys."
        )

    def _evaluate(self, state: Mapping[str, Any]) -> bool:
        """Check the keys exist, then evaluate. Raises ``ValueError`` naming missing keys."""
        if self._fetches_keys:
            # The resolver reads every key before evaluating anything (expr/safe_expr), so a
            # missing key surfaces as KeyError: no need to pre-check.
            try:
                return bool(self._resolver(cast(State[Any], state)))
            except KeyError:
                if any(k not in state for k in self._keys):
                    raise self._missing_keys_error(state) from None
                raise
        for key in self._keys:
            if key not in state:
                raise self._missing_keys_error(state)
        return bool(self._resolver(cast(State[Any], state)))

    def _engine_evaluator(self) -> Callable[[Mapping[str, Any]], Any]:
        """What the engine calls to check this condition (truthiness counts): ``_evaluate`` or its
        one-call equivalent, unless a subclass customised evaluation."""
        if self._fast_evaluate is not None and type(self)._evaluate is Condition._evaluate:
            return self._fast_evaluate
        return self._evaluate

    def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:
        for key in self._keys:
            if key not in state:
                raise self._missing_keys_error(state)
        # The resolver's value as is (e.g. ``expr("n")`` gives the number), like Apache Burr;
        # transitions only use its truthiness.
        return {Condition.KEY: self._resolver(state)}

    def __repr__(self) -> str:
        return f"condition: {self._name}"

    # -- constructors -------------------------------------------------------------------------

    @staticmethod
    def when(**kwargs: Any) -> Condition:
        """True when every ``state[key] == value``; e.g. ``when(mode="chat")``."""
        items = list(kwargs.items())
        name = ", ".join(f"{k}={v}" for k, v in sorted(items))
        if len(items) == 1:
            ((key, value),) = items

            def resolver(state: State[Any]) -> bool:
                return bool(state.get(key) == value)

        else:

            def resolver(state: State[Any]) -> bool:
                return all(state.get(k) == v for k, v in items)

        return Condition(list(kwargs), resolver, name=name)

    @staticmethod
    def expr(expr: str) -> Condition:
        """A Python expression over state keys, e.g. ``expr("count > 10")``. Trusted input only.

        Reads are the names it uses that are not Python builtins.
        """
        keys, resolver = compile_expr(expr)
        condition = Condition(keys, resolver, name=expr)
        condition._fetches_keys = True
        condition._fast_evaluate = compile_expr_evaluator(expr)(condition._missing_keys_error)
        return condition

    @staticmethod
    def safe_expr(expr: str) -> Condition:
        """Like ``expr`` but for untrusted text: an allow-listed interpreter, never ``eval``.

        Lambdas, comprehensions, underscore attributes and calls outside a small allow-list are
        rejected here with ``ValueError``.
        """
        keys, resolver = compile_safe_expr(expr)
        return Condition(keys, resolver, name=expr)

    @staticmethod
    def lmda(resolver: Callable[[State[Any]], bool], state_keys: list[str]) -> Condition:
        """A condition from a function of state that reads ``state_keys``."""
        return Condition(state_keys, resolver, name=f"lmda_{resolver.__name__}_")

    # -- combinators --------------------------------------------------------------------------

    def __invert__(self) -> Condition:
        resolver = self._resolver
        return Condition(
            self._keys,
            lambda state: not resolver(state),
            name=f"~{self._name}",
            optional_keys=self._optional_keys,
        )

    def _combine(self, other: Any, word: str, symbol: str) -> tuple[list[str], list[str], str]:
        if not isinstance(other, Condition):
            raise ValueError(
                f"Cannot {word} a Condition with {other!r} (a {type(other).__name__}). Both sides of "
                f"`{symbol}` must be Conditions, e.g. when(...), expr(...) or default."
            )
        return (
            self._keys + other._keys,
            self._optional_keys + other._optional_keys,
            f"{self._name} {symbol} {other._name}",
        )

    def __or__(self, other: Any) -> Condition:
        keys, optional, name = self._combine(other, "OR", "|")
        left, right = self._resolver, other._resolver
        return Condition(
            keys, lambda state: left(state) or right(state), name=name, optional_keys=optional
        )

    def __and__(self, other: Any) -> Condition:
        keys, optional, name = self._combine(other, "AND", "&")
        left, right = self._resolver, other._resolver
        return Condition(
            keys, lambda state: left(state) and right(state), name=name, optional_keys=optional
        )


Condition.default = Condition([], lambda _: True, name="default")
Condition.default._always_true = True

default = Condition.default
when = Condition.when
expr = Condition.expr
safe_expr = Condition.safe_expr
lmda = Condition.lmda


# --------------------------------------------------------------------------------------------
# Result / Input
# --------------------------------------------------------------------------------------------


class Result(Action):
    """Returns the listed state fields as the result (missing ones skipped); writes nothing."""

    def __init__(self, *fields: str) -> None:
        super().__init__()
        self._fields = list(fields)

    @property
    def reads(self) -> list[str]:
        return self._fields

    def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:
        return {k: state[k] for k in self._fields if k in state}

    @property
    def writes(self) -> list[str]:
        return []

    def update(self, result: dict[str, Any], state: State[Any]) -> State[Any]:
        return state


class Input(Action):
    """Writes the listed runtime inputs into state."""

    def __init__(self, *fields: str) -> None:
        super().__init__()
        self._fields = list(fields)

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return self._fields

    @property
    def inputs(self) -> list[str]:
        return self._fields

    def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:
        return {k: run_kwargs[k] for k in self._fields}

    def update(self, result: dict[str, Any], state: State[Any]) -> State[Any]:
        return state.update(**result)


# --------------------------------------------------------------------------------------------
# Decorators
# --------------------------------------------------------------------------------------------


def copy_func(f: FuncT) -> FuncT:
    """A new function object with ``f``'s code, defaults, closure and attributes."""
    src: Any = f
    fn = types.FunctionType(
        src.__code__, src.__globals__, name=src.__name__, argdefs=src.__defaults__, closure=src.__closure__
    )
    fn.__dict__.update(copy.copy(src.__dict__))
    fn.__kwdefaults__ = copy.copy(src.__kwdefaults__)
    fn.__qualname__ = src.__qualname__
    fn.__module__ = src.__module__
    fn.__doc__ = src.__doc__
    fn.__annotations__ = dict(src.__annotations__)
    return cast(FuncT, fn)


def bind(self: FuncT, **kwargs: Any) -> FuncT:
    """``fn.bind(**params)``: a copy of the action function with ``params`` fixed (no longer inputs)."""
    new_fn = copy_func(self)
    action_function = getattr(self, FunctionBasedAction.ACTION_FUNCTION)
    setattr(new_fn, FunctionBasedAction.ACTION_FUNCTION, action_function.with_params(**kwargs))
    new_fn.bind = types.MethodType(bind, new_fn)  # type: ignore[attr-defined]
    return new_fn


def _check_reads(fn: Callable[..., Any], reads: list[str], writes: list[str], decorator: str) -> None:
    if not reads:
        return
    undeclared = undeclared_state_reads(fn, reads, writes)
    if undeclared:
        raise ValueError(
            f"Action reads undeclared state keys: {undeclared}. `{fn.__name__}` reads "
            f"{', '.join(repr(k) for k in undeclared)} via state[...] but {decorator}(reads={reads}) "
            f"does not list them. Add them to reads=[...]."
        )


def _attach(fn: Callable[..., Any], action_function: Action) -> None:
    setattr(fn, FunctionBasedAction.ACTION_FUNCTION, action_function)
    fn.bind = types.MethodType(bind, fn)  # type: ignore[attr-defined]


class _Decorator(Protocol):
    """The static type of ``action``/``streaming_action``: a decorator factory with ``.pydantic``."""

    def __call__(
        self, reads: list[str], writes: list[str], tags: list[str] | None = None
    ) -> Callable[[FuncT], FuncT]: ...

    @staticmethod
    def pydantic(*args: Any, **kwargs: Any) -> Any: ...


def _action(reads: list[str], writes: list[str], tags: list[str] | None = None) -> Callable[[FuncT], FuncT]:
    """Turn ``fn(state, **inputs) -> State | (dict, State)`` into an action (may be ``async def``).

    Returns the same function object (still directly callable) with ``.action_function`` and
    ``.bind`` attached.
    """

    def decorator(fn: FuncT) -> FuncT:
        _check_reads(fn, reads, writes, "@action")
        _attach(fn, FunctionBasedAction(fn, reads, writes, tags=tags))
        return fn

    return decorator


def _streaming_action(
    reads: list[str], writes: list[str], tags: list[str] | None = None
) -> Callable[[FuncT], FuncT]:
    """Turn a generator yielding ``(partial, None)``... then ``(final, state)`` into a streaming action.

    Returns a copy of the function (the original is untouched).
    """

    def decorator(fn: FuncT) -> FuncT:
        _check_reads(fn, reads, writes, "@streaming_action")
        new_fn = copy_func(fn)
        _attach(new_fn, FunctionBasedStreamingAction(fn, reads, writes, tags=tags))
        return new_fn

    return decorator


def _pydantic_action(*args: Any, **kwargs: Any) -> Any:
    """``@action.pydantic(reads, writes, state_input_type=None, state_output_type=None, tags=None)``."""
    from burr.integrations.pydantic import pydantic_action

    return pydantic_action(*args, **kwargs)


def _pydantic_streaming_action(*args: Any, **kwargs: Any) -> Any:
    """``@streaming_action.pydantic(reads, writes, state_input_type, state_output_type, stream_type)``."""
    from burr.integrations.pydantic import pydantic_streaming_action

    return pydantic_streaming_action(*args, **kwargs)


_action.__name__ = _action.__qualname__ = "action"
_streaming_action.__name__ = _streaming_action.__qualname__ = "streaming_action"
# Typed as a Protocol so that `@action(...)` and `action.pydantic(...)` type-check in user code.
action = cast(_Decorator, _action)
streaming_action = cast(_Decorator, _streaming_action)
action.pydantic = _pydantic_action  # type: ignore[method-assign]
streaming_action.pydantic = _pydantic_streaming_action  # type: ignore[method-assign]


def create_action(action_: Any, name: str) -> Action:
    """The named ``Action`` for an ``@action`` function or an ``Action`` instance."""
    if hasattr(action_, FunctionBasedAction.ACTION_FUNCTION):
        found = getattr(action_, FunctionBasedAction.ACTION_FUNCTION)
    elif isinstance(action_, Action):
        found = action_
    else:
        hint = ""
        if inspect.isfunction(action_):
            hint = f" Decorate `{action_.__name__}` with @action(reads=[...], writes=[...])."
        elif isinstance(action_, type) and issubclass(action_, Action):
            hint = f" `{action_.__name__}` is an Action class: pass an instance, {action_.__name__}()."
        raise ValueError(
            f"Object {action_!r} (a {type(action_).__name__}) passed as action `{name}` is not a valid "
            "action. Have you decorated it with @action or @streaming_action? Actions are functions "
            f"decorated with @action/@streaming_action or instances of burr.core.action.Action.{hint}"
        )
    return cast(Action, found.with_name(name))


def type_eraser(func: FuncT) -> Any:
    """Erase the static type of an overridden ``run``/``stream_run``/``run_and_update`` (mypy aid).

    A no-op at runtime: the function is returned unchanged.
    """
    return func


# --------------------------------------------------------------------------------------------
# Make `burr.core.action` (the module) usable as the `action` decorator
# --------------------------------------------------------------------------------------------


class _ActionModule(types.ModuleType):
    """This module's type: calling the module calls ``action``; ``.pydantic`` is ``action.pydantic``.

    ``burr.core`` exposes this module as ``burr.core.action`` so that both
    ``from burr.core import action; @action(...)`` and ``import burr.core.action as m`` work.
    """

    def __call__(
        self, reads: list[str], writes: list[str], tags: list[str] | None = None
    ) -> Callable[[FuncT], FuncT]:
        return action(reads, writes, tags)

    pydantic = staticmethod(_pydantic_action)


sys.modules[__name__].__class__ = _ActionModule

# Public home of the streaming containers is this module (they live in _streaming with the engine).
from burr.core._streaming import AsyncStreamingResultContainer, StreamingResultContainer  # noqa: E402, F401
