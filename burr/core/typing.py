"""Typing systems: how a State maps to a typed object (a dict by default, a pydantic model, ...)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from burr.core.action import Action
    from burr.core.graph import Graph
    from burr.core.state import State

BaseType = TypeVar("BaseType")


class TypingSystem(abc.ABC, Generic[BaseType]):
    """Describes the type of an application's state and converts between it and ``State``."""

    @abc.abstractmethod
    def state_type(self) -> type[BaseType]:
        """The type of the whole state."""

    @abc.abstractmethod
    def state_pre_action_run_type(self, action: Action, graph: Graph) -> type[Any]:
        """The type of the state an action receives."""

    @abc.abstractmethod
    def state_post_action_run_type(self, action: Action, graph: Graph) -> type[Any]:
        """The type of the state an action returns."""

    def validate_state(self, state: State[Any]) -> None:
        """Raise if ``state`` does not match this typing system (no-op by default)."""

    @abc.abstractmethod
    def construct_data(self, state: State[Any]) -> BaseType:
        """The typed object holding ``state``'s values (what ``state.data`` returns)."""

    @abc.abstractmethod
    def construct_state(self, data: BaseType) -> State[BaseType]:
        """A ``State`` holding the values of a typed object."""


class ActionSchema(abc.ABC):
    """The types an action reads, writes and streams."""

    @abc.abstractmethod
    def state_input_type(self) -> type[Any]:
        """Type of the state the action reads."""

    @abc.abstractmethod
    def state_output_type(self) -> type[Any]:
        """Type of the state the action writes."""

    @abc.abstractmethod
    def intermediate_result_type(self) -> type[Any]:
        """Type of the result (and of streamed items); the engine checks results against it."""


class DictBasedTypingSystem(TypingSystem[dict[str, Any]]):
    """The default: state is a plain dict of values."""

    def state_type(self) -> type[dict[str, Any]]:
        return dict

    def state_pre_action_run_type(self, action: Action, graph: Graph) -> type[dict[str, Any]]:
        return dict

    def state_post_action_run_type(self, action: Action, graph: Graph) -> type[dict[str, Any]]:
        return dict

    def construct_data(self, state: State[Any]) -> dict[str, Any]:
        return state.get_all()

    def construct_state(self, data: dict[str, Any]) -> State[dict[str, Any]]:
        from burr.core.state import State

        return State(data, typing_system=self)
