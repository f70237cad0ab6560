"""Response and request bodies of ``/api/v1`` (they define the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

AppStatus = Literal["empty", "running", "completed", "failed"]
StepStatus = Literal["running", "completed", "failed"]


class ErrorBody(BaseModel):
    error: str
    detail: Any = None


class Version(BaseModel):
    version: str
    api: str = "v1"
    read_only: bool
    auth: bool
    storage_dir: str
    default_storage_dir: bool = Field(description="storage_dir is ~/.burr (snippets may omit it)")


class Project(BaseModel):
    name: str
    num_apps: int
    num_failed: int
    num_running: int
    created: str | None
    last_written: str | None


class ProjectList(BaseModel):
    projects: list[Project]


class Pointer(BaseModel):
    app_id: str
    sequence_id: int | None = None
    partition_key: str | None = None


class AppSummary(BaseModel):
    project: str
    app_id: str
    partition_key: str | None
    created: str | None
    first_written: str | None
    last_written: str | None
    num_steps: int
    last_sequence_id: int | None
    last_action: str | None
    status: AppStatus
    parent_pointer: Pointer | None
    spawning_parent_pointer: Pointer | None
    num_children: int
    num_warnings: int
    num_annotations: int


class AppPage(BaseModel):
    apps: list[AppSummary]
    total: int
    offset: int
    limit: int
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page (keyset paging)")


class ChildLink(BaseModel):
    app_id: str
    partition_key: str | None
    event_type: str | None
    sequence_id: int | None
    event_time: str | None


class GraphNodeStats(BaseModel):
    action: str
    visits: int
    failures: int
    mean_ms: float | None


class GraphEdgeStats(BaseModel):
    from_: str | None = Field(description="None for the entrypoint")
    to: str
    count: int


class AppDetail(AppSummary):
    graph: dict[str, Any] | None
    children: list[ChildLink]
    lineage: list[Pointer] = Field(description="fork ancestors, nearest first")
    forks: list[ChildLink]
    warnings: list[str]
    pending_bytes: int = Field(description="bytes of an incomplete last line (writer busy or killed)")
    node_stats: list[GraphNodeStats]
    edge_stats: list[GraphEdgeStats]
    format: int


class StreamTiming(BaseModel):
    start: str | None
    first_item: str | None
    end: str | None
    items: int | None
    ttft_ms: float | None = Field(description="time to first item, from the start of the step")
    items_per_second: float | None


class StepSummary(BaseModel):
    sequence_id: int
    action: str
    start_time: str | None
    end_time: str | None
    duration_ms: float | None
    status: StepStatus
    error: str | None
    num_spans: int
    num_attributes: int
    num_children: int
    attempts: int = Field(description="1, or how many times a retry policy ran the step")
    stream: StreamTiming | None


class StepPage(BaseModel):
    steps: list[StepSummary]
    total: int
    offset: int
    limit: int


class TimelineBucket(BaseModel):
    index: int
    start: str | None
    steps: int
    failed: int
    running: int
    first_sequence_id: int
    busy_ms: float


class Timeline(BaseModel):
    start: str | None
    end: str | None
    bucket_ms: float | None = None
    buckets: list[TimelineBucket]


class Span(BaseModel):
    span_id: str
    name: str
    parent_span_id: str | None
    depth: int
    start_time: str | None
    end_time: str | None
    duration_ms: float | None


class Attribute(BaseModel):
    key: str
    span_id: str | None
    value: Any
    tags: dict[str, Any]
    time_logged: str | None


class StepDetail(StepSummary):
    position: int = Field(description="how many steps of the app come before this one (its row index)")
    inputs: dict[str, Any] | None
    result: Any
    exception: str | None
    state: dict[str, Any] | None
    state_before: dict[str, Any] | None
    state_before_source: str | None = Field(description="which step 'state_before' comes from")
    spans: list[Span]
    attributes: list[Attribute]
    transition: dict[str, Any] | None
    attempt_history: list[dict[str, Any]] = Field(description="one entry per attempt of a retried step")
    children: list[ChildLink]
    warnings: list[str]


class Observation(BaseModel):
    data_fields: dict[str, Any] = Field(default_factory=dict, description="note / ground_truth")
    thumbs_up_thumbs_down: bool | None = None
    data_pointers: list[dict[str, Any]] = Field(default_factory=list)


class AnnotationCreate(BaseModel):
    span_id: str | None = Field(None, max_length=200)
    step_name: str = Field(..., max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=100)
    observations: list[Observation] = Field(default_factory=list, max_length=100)


class AnnotationUpdate(BaseModel):
    span_id: str | None = Field(None, max_length=200)
    tags: list[str] | None = Field(None, max_length=100)
    observations: list[Observation] | None = Field(None, max_length=100)


class Annotation(BaseModel):
    id: int
    project_id: str
    app_id: str
    partition_key: str | None
    step_sequence_id: int
    span_id: str | None
    step_name: str
    tags: list[str]
    observations: list[Observation]
    created: str
    updated: str


class AnnotationList(BaseModel):
    annotations: list[Annotation]
