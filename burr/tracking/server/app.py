"""The FastAPI app: API, optional bearer-token auth, read-only mode, and the bundled web UI."""

from __future__ import annotations

import contextlib
import hmac
import html
import logging
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from burr.tracking.server.api import build_router
from burr.tracking.server.index import TrackingIndex
from burr.tracking.server.persister_source import PersisterSource, parse_source
from burr.tracking.server.queries import BadQuery

logger = logging.getLogger(__name__)

BUILD_DIR = os.path.join(os.path.dirname(__file__), "build")
DEFAULT_STORAGE_DIR = "~/.burr"
BASE_MARKER = "<!--burr-base-->"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("burr")
    except Exception:
        return "0.0.0"


def resolve_storage_dir(storage_dir: str | None) -> str:
    """Explicit argument, else ``$BURR_STORAGE_DIR``, else ``~/.burr``."""
    chosen = storage_dir or os.environ.get("BURR_STORAGE_DIR") or DEFAULT_STORAGE_DIR
    return os.path.abspath(os.path.expanduser(chosen))


def _route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class _Guard:
    """Starts the indexer on first use; enforces the token and read-only mode on ``/api``."""

    def __init__(self, app: ASGIApp, index: TrackingIndex, token: str | None, read_only: bool) -> None:
        self.app = app
        self.index = index
        self.token = token
        self.read_only = read_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "lifespan"):
            self.index.start()
        if scope["type"] == "http":
            path = _route_path(scope)
            if path.startswith("/api/"):
                if self.token and not self._authorized(scope):
                    await _json(
                        scope,
                        receive,
                        send,
                        401,
                        "missing or wrong token: send 'Authorization: Bearer <token>'",
                    )
                    return
                if self.read_only and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
                    await _json(
                        scope, receive, send, 403, "the server runs with --read-only; writes are disabled"
                    )
                    return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        assert self.token is not None
        candidates = []
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text.lower().startswith("bearer "):
                    candidates.append(text[7:].strip())
            elif name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == "burr_token":
                        candidates.append(v)
        from urllib.parse import parse_qs

        candidates += parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        return any(hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates)


async def _json(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    await JSONResponse({"error": message}, status_code=status)(scope, receive, send)


def create_burr_ui_app(
    storage_dir: str | None = None,
    *,
    serve_static: bool = True,
    read_only: bool = False,
    token: str | None = None,
    index_path: str | None = None,
    poll_interval: float = 0.5,
    persister_dbs: Sequence[str | PersisterSource] = (),
) -> FastAPI:
    """A FastAPI app serving the tracker API at ``/api/v1`` and the UI at ``/``.

    ``storage_dir`` defaults to ``$BURR_STORAGE_DIR`` or ``~/.burr``; the index is kept at
    ``<storage_dir>/.burr-index.sqlite`` unless ``index_path`` says otherwise. Each of
    ``persister_dbs`` (``"PATH"`` or ``"PATH:TABLE"``, table default ``burr_state``) is shown as a
    read-only project ``persister:<file stem>:<table>``; a bad one raises ``ValueError``.
    """
    sources = [s if isinstance(s, PersisterSource) else parse_source(s) for s in persister_dbs]
    index = TrackingIndex(
        resolve_storage_dir(storage_dir),
        index_path=index_path,
        poll_interval=poll_interval,
        persister_sources=sources,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        index.start()
        yield
        index.stop()

    app = FastAPI(
        title="Burr tracker",
        version=_version(),
        description="Browse, compare, annotate and fork tracked Burr applications.",
        lifespan=lifespan,
    )
    app.state.burr_index = index
    app.state.burr_config = {"read_only": read_only, "token": token}
    app.include_router(build_router(_version()))
    _install_errors(app)

    @app.get("/ready", tags=["meta"])
    def ready() -> JSONResponse:
        if not index.ready.is_set():
            return JSONResponse({"ready": False}, status_code=503)
        return JSONResponse({"ready": True, "index_error": index.last_error})

    if serve_static:
        _install_static(app)
    app.add_middleware(_Guard, index=index, token=token, read_only=read_only)
    return app


def mount_burr_ui(parent: FastAPI, path: str = "/burr", name: str = "burr", **kwargs: Any) -> FastAPI:
    """Mount the tracker (API + UI) into an existing FastAPI app under ``path``; returns the sub-app."""
    sub = create_burr_ui_app(**kwargs)
    parent.mount(path.rstrip("/"), sub, name=name)
    return sub


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "detail": detail}, status_code=422)

    @app.exception_handler(BadQuery)
    async def bad_query(request: Request, exc: BadQuery) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)


def _install_static(app: FastAPI) -> None:
    index_html = os.path.join(BUILD_DIR, "index.html")

    def spa(request: Request) -> Response:
        if not os.path.exists(index_html):
            return HTMLResponse(
                "<h1>Burr tracker</h1><p>The UI bundle is missing; the API is at "
                "<a href='api/v1/projects'>api/v1</a>.</p>",
                status_code=200,
            )
        with open(index_html, encoding="utf-8") as f:
            text = f.read()
        base = html.escape(request.scope.get("root_path", "").rstrip("/") + "/", quote=True)
        text = text.replace(BASE_MARKER, f'<base href="{base}">')
        return HTMLResponse(text, headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    def root(request: Request) -> Response:
        return spa(request)

    @app.get("/{rest:path}", include_in_schema=False)
    def static_or_spa(request: Request, rest: str) -> Response:
        if rest.startswith("api/"):
            return JSONResponse({"error": f"no API route /{rest}"}, status_code=404)
        full = os.path.realpath(os.path.join(BUILD_DIR, rest))
        if full.startswith(os.path.realpath(BUILD_DIR) + os.sep) and os.path.isfile(full):
            cache = "public, max-age=31536000, immutable" if "/assets/" in full else "no-cache"
            return FileResponse(full, headers={"Cache-Control": cache})
        return spa(request)
