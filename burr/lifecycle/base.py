"""The lifecycle hook interfaces. Subclass one or more and pass instances to ``with_hooks``.

The framework always calls hooks with keyword arguments only, and may add new ones: accept
``**future_kwargs``.
"""

from __future__ import annotations

import abc
import enum
from typing import TYPE_CHECKING, Any, Union

from burr.lifecycle.internal import lifecycle

if TYPE_CHECKING:
    import datetime

    from burr.common.types import ParentPointer
    from burr.core.action import Action
    from burr.core.application import ApplicationGraph
    from burr.core.state import State
    from burr.visibility.tracing import ActionSpan


class ExecuteMethod(enum.Enum):
    step = "step"
    astep = "astep"
    iterate = "iterate"
    aiterate = "aiterate"
    run = "run"
    arun = "arun"
    stream_result = "stream_result"
    astream_result = "astream_result"
    stream_iterate = "stream_iterate"
    astream_iterate = "astream_iterate"


@lifecycle.base_hook("pre_run_step")
class PreRunStepHook(abc.ABC):
    @abc.abstractmethod
    def pre_run_step(
        self, *, app_id: str, partition_key: str | None, sequence_id: int, state: State,
        action: Action, inputs: dict[str, Any], **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("pre_run_step")
class PreRunStepHookAsync(abc.ABC):
    @abc.abstractmethod
    async def pre_run_step(
        self, *, app_id: str, partition_key: str | None, sequence_id: int, state: State,
        action: Action, inputs: dict[str, Any], **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("post_run_step")
class PostRunStepHook(abc.ABC):
    @abc.abstractmethod
    def post_run_step(
        self, *, app_id: str, partition_key: str | None, sequence_id: int, state: State,
        action: Action, result: dict[str, Any] | None, exception: Exception | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("post_run_step")
class PostRunStepHookAsync(abc.ABC):
    @abc.abstractmethod
    async def post_run_step(
        self, *, app_id: str, partition_key: str | None, sequence_id: int, state: State,
        action: Action, result: dict[str, Any] | None, exception: Exception | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("post_application_create")
class PostApplicationCreateHook(abc.ABC):
    @abc.abstractmethod
    def post_application_create(
        self, *, app_id: str, partition_key: str | None, state: State, application_graph: ApplicationGraph,
        parent_pointer: ParentPointer | None, spawning_parent_pointer: ParentPointer | None,
        **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("pre_run_execute_call")
class PreApplicationExecuteCallHook(abc.ABC):
    @abc.abstractmethod
    def pre_run_execute_call(
        self, *, app_id: str, partition_key: str | None, state: State, method: ExecuteMethod,
        **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("pre_run_execute_call")
class PreApplicationExecuteCallHookAsync(abc.ABC):
    @abc.abstractmethod
    async def pre_run_execute_call(
        self, *, app_id: str, partition_key: str | None, state: State, method: ExecuteMethod,
        **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("post_run_execute_call")
class PostApplicationExecuteCallHook(abc.ABC):
    @abc.abstractmethod
    def post_run_execute_call(
        self, *, app_id: str, partition_key: str | None, state: State, method: ExecuteMethod,
        exception: Exception | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("post_run_execute_call")
class PostApplicationExecuteCallHookAsync(abc.ABC):
    @abc.abstractmethod
    async def post_run_execute_call(
        self, *, app_id: str, partition_key: str | None, state: State, method: ExecuteMethod,
        exception: Exception | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("pre_start_span")
class PreStartSpanHook(abc.ABC):
    @abc.abstractmethod
    def pre_start_span(
        self, *, action: str, action_sequence_id: int, span: ActionSpan, span_dependencies: list[str],
        app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("pre_start_span")
class PreStartSpanHookAsync(abc.ABC):
    @abc.abstractmethod
    async def pre_start_span(
        self, *, action: str, action_sequence_id: int, span: ActionSpan, span_dependencies: list[str],
        app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("post_end_span")
class PostEndSpanHook(abc.ABC):
    @abc.abstractmethod
    def post_end_span(
        self, *, action: str, action_sequence_id: int, span: ActionSpan, span_dependencies: list[str],
        app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("post_end_span")
class PostEndSpanHookAsync(abc.ABC):
    @abc.abstractmethod
    async def post_end_span(
        self, *, action: str, action_sequence_id: int, span: ActionSpan, span_dependencies: list[str],
        app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("do_log_attributes")
class DoLogAttributeHook(abc.ABC):
    @abc.abstractmethod
    def do_log_attributes(
        self, *, attributes: dict[str, Any], action: str, action_sequence_id: int, span: ActionSpan | None,
        tags: dict[str, Any], app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("do_log_attributes")
class DoLogAttributeHookAsync(abc.ABC):
    @abc.abstractmethod
    async def do_log_attributes(
        self, *, attributes: dict[str, Any], action: str, action_sequence_id: int, span: ActionSpan | None,
        tags: dict[str, Any], app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("pre_start_stream")
class PreStartStreamHook(abc.ABC):
    @abc.abstractmethod
    def pre_start_stream(
        self, *, action: str, sequence_id: int, app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("pre_start_stream")
class PreStartStreamHookAsync(abc.ABC):
    @abc.abstractmethod
    async def pre_start_stream(
        self, *, action: str, sequence_id: int, app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("post_stream_item")
class PostStreamItemHook(abc.ABC):
    @abc.abstractmethod
    def post_stream_item(
        self, *, item: Any, item_index: int, stream_initialize_time: datetime.datetime,
        first_stream_item_start_time: datetime.datetime, action: str, sequence_id: int, app_id: str,
        partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("post_stream_item")
class PostStreamItemHookAsync(abc.ABC):
    @abc.abstractmethod
    async def post_stream_item(
        self, *, item: Any, item_index: int, stream_initialize_time: datetime.datetime,
        first_stream_item_start_time: datetime.datetime, action: str, sequence_id: int, app_id: str,
        partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook("post_end_stream")
class PostEndStreamHook(abc.ABC):
    @abc.abstractmethod
    def post_end_stream(
        self, *, action: str, sequence_id: int, app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...


@lifecycle.base_hook_async("post_end_stream")
class PostEndStreamHookAsync(abc.ABC):
    @abc.abstractmethod
    async def post_end_stream(
        self, *, action: str, sequence_id: int, app_id: str, partition_key: str | None, **future_kwargs: Any,
    ) -> None: ...



@lifecycle.base_hook("post_transition_evaluation")
class PostTransitionEvaluationHook(abc.ABC):
    """Told which transition the engine took after a step, and every condition it evaluated on the way.

    ``evaluated`` lists ``{"to": name, "condition": condition name, "value": bool}`` in declaration
    order up to the first true one; ``next_action`` is None when the graph ends. ``sequence_id`` is
    the step just completed. (Beyond Apache Burr: used by the tracker to show decisions.)
    """

    @abc.abstractmethod
    def post_transition_evaluation(
        self, *, app_id: str, partition_key: str | None, sequence_id: int, from_action: str | None,
        evaluated: list[dict[str, Any]], next_action: str | None, **future_kwargs: Any,
    ) -> None: ...


# Any hook object: the union of every interface above.
LifecycleAdapter = Union[
    PreRunStepHook, PreRunStepHookAsync, PostRunStepHook, PostRunStepHookAsync, PostApplicationCreateHook,
    PreApplicationExecuteCallHook, PreApplicationExecuteCallHookAsync, PostApplicationExecuteCallHook,
    PostApplicationExecuteCallHookAsync, PreStartSpanHook, PreStartSpanHookAsync, PostEndSpanHook,
    PostEndSpanHookAsync, DoLogAttributeHook, DoLogAttributeHookAsync, PreStartStreamHook,
    PreStartStreamHookAsync, PostStreamItemHook, PostStreamItemHookAsync, PostEndStreamHook,
    PostEndStreamHookAsync, PostTransitionEvaluationHook,
]
