"""``/api/v1`` routes. Every answer comes from the index; nothing here scans whole logs."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from burr.tracking.server import annotations as annotation_store
from burr.tracking.server import models, persister_source, queries
from burr.tracking.server.events import event_stream
from burr.tracking.server.index import TrackingIndex

# No separators or control characters, and no leading '.', so '..' and hidden names are refused
# (ids are only ever looked up in the index, never joined into a filesystem path).
ID_PATTERN = r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,255}$"
MAX_INT = 2**62

ProjectId = Path(..., pattern=ID_PATTERN, description="project name (a directory under the storage dir)")
AppId = Path(..., pattern=ID_PATTERN, description="application id")
SeqId = Path(..., ge=0, le=MAX_INT, description="step sequence id")

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": models.ErrorBody}}


def _index(request: Request) -> TrackingIndex:
    index: TrackingIndex = request.app.state.burr_index
    return index


@dataclasses.dataclass(frozen=True)
class _Scope:
    """The index and the ids a route's path names, validated but not yet looked up.

    Handlers call ``project_or_404``/``app_or_404`` themselves: FastAPI runs dependencies before it
    validates a handler's own parameters, and a bad query parameter must answer 422 even for an
    unknown id.
    """

    index: TrackingIndex
    project: str
    app_id: str = ""
    sequence_id: int = -1

    def reader(self) -> sqlite3.Connection:
        return self.index.reader()

    def missing_project(self) -> HTTPException:
        return HTTPException(404, f"project {self.project!r} not found")

    def missing_step(self) -> HTTPException:
        return HTTPException(404, f"step {self.sequence_id} not found in app {self.app_id!r}")

    def project_or_404(self) -> None:
        if not queries.project_exists(self.reader(), self.project):
            raise self.missing_project()

    def app_or_404(self) -> sqlite3.Row:
        self.project_or_404()
        row = queries.get_app(self.reader(), self.project, self.app_id)
        if row is None:
            raise HTTPException(404, f"app {self.app_id!r} not found in project {self.project!r}")
        return row


# async: they only build a value, so FastAPI runs them without a thread-pool hop
async def _project_scope(request: Request, project: str = ProjectId) -> _Scope:
    return _Scope(_index(request), project)


async def _app_scope(request: Request, project: str = ProjectId, app_id: str = AppId) -> _Scope:
    return _Scope(_index(request), project, app_id)


async def _step_scope(
    request: Request, project: str = ProjectId, app_id: str = AppId, sequence_id: int = SeqId
) -> _Scope:
    return _Scope(_index(request), project, app_id, sequence_id)


ProjectScope = Annotated[_Scope, Depends(_project_scope)]
AppScope = Annotated[_Scope, Depends(_app_scope)]
StepScope = Annotated[_Scope, Depends(_step_scope)]


class _AppListQuery(BaseModel):
    """Query parameters of the app list, named as ``queries.list_apps`` takes them."""

    q: str | None = Field(None, max_length=256, description="app id or partition key prefix")
    partition_key: str | None = Field(None, max_length=1024, description="exact; '__none__' = no key")
    status: Literal["empty", "running", "completed", "failed"] | None = None
    since: str | None = Field(None, max_length=64, description="last written at or after (ISO-8601)")
    until: str | None = Field(None, max_length=64, description="last written at or before (ISO-8601)")
    parent: str | None = Field(None, max_length=256, description="children and forks of this app id")
    top_level: bool = Field(False, description="hide spawned child apps")
    sort: Literal["last_written", "first_written", "created", "app_id", "num_steps"] = "last_written"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000_000)
    cursor: str | None = Field(None, max_length=1024)


class _StepListQuery(BaseModel):
    """Query parameters of an app's step list, named as ``queries.list_steps`` takes them."""

    offset: int = Field(0, ge=0, le=1_000_000_000)
    limit: int = Field(100, ge=1, le=2000)
    order: Literal["asc", "desc"] = "asc"
    after_sequence_id: int | None = Field(None, ge=-1, le=MAX_INT)
    status: Literal["running", "completed", "failed"] | None = None
    action: str | None = Field(None, max_length=256)


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def build_router(version: str) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/version", response_model=models.Version, tags=["meta"])
    def get_version(request: Request) -> dict[str, Any]:
        cfg = request.app.state.burr_config
        return {
            "version": version,
            "read_only": cfg["read_only"],
            "auth": bool(cfg["token"]),
            "storage_dir": _index(request).storage_dir,
            "default_storage_dir": _index(request).storage_dir
            == os.path.abspath(os.path.expanduser("~/.burr")),
        }

    @router.get("/projects", response_model=models.ProjectList, tags=["projects"])
    def get_projects(request: Request) -> dict[str, Any]:
        return {"projects": queries.list_projects(_index(request).reader())}

    @router.get("/projects/{project}", response_model=models.Project, responses=NOT_FOUND, tags=["projects"])
    def get_project(scope: ProjectScope) -> dict[str, Any]:
        for p in queries.list_projects(scope.reader()):
            if p["name"] == scope.project:
                return p
        raise scope.missing_project()

    @router.get("/projects/{project}/apps", response_model=models.AppPage, responses=NOT_FOUND, tags=["apps"])
    def get_apps(scope: ProjectScope, query: Annotated[_AppListQuery, Query()]) -> dict[str, Any]:
        scope.project_or_404()
        return queries.list_apps(scope.reader(), scope.project, **query.model_dump())

    @router.get(
        "/projects/{project}/apps/{app_id}",
        response_model=models.AppDetail,
        responses=NOT_FOUND,
        tags=["apps"],
    )
    def get_app(scope: AppScope) -> dict[str, Any]:
        row = scope.app_or_404()
        return queries.app_detail(scope.reader(), row)

    @router.get(
        "/projects/{project}/apps/{app_id}/steps",
        response_model=models.StepPage,
        responses=NOT_FOUND,
        tags=["steps"],
    )
    def get_steps(scope: AppScope, query: Annotated[_StepListQuery, Query()]) -> dict[str, Any]:
        row = scope.app_or_404()
        return queries.list_steps(scope.reader(), row["id"], **query.model_dump())

    @router.get(
        "/projects/{project}/apps/{app_id}/timeline",
        response_model=models.Timeline,
        responses=NOT_FOUND,
        tags=["steps"],
    )
    def get_timeline(
        scope: AppScope,
        buckets: int = Query(200, ge=1, le=2000, description="number of equal time slices"),
    ) -> dict[str, Any]:
        """Step counts per time slice: a minimap of an app of any length."""
        row = scope.app_or_404()
        return queries.timeline(scope.reader(), row["id"], buckets)

    @router.get(
        "/projects/{project}/apps/{app_id}/steps/{sequence_id}",
        response_model=models.StepDetail,
        responses=NOT_FOUND,
        tags=["steps"],
    )
    def get_step(scope: StepScope) -> dict[str, Any]:
        row = scope.app_or_404()
        source = scope.index.sources.get(scope.project)
        if source is not None:
            out = persister_source.step_detail(source, scope.reader(), row, scope.sequence_id)
        else:
            out = queries.step_detail(scope.index, scope.reader(), row, scope.sequence_id)
        if out is None:
            raise scope.missing_step()
        return out

    @router.get(
        "/projects/{project}/apps/{app_id}/annotations",
        response_model=models.AnnotationList,
        responses=NOT_FOUND,
        tags=["annotations"],
    )
    def get_app_annotations(scope: AppScope) -> dict[str, Any]:
        scope.app_or_404()
        return {"annotations": queries.list_annotations(scope.reader(), scope.project, scope.app_id)}

    @router.post(
        "/projects/{project}/apps/{app_id}/steps/{sequence_id}/annotations",
        response_model=models.Annotation,
        status_code=201,
        responses=NOT_FOUND,
        tags=["annotations"],
    )
    def create_annotation(body: models.AnnotationCreate, scope: StepScope) -> dict[str, Any]:
        row = scope.app_or_404()
        if not queries.step_exists(scope.reader(), row["id"], scope.sequence_id):
            raise scope.missing_step()
        return annotation_store.create(
            scope.index,
            scope.project,
            scope.app_id,
            row["partition_key"],
            scope.sequence_id,
            body.model_dump(),
        )

    @router.put(
        "/projects/{project}/annotations/{annotation_id}",
        response_model=models.Annotation,
        responses=NOT_FOUND,
        tags=["annotations"],
    )
    def update_annotation(
        request: Request,
        body: models.AnnotationUpdate,
        project: str = ProjectId,
        annotation_id: int = Path(..., ge=0, le=MAX_INT),
    ) -> dict[str, Any]:
        scope = _Scope(_index(request), project)  # not a dependency: keeps {project} first in the schema
        scope.project_or_404()
        out = annotation_store.update(
            scope.index, scope.project, annotation_id, body.model_dump(exclude_unset=True)
        )
        if out is None:
            raise HTTPException(404, f"annotation {annotation_id} not found in project {scope.project!r}")
        return out

    @router.get(
        "/projects/{project}/annotations",
        response_model=models.AnnotationList,
        responses=NOT_FOUND,
        tags=["annotations"],
    )
    def get_annotations(
        scope: ProjectScope,
        app_id: str | None = Query(None, max_length=256),
        partition_key: str | None = Query(None, max_length=1024),
        step_sequence_id: int | None = Query(None, ge=0, le=MAX_INT),
    ) -> dict[str, Any]:
        scope.project_or_404()
        return {
            "annotations": queries.list_annotations(
                scope.reader(), scope.project, app_id, step_sequence_id, partition_key
            )
        }

    @router.get(
        "/projects/{project}/annotations/export",
        response_class=PlainTextResponse,
        responses={200: {"content": {"application/x-ndjson": {}}}, **NOT_FOUND},
        tags=["annotations"],
    )
    def export_annotations(scope: ProjectScope) -> PlainTextResponse:
        """All annotations of a project as JSON lines (one annotation per line)."""
        scope.project_or_404()
        lines = [json.dumps(a) for a in queries.list_annotations(scope.reader(), scope.project)]
        return PlainTextResponse(
            "".join(line + "\n" for line in lines),
            media_type="application/x-ndjson",
            headers={
                "Content-Disposition": f'attachment; filename="{_safe_filename(scope.project)}-annotations.jsonl"'
            },
        )

    @router.get(
        "/events",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **NOT_FOUND},
        tags=["events"],
    )
    async def events(
        request: Request,
        project: str | None = Query(None, pattern=ID_PATTERN),
        app_id: str | None = Query(None, pattern=ID_PATTERN),
        since: int | None = Query(None, ge=0, le=MAX_INT, description="resume after this event id"),
        last_event_id: str | None = Header(None, max_length=32),
        max_seconds: float = Query(60.0, ge=0.0, le=3600.0, description="close after this long"),
        kind: Literal["app", "step", "annotation"] | None = Query(
            None, description="only this kind of event"
        ),
    ) -> StreamingResponse:
        """Server-sent events: ``app`` (new/changed app), ``step`` (step started/ended), ``annotation``.

        Resume with the ``Last-Event-ID`` header (browsers send it on reconnect) or ``?since=``.
        """
        if project is not None:
            _Scope(_index(request), project).project_or_404()
        resume = since
        if last_event_id is not None:
            try:
                resume = max(0, int(last_event_id))
            except ValueError as e:
                raise HTTPException(
                    422, "Last-Event-ID must be an event id (an integer) this server sent"
                ) from e
        return StreamingResponse(
            event_stream(_index(request), request, project, app_id, resume, max_seconds, kind),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
