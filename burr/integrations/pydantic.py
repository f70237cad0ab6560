"""Typed state: a pydantic model as the shape of an application's state.

Three pieces work together:

* ``PydanticTypingSystem(Model)`` given to ``ApplicationBuilder.with_typing(...)`` makes
  ``state.data`` (and so ``app.state.data``) return a ``Model`` instance. State itself still stores
  plain field values (``model_dump()`` output), so persisters and trackers store ordinary data and
  the model comes back on load as long as the loading builder calls ``with_typing`` too.
* ``@action.pydantic(reads=..., writes=...)`` (this module's ``pydantic_action``) lets a function
  receive the state as a model and return a model; declared writes are validated and merged back.
* ``@streaming_action.pydantic(...)`` (``pydantic_streaming_action``) does the same for generators
  that stream partial results.

Unlike Apache Burr, ``state.data`` also works inside class-based actions, which only see the fields
they read: the model is built from the fields present, the others are left unset.
"""

from __future__ import annotations

import copy
import inspect
import types
import typing
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any, Callable, Optional, TypeVar

from burr.integrations.base import require_plugin

try:
    import pydantic
    from pydantic import BaseModel
except ImportError as e:  # pragma: no cover - exercised only without pydantic installed
    require_plugin(e, "pydantic")

from burr.core.action import (
    FunctionBasedAction,
    FunctionBasedStreamingAction,
    bind,
    derive_inputs_from_fn,
)
from burr.core.state import State
from burr.core.typing import ActionSchema, TypingSystem

Model = TypeVar("Model", bound=BaseModel)
ModelType = type[BaseModel]

__all__ = [
    "PydanticActionSchema",
    "PydanticTypingSystem",
    "StateValidationError",
    "merge_to_state",
    "model_from_state",
    "model_to_dict",
    "pydantic_action",
    "pydantic_streaming_action",
    "subset_model",
]


class StateValidationError(ValueError):
    """A typed-state value does not match its model. Names the action and the offending fields."""

    def __init__(self, message: str, fields: list[str], action: str | None) -> None:
        super().__init__(message)
        self.fields = fields
        self.action = action


# --------------------------------------------------------------------------------------------
# Model <-> state helpers
# --------------------------------------------------------------------------------------------


def model_to_dict(model: BaseModel, include: Sequence[str] | None = None) -> dict[str, Any]:
    """The model's field values as a dict (``model_dump()``), restricted to ``include`` if given."""
    return model.model_dump(include=set(include) if include is not None else None)


def model_from_state(model: type[Model], state: State[Any]) -> Model:
    """Validate the model's fields found in ``state`` into a ``model`` instance."""
    return model.model_validate({k: state[k] for k in model.model_fields if k in state})


def merge_to_state(model: BaseModel, write_keys: Sequence[str], state: State[Any]) -> State[Any]:
    """Copy ``write_keys`` from ``model`` into ``state`` (a new State)."""
    return state.update(**model_to_dict(model, include=write_keys))


_SUBSET_CACHE: dict[tuple[Any, ...], ModelType] = {}


def subset_model(
    model: type[BaseModel],
    fields: Sequence[str],
    force_optional_fields: Sequence[str],
    model_name_suffix: str,
) -> type[BaseModel]:
    """A new model named ``<Model><suffix>`` with only ``fields`` (same annotations and config).

    Fields in ``force_optional_fields`` that have no default become ``Optional[...] = None``: they
    are fields an action writes but has not got yet.
    """
    key = (model, tuple(fields), tuple(force_optional_fields), model_name_suffix)
    cached = _SUBSET_CACHE.get(key)
    if cached is not None:
        return cached
    definitions: dict[str, Any] = {}
    for name in fields:
        info = copy.deepcopy(model.model_fields[name])
        annotation = info.annotation
        if name in force_optional_fields and info.is_required():
            annotation = Optional[annotation]  # type: ignore[assignment]  # noqa: UP045 - runtime type object
            info.default = None
        info.annotation = annotation
        definitions[name] = (annotation, info)
    subset: type[BaseModel] = pydantic.create_model(  # type: ignore[call-overload]
        f"{model.__name__}{model_name_suffix}", __config__=model.model_config, **definitions
    )
    _SUBSET_CACHE[key] = subset
    return subset


