"""Pydantic models of the tracking records (spec section 4), for code that wants typed records.

The tracker itself writes plain dicts (see ``burr.tracking.client``); these models describe the
same shapes, accept both Apache Burr's records (format 1) and ours (format 2: UTC times, state
deltas, call and transition records), and are what the server can validate against. Requires
pydantic v2 (the ``tracking-client`` extra).
"""

from __future__ import annotations

import datetime
from typing import Any, Literal, Union

import pydantic

from burr.tracking.common import logs


class IdentifyingModel(pydantic.BaseModel):
    """Base of every record: the ``type`` discriminator comes first."""

    model_config = pydantic.ConfigDict(extra="allow")
    type: str


class PointerModel(IdentifyingModel):
    type: Literal["pointer_data"] = "pointer_data"
    app_id: str | None
    sequence_id: int | None
    partition_key: str | None

    @staticmethod
    def from_pointer(pointer: Any) -> PointerModel | None:
        if pointer is None:
            return None
        return PointerModel(
            app_id=pointer.app_id, sequence_id=pointer.sequence_id, partition_key=pointer.partition_key
        )


class ActionModel(IdentifyingModel):
    type: Literal["action"] = "action"
    name: str
    reads: list[str]
    writes: list[str]
    code: str
    inputs: list[str] = pydantic.Field(default_factory=list)  # required inputs (format 2)
    optional_inputs: list[str] = pydantic.Field(default_factory=list)

    @staticmethod
    def from_action(action: Any) -> ActionModel:
        from burr.tracking import _records

        return ActionModel(**{k: v for k, v in _records.action_model(action).items() if k != "type"})


class TransitionModel(IdentifyingModel):
    type: Literal["transition"] = "transition"
    from_: str
    to: str
    condition: str

    @staticmethod
    def from_transition(transition: Any) -> TransitionModel:
        from burr.tracking import _records

        return TransitionModel(
            **{k: v for k, v in _records.transition_model(transition).items() if k != "type"}
        )


class ApplicationModel(IdentifyingModel):
    type: Literal["application"] = "application"
    entrypoint: str | None
    actions: list[ActionModel]
    transitions: list[TransitionModel]
    burr_format: int | None = logs.FORMAT_VERSION

    @staticmethod
    def from_application_graph(graph: Any) -> ApplicationModel:
        from burr.tracking import _records

        return ApplicationModel.model_validate(_records.application_model(graph))


class ApplicationMetadataModel(IdentifyingModel):
    type: Literal["application_metadata"] = "application_metadata"
    partition_key: str | None = None
    parent_pointer: PointerModel | None = None
    spawning_parent_pointer: PointerModel | None = None
    burr_format: int | None = logs.FORMAT_VERSION
    created_at: datetime.datetime | None = None


class ChildApplicationModel(IdentifyingModel):
    type: Literal["child_application_data"] = "child_application_data"
    child: PointerModel
    event_time: datetime.datetime
    event_type: Literal["fork", "spawn_start"]
    sequence_id: int | None


class BeginEntryModel(IdentifyingModel):
    type: Literal["begin_entry"] = "begin_entry"
    start_time: datetime.datetime
    action: str
    inputs: dict[str, Any] = pydantic.Field(default_factory=dict)
    sequence_id: int
    call_id: str | None = None


class EndEntryModel(IdentifyingModel):
    type: Literal["end_entry"] = "end_entry"
    end_time: datetime.datetime
    action: str
    result: dict[str, Any] | None = pydantic.Field(default_factory=dict)
    exception: str | None = None
    state: dict[str, Any] | None = None  # a full snapshot, or None when state_delta is given
    sequence_id: int
    state_delta: list[dict[str, Any]] | None = None
    call_id: str | None = None
    attempt: int | None = None


class _SpanRecord(IdentifyingModel):
    @property
    def sequence_id(self) -> int:
        return self.action_sequence_id  # type: ignore[attr-defined,no-any-return]


class BeginSpanModel(_SpanRecord):
    type: Literal["begin_span"] = "begin_span"
    start_time: datetime.datetime
    action_sequence_id: int
    span_id: str
    span_name: str
    parent_span_id: str | None
    span_dependencies: list[str]


class EndSpanModel(_SpanRecord):
    type: Literal["end_span"] = "end_span"
    end_time: datetime.datetime
    action_sequence_id: int
    span_id: str


class AttributeModel(_SpanRecord):
    type: Literal["attribute"] = "attribute"
    key: str
    action_sequence_id: int
    span_id: str | None
    value: Union[dict[str, Any], list[Any], str, int, float, bool, None]
    tags: dict[str, Any]
    time_logged: datetime.datetime | None = None


class InitializeStreamModel(_SpanRecord):
    type: Literal["begin_stream"] = "begin_stream"
    action_sequence_id: int
    span_id: str | None
    stream_init_time: datetime.datetime


class FirstItemStreamModel(_SpanRecord):
    type: Literal["first_item_stream"] = "first_item_stream"
    action_sequence_id: int
    span_id: str | None
    first_item_time: datetime.datetime


class EndStreamModel(_SpanRecord):
    type: Literal["end_stream"] = "end_stream"
    action_sequence_id: int
    span_id: str | None
    end_time: datetime.datetime
    items_streamed: int


class BeginCallModel(IdentifyingModel):
    type: Literal["begin_call"] = "begin_call"
    call_id: str | None = None  # lean records: assigned by logs.read_log from the record's position
    method: str = "run"
    start_time: datetime.datetime
    sequence_id: int | None = None


class EndCallModel(IdentifyingModel):
    type: Literal["end_call"] = "end_call"
    call_id: str | None = None
    end_time: datetime.datetime
    exception: str | None = None
    sequence_id: int | None = None


class TransitionEvaluationModel(IdentifyingModel):
    """A ``transition`` log record: which conditions were evaluated after a step, and the winner."""

    type: Literal["transition"] = "transition"
    sequence_id: int | None
    from_: str | None
    evaluated: list[dict[str, Any]]
    to: str | None


LOG_RECORD_MODELS: dict[str, type[IdentifyingModel]] = {
    m.model_fields["type"].default: m
    for m in (
        BeginEntryModel,
        EndEntryModel,
        BeginSpanModel,
        EndSpanModel,
        AttributeModel,
        InitializeStreamModel,
        FirstItemStreamModel,
        EndStreamModel,
        BeginCallModel,
        EndCallModel,
        TransitionEvaluationModel,
    )
}


def parse_log_record(record: dict[str, Any]) -> IdentifyingModel | None:
    """The model for one ``log.jsonl`` record, or None for an unknown type.

    Lean format-2 fields are filled in (``logs.fill_defaults``); ids implied by a record's position
    (call ids, call sequence ids) come only from ``logs.read_log``/``iter_log``, so pass their records.
    """
    model = LOG_RECORD_MODELS.get(record.get("type", ""))
    return model.model_validate(logs.fill_defaults(dict(record))) if model is not None else None
