"""``/api/v1`` routes. Every answer comes from the index; nothing here scans whole logs."""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from burr.tracking.server import annotations as annotation_store
from burr.tracking.server import models, queries
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


def _project_or_404(request: Request, project: str) -> None:
    if not queries.project_exists(_index(request).reader(), project):
        raise HTTPException(404, f"project {project!r} not found")


def _app_or_404(request: Request, project: str, app_id: str) -> Any:
    _project_or_404(request, project)
    row = queries.get_app(_index(request).reader(), project, app_id)
    if row is None:
        raise HTTPException(404, f"app {app_id!r} not found in project {project!r}")
    return row


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
    def get_project(request: Request, project: str = ProjectId) -> dict[str, Any]:
        for p in queries.list_projects(_index(request).reader()):
            if p["name"] == project:
                return p
        raise HTTPException(404, f"project {project!r} not found")

    @router.get("/projects/{project}/apps", response_model=models.AppPage, responses=NOT_FOUND, tags=["apps"])
    def get_apps(
        request: Request,
        project: str = ProjectId,
        q: str | None = Query(None, max_length=256, description="app id or partition key prefix"),
        partition_key: str | None = Query(None, max_length=1024, description="exact; '__none__' = no key"),
        status: Literal["empty", "running", "completed", "failed"] | None = None,
        since: str | None = Query(None, max_length=64, description="last written at or after (ISO-8601)"),
        until: str | None = Query(None, max_length=64, description="last written at or before (ISO-8601)"),
        parent: str | None = Query(None, max_length=256, description="children and forks of this app id"),
        top_level: bool = Query(False, description="hide spawned child apps"),
        sort: Literal["last_written", "first_written", "created", "app_id", "num_steps"] = "last_written",
        order: Literal["asc", "desc"] = "desc",
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=1_000_000_000),
        cursor: str | None = Query(None, max_length=1024),
    ) -> dict[str, Any]:
        _project_or_404(request, project)
        return queries.list_apps(
            _index(request).reader(),
            project,
            q=q,
            partition_key=partition_key,
            status=status,
            since=since,
            until=until,
            parent=parent,
            top_level=top_level,
            sort=sort,
            order=order,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )

    @router.get(
        "/projects/{project}/apps/{app_id}",
        response_model=models.AppDetail,
        responses=NOT_FOUND,
        tags=["apps"],
    )
    def get_app(request: Request, project: str = ProjectId, app_id: str = AppId) -> dict[str, Any]:
        row = _app_or_404(request, project, app_id)
        return queries.app_detail(_index(request).reader(), row)

    @router.get(
        "/projects/{project}/apps/{app_id}/steps",
        response_model=models.StepPage,
        responses=NOT_FOUND,
        tags=["steps"],
    )
    def get_steps(
        request: Request,
        project: str = ProjectId,
        app_id: str = AppId,
        offset: int = Query(0, ge=0, le=1_000_000_000),
        limit: int = Query(100, ge=1, le=2000),
        order: Literal["asc", "desc"] = "asc",
        after_sequence_id: int | None = Query(None, ge=-1, le=MAX_INT),
        status: Literal["running", "completed", "failed"] | None = None,
        action: str | None = Query(None, max_length=256),
    ) -> dict[str, Any]:
        row = _app_or_404(request, project, app_id)
        return queries.list_steps(
            _index(request).reader(),
            row["id"],
            offset=offset,
            limit=limit,
            order=order,
            after_seq=after_sequence_id,
            status=status,
            action=action,
        )

    @router.get(
        "/projects/{project}/apps/{app_id}/timeline",
        response_model=models.Timeline,
        responses=NOT_FOUND,
        tags=["steps"],
    )
    def get_timeline(
        request: Request,
        project: str = ProjectId,
        app_id: str = AppId,
        buckets: int = Query(200, ge=1, le=2000, description="number of equal time slices"),
    ) -> dict[str, Any]:
        """Step counts per time slice: a minimap of an app of any length."""
        row = _app_or_404(request, project, app_id)
        return queries.timeline(_index(request).reader(), row["id"], buckets)

    @router.get(
        "/projects/{project}/apps/{app_id}/steps/{sequence_id}",
        response_model=models.StepDetail,
        responses=NOT_FOUND,
        tags=["steps"],
    )
    def get_step(
        request: Request, project: str = ProjectId, app_id: str = AppId, sequence_id: int = SeqId
    ) -> dict[str, Any]:
        row = _app_or_404(request, project, app_id)
        index = _index(request)
        out = queries.step_detail(index, index.reader(), row, sequence_id)
        if out is None:
            raise HTTPException(404, f"step {sequence_id} not found in app {app_id!r}")
        return out

    @router.get(
        "/projects/{project}/apps/{app_id}/annotations",
        response_model=models.AnnotationList,
        responses=NOT_FOUND,
        tags=["annotations"],
    )
    def get_app_annotations(
        request: Request, project: str = ProjectId, app_id: str = AppId
    ) -> dict[str, Any]:
        _app_or_404(request, project, app_id)
        return {"annotations": queries.list_annotations(_index(request).reader(), project, app_id)}

    @router.post(
        "/projects/{project}/apps/{app_id}/steps/{sequence_id}/annotations",
        response_model=models.Annotation,
        status_code=201,
        responses=NOT_FOUND,
        tags=["annotations"],
    )
    def create_annotation(
        request: Request,
        body: models.AnnotationCreate,
        project: str = ProjectId,
        app_id: str = AppId,
        sequence_id: int = SeqId,
    ) -> dict[str, Any]:
        row = _app_or_404(request, project, app_id)
        if not queries.step_exists(_index(request).reader(), row["id"], sequence_id):
            raise HTTPException(404, f"step {sequence_id} not found in app {app_id!r}")
        return annotation_store.create(
            _index(request), project, app_id, row["partition_key"], sequence_id, body.model_dump()
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
        _project_or_404(request, project)
        out = annotation_store.update(
            _index(request), project, annotation_id, body.model_dump(exclude_unset=True)
        )
        if out is None:
            raise HTTPException(404, f"annotation {annotation_id} not found in project {project!r}")
        return out

    @router.get(
        "/projects/{project}/annotations",
        response_model=models.AnnotationList,
        responses=NOT_FOUND,
        tags=["annotations"],
    )
    def get_annotations(
        request: Request,
        project: str = ProjectId,
        app_id: str | None = Query(None, max_length=256),
        partition_key: str | None = Query(None, max_length=1024),
        step_sequence_id: int | None = Query(None, ge=0, le=MAX_INT),
    ) -> dict[str, Any]:
        _project_or_404(request, project)
        return {
            "annotations": queries.list_annotations(
                _index(request).reader(), project, app_id, step_sequence_id, partition_key
            )
        }

    @router.get(
        "/projects/{project}/annotations/export",
        response_class=PlainTextResponse,
        responses={200: {"content": {"application/x-ndjson": {}}}, **NOT_FOUND},
        tags=["annotations"],
    )
    def export_annotations(request: Request, project: str = ProjectId) -> PlainTextResponse:
        """All annotations of a project as JSON lines (one annotation per line)."""
        _project_or_404(request, project)
        lines = [json.dumps(a) for a in queries.list_annotations(_index(request).reader(), project)]
        return PlainTextResponse(
            "".join(line + "\n" for line in lines),
            media_type="application/x-ndjson",
            headers={
                "Content-Disposition": f'attachment; filename="{_safe_filename(project)}-annotations.jsonl"'
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
            _project_or_404(request, project)
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