def _current_action_name(fallback: str | None) -> str | None:
    """The running action's name (the function name is only a fallback: actions can be renamed)."""
    try:
        from burr.core.application import ApplicationContext
    except ImportError:  # pragma: no cover - engine always present in a full install
        return fallback
    ctx = ApplicationContext.get()
    name = getattr(ctx, "action_name", None) if ctx is not None else None
    return name or fallback


def _validation_error(
    error: pydantic.ValidationError, model: type[BaseModel], action: str | None, when: str
) -> StateValidationError:
    fields = [".".join(str(p) for p in err["loc"]) or "<model>" for err in error.errors()]
    details = "; ".join(
        f"'{'.'.join(str(p) for p in err['loc'])}': {err['msg']} (got {err.get('input')!r})"
        for err in error.errors()
    )
    where = f"action '{action}'" if action else "typed state"
    return StateValidationError(
        f"Typed state validation failed {when} {where} against model {model.__name__}: {details}. "
        f"Fix the value(s) written to field(s) {fields} so they match the model's annotations.",
        fields,
        action,
    )


def _validate(model: type[Model], data: dict[str, Any], action: str | None, when: str) -> Model:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as e:
        raise _validation_error(e, model, action, when) from e


# --------------------------------------------------------------------------------------------
# Typing system
# --------------------------------------------------------------------------------------------


class PydanticTypingSystem(TypingSystem[Model]):
    """Typing system whose ``state.data`` is an instance of ``model_type``."""

    def __init__(self, model_type: type[Model]) -> None:
        self.model_type = model_type

    def state_type(self) -> type[Model]:
        return self.model_type

    def state_pre_action_run_type(self, action: Any, graph: Any) -> type[Any]:
        raise NotImplementedError(
            "PydanticTypingSystem does not compute per-action state types; use the action's schema."
        )

    def state_post_action_run_type(self, action: Any, graph: Any) -> type[Any]:
        raise NotImplementedError(
            "PydanticTypingSystem does not compute per-action state types; use the action's schema."
        )

    def validate_state(self, state: State[Any]) -> None:
        _validate(self.model_type, _present_fields(self.model_type, state), _current_action_name(None), "in")

    def construct_data(self, state: State[Any]) -> Model:
        present = _present_fields(self.model_type, state)
        missing_required = [
            name
            for name, info in self.model_type.model_fields.items()
            if info.is_required() and name not in present
        ]
        action = _current_action_name(None)
        if not missing_required:
            return _validate(self.model_type, present, action, "in")
        # A class-based action sees only the fields it reads: validate those, leave the rest unset.
        partial = subset_model(self.model_type, list(present), [], "Partial")
        validated = _validate(partial, present, action, "in")
        return self.model_type.model_construct(_fields_set=set(present), **dict(validated))

    def construct_state(self, data: Model) -> State[Model]:
        if not isinstance(data, self.model_type):
            raise ValueError(
                f"PydanticTypingSystem({self.model_type.__name__}) got a {type(data).__name__} as state. "
                f"Pass an instance of {self.model_type.__name__} to with_state(...)."
            )
        return State(model_to_dict(data), typing_system=self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PydanticTypingSystem) and other.model_type is self.model_type

    def __hash__(self) -> int:
        return hash((PydanticTypingSystem, self.model_type))

    def __repr__(self) -> str:
        return f"PydanticTypingSystem({self.model_type.__name__})"


def _present_fields(model: type[BaseModel], state: State[Any]) -> dict[str, Any]:
    return {k: state[k] for k in model.model_fields if k in state}


# --------------------------------------------------------------------------------------------
# Pydantic actions
# --------------------------------------------------------------------------------------------


class PydanticActionSchema(ActionSchema):
    """Schema of a pydantic action: its state input/output models and streamed item type."""

    def __init__(
        self,
        input_type: type[BaseModel],
        output_type: type[BaseModel],
        intermediate_result_type: type[Any] = dict,
    ) -> None:
        self._input_type = input_type
        self._output_type = output_type
        self._intermediate_result_type = intermediate_result_type

    def state_input_type(self) -> type[BaseModel]:
        return self._input_type

    def state_output_type(self) -> type[BaseModel]:
        return self._output_type

    def intermediate_result_type(self) -> type[Any]:
        return self._intermediate_result_type


def _is_model_type(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _validate_and_extract_signature_types(fn: Callable[..., Any]) -> tuple[type[BaseModel], type[BaseModel]]:
    """(state model, returned model) from ``fn``'s annotations; clear errors when they are not models."""
    name = getattr(fn, "__qualname__", repr(fn))
    if "state" not in inspect.signature(fn).parameters:
        raise ValueError(
            f"Function {name} must have a parameter named `state` (annotated with a pydantic model) "
            "to be used with @action.pydantic."
        )
    hints = typing.get_type_hints(fn)
    state_type = hints.get("state")
    if not _is_model_type(state_type):
        raise ValueError(
            f"Function {name}: the `state` parameter must be annotated with a pydantic BaseModel subclass, "
            f"got {state_type!r}. Annotate it (e.g. `state: MyState`) or pass state_input_type= and "
            "state_output_type= to @action.pydantic."
        )
    return_type = hints.get("return")
    if not _is_model_type(return_type):
        raise ValueError(
            f"Function {name}: the return annotation must be a pydantic BaseModel subclass, got "
            f"{return_type!r}. Annotate the return type or pass state_output_type=."
        )
    return state_type, return_type  # type: ignore[return-value]


def _validate_keys(model: type[BaseModel], keys: Sequence[str], fn: Callable[..., Any]) -> None:
    missing = [k for k in keys if k not in model.model_fields]
    if missing:
        raise ValueError(
            f"Function {getattr(fn, '__qualname__', fn)!s} declares state keys that its model does not "
            f"have. The keys: {missing} are not present in the model: {model.__name__} "
            f"(fields: {list(model.model_fields)}). Add them to the model or remove them from reads/writes."
        )


def _resolve_types(
    fn: Callable[..., Any],
    state_input_type: type[BaseModel] | None,
    state_output_type: type[BaseModel] | None,
) -> tuple[type[BaseModel], type[BaseModel]]:
    if state_input_type is None and state_output_type is None:
        return _validate_and_extract_signature_types(fn)
    if state_input_type is None or state_output_type is None:
        raise ValueError(
            f"Function {getattr(fn, '__qualname__', fn)!s}: pass both state_input_type and state_output_type, "
            "or neither (then they are read from the `state` annotation and the return annotation)."
        )
    return state_input_type, state_output_type


class _Binding:
    """What a pydantic action needs at run time: models, keys, and the user function."""

    def __init__(
        self,
        fn: Callable[..., Any],
        reads: list[str],
        writes: list[str],
        input_type: type[BaseModel],
        output_type: type[BaseModel],
    ) -> None:
        _validate_keys(input_type, reads, fn)
        _validate_keys(output_type, writes, fn)
        self.fn = fn
        self.writes = writes
        fields = list(dict.fromkeys([*reads, *writes]))
        # The action may assign its writes on the model it receives, so they must exist there.
        self.input_model = subset_model(
            input_type, fields, [w for w in writes if w not in reads], f"_{fn.__name__}_input"
        )
        self.output_model = subset_model(output_type, writes, [], f"_{fn.__name__}_output")

    def model_in(self, state: State[Any]) -> BaseModel:
        data = {k: state[k] for k in self.input_model.model_fields if k in state}
        return _validate(self.input_model, data, _current_action_name(self.fn.__name__), "before")

    def state_out(self, returned: Any, state: State[Any]) -> State[Any]:
        action = _current_action_name(self.fn.__name__)
        if not isinstance(returned, BaseModel):
            raise ValueError(
                f"Pydantic action '{action}' must return a pydantic model holding its writes "
                f"{self.writes}, got {type(returned).__name__}."
            )
        values = {k: getattr(returned, k) for k in self.writes if hasattr(returned, k)}
        missing = [k for k in self.writes if k not in values]
        if missing:
            raise ValueError(
                f"Pydantic action '{action}' returned a {type(returned).__name__} without its declared "
                f"writes {missing}. Return a model that has every key listed in writes."
            )
        # Models do not validate on attribute assignment by default; catch wrong types here.
        validated = _validate(self.output_model, values, action, "after")
        return state.update(**model_to_dict(validated))


def _attach(fn: Callable[..., Any], action_function: Any) -> Callable[..., Any]:
    fn.action_function = action_function  # type: ignore[attr-defined]
    fn.bind = types.MethodType(bind, fn)  # type: ignore[attr-defined]
    return fn


def pydantic_action(
    reads: list[str],
    writes: list[str],
    state_input_type: type[BaseModel] | None = None,
    state_output_type: type[BaseModel] | None = None,
    tags: list[str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator (``@action.pydantic``): the function receives ``state`` as a model, returns a model.

    The model types come from the ``state`` annotation and the return annotation unless both are
    given. ``reads`` must be fields of the input model and ``writes`` fields of the output model.
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        itype, otype = _resolve_types(fn, state_input_type, state_output_type)
        binding = _Binding(fn, reads, writes, itype, otype)

        if inspect.iscoroutinefunction(fn):

            async def async_action_function(
                state: State[Any], **kwargs: Any
            ) -> tuple[dict[str, Any], State[Any]]:
                returned = await fn(state=binding.model_in(state), **kwargs)
                return {}, binding.state_out(returned, state)

            runner: Callable[..., Any] = async_action_function
        else:

            def action_function(state: State[Any], **kwargs: Any) -> tuple[dict[str, Any], State[Any]]:
                returned = fn(state=binding.model_in(state), **kwargs)
                return {}, binding.state_out(returned, state)

            runner = action_function
        wrapped = FunctionBasedAction(
            runner,
            reads,
            writes,
            input_spec=derive_inputs_from_fn({}, fn),
            originating_fn=fn,
            schema=PydanticActionSchema(itype, otype),
            tags=tags,
        )
        return _attach(fn, wrapped)

    return decorator


PartialType = TypeVar("PartialType")
PydanticStreamGenerator = Generator[tuple[Any, BaseModel | None], None, None]
PydanticAsyncStreamGenerator = AsyncGenerator[tuple[Any, BaseModel | None], None]


def pydantic_streaming_action(
    reads: list[str],
    writes: list[str],
    state_input_type: type[BaseModel],
    state_output_type: type[BaseModel],
    stream_type: type[Any],
    tags: list[str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator (``@streaming_action.pydantic``) for generators over a model-typed state.

    The generator yields ``(partial, None)`` for each streamed item (a ``stream_type`` instance or
    a dict) and finally ``(final_item, output_model)``. All three types are required.
    """
    for label, value in (
        ("state_input_type", state_input_type),
        ("state_output_type", state_output_type),
        ("stream_type", stream_type),
    ):
        if value is None:
            raise ValueError(
                f"{label} is required for @streaming_action.pydantic: pass state_input_type, "
                "state_output_type and stream_type (the type of each streamed item)."
            )

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        binding = _Binding(fn, reads, writes, state_input_type, state_output_type)

        def finish(item: Any, returned: Any, state: State[Any]) -> tuple[Any, State[Any] | None]:
            return item, (None if returned is None else binding.state_out(returned, state))

        if inspect.isasyncgenfunction(fn):

            async def async_stream(state: State[Any], **kwargs: Any) -> AsyncGenerator[Any, None]:
                async for item, returned in fn(state=binding.model_in(state), **kwargs):
                    yield finish(item, returned, state)

            runner: Callable[..., Any] = async_stream
        else:

            def stream(state: State[Any], **kwargs: Any) -> Generator[Any, None, None]:
                for item, returned in fn(state=binding.model_in(state), **kwargs):
                    yield finish(item, returned, state)

            runner = stream
        wrapped = FunctionBasedStreamingAction(
            runner,
            reads,
            writes,
            input_spec=derive_inputs_from_fn({}, fn),
            originating_fn=fn,
            schema=PydanticActionSchema(state_input_type, state_output_type, stream_type),
            tags=tags,
        )
        return _attach(fn, wrapped)

    return decorator
