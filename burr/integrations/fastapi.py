"""Serve a Burr application over HTTP: one call adds create/step/run/stream/state/history routes.

```python
api = FastAPI()
add_application_routes(
    api,
    definition=lambda: ApplicationBuilder().with_actions(...).with_transitions(...),
    persister=SQLitePersister("chat.db", connect_kwargs={"check_same_thread": False}),
    entrypoint="prompt",
    default_state={"chat_history": []},
    prefix="/chat",
)
```

Every request rebuilds the application from the persister (``initialize_from`` + the same
persister saving each step), so the server holds no application objects and several server
processes can share one database. Requests for the same application are serialized inside a
process (or refused with 409 when ``on_busy="refuse"``); across processes the persister's
``StateConflictError`` turns a lost race into a 409. Unknown applications give 404, bad inputs 422.

Routes (``{p}`` = prefix; every route takes an optional ``partition_key`` query parameter):

| method & path | does |
|---|---|
| ``POST {p}`` | create an application (body: optional ``app_id``, ``state``) -> 201 |
| ``GET {p}`` | list application ids |
| ``GET {p}/{app_id}`` | current state, sequence id and next action |
| ``GET {p}/{app_id}/history`` | saved steps, oldest first (``limit`` query parameter) |
| ``POST {p}/{app_id}/step`` | run one step (body: ``inputs``) |
| ``POST {p}/{app_id}/run`` | run until a halt (body: ``inputs``, ``halt_after``, ``halt_before``) |
| ``POST {p}/{app_id}/stream`` | like run, streaming the halting action's items as server-sent events |

Stream events: ``item`` (one per streamed item), then ``result`` (the same body ``run`` returns) or
``error``. With a synchronous persister, applications are built with ``build()`` and run in worker
threads; with an async persister (``is_async()``), they are built with ``abuild()`` and run with
``astep``/``arun``/``astream_result`` on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, Union

from burr.integrations.base import require_plugin

try:
    import anyio
    from fastapi import APIRouter, FastAPI, HTTPException, Query
    from fastapi.responses import StreamingResponse
    from pydantic import BaseModel, Field
    from starlette.concurrency import run_in_threadpool
except ImportError as e:  # pragma: no cover - exercised only without fastapi installed
    require_plugin(e, "fastapi")

from burr.core import serde
from burr.core.persistence import StateConflictError

if TYPE_CHECKING:
    from burr.core.application import Application, ApplicationBuilder
    from burr.core.persistence import BaseStatePersister
    from burr.core.state import State

__all__ = ["ApplicationRoutes", "add_application_routes"]

# Creating an application saves its initial state as step 0 with this status (any status but
# "completed" resumes at `position`, the entrypoint), so it exists before its first real step, which
# is step 1. (Negative sequence ids would keep real steps at 0, but persisters reserve them.)
CREATED_STATUS = "created"
CREATED_SEQUENCE_ID = 0
_INJECTED = frozenset({"__context", "__tracer"})
_END = object()


class CreateRequest(BaseModel):
    app_id: str | None = Field(default=None, description="Id to use; a UUID is generated if omitted.")
    state: dict[str, Any] | None = Field(default=None, description="Values merged over the default state.")


class StepRequest(BaseModel):
    inputs: dict[str, Any] = Field(default_factory=dict)


class RunRequest(StepRequest):
    halt_after: list[str] = Field(default_factory=list)
    halt_before: list[str] = Field(default_factory=list)


class StreamRequest(StepRequest):
    halt_after: list[str] = Field(min_length=1)
    halt_before: list[str] = Field(default_factory=list)


def _public_state(state: State[Any]) -> dict[str, Any]:
    return {k: serde.serialize(state[k]) for k in state if not k.startswith("__")}


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return serde.serialize(value)


def _app_body(app: Application[Any], action: Any = None, result: Any = None) -> dict[str, Any]:
    next_action = app.get_next_action()
    return {
        "app_id": app.uid,
        "partition_key": app.partition_key,
        "sequence_id": app.sequence_id,
        "action": getattr(action, "name", None),
        "result": _jsonable(result) if result is not None else None,
        "state": _public_state(app.state),
        "next_action": next_action.name if next_action is not None else None,
    }


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


@dataclass
class _LockEntry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class _SyncOps:
    """Application and persister calls for synchronous applications: each runs in a worker thread."""

    def __init__(self, routes: ApplicationRoutes) -> None:
        self.routes = routes
        self.persister = routes.persister

    def _build_sync(self, app_id: str, partition_key: str | None) -> Application[Any]:
        return self.routes.builder(app_id, partition_key).build()

    async def build(self, app_id: str, partition_key: str | None) -> Application[Any]:
        return await run_in_threadpool(self._build_sync, app_id, partition_key)

    async def load(self, partition_key: str | None, app_id: str, sequence_id: int | None = None) -> Any:
        return await run_in_threadpool(self.persister.load, partition_key, app_id, sequence_id)

    async def save(self, *args: Any) -> None:
        await run_in_threadpool(self.persister.save, *args)

    async def list_app_ids(self, partition_key: str | None) -> list[str]:
        return list(await run_in_threadpool(self.persister.list_app_ids, partition_key))

    async def step(self, app: Application[Any], inputs: dict[str, Any]) -> Any:
        return await run_in_threadpool(lambda: app.step(inputs=inputs))

    async def run(self, app: Application[Any], body: RunRequest) -> Any:
        return await run_in_threadpool(
            lambda: app.run(
                halt_after=body.halt_after or None, halt_before=body.halt_before or None, inputs=body.inputs
            )
        )


class _AsyncOps(_SyncOps):
    """The same calls for applications built with ``abuild()`` around an async persister."""

    async def build(self, app_id: str, partition_key: str | None) -> Application[Any]:
        return await self.routes.builder(app_id, partition_key).abuild()

    async def load(self, partition_key: str | None, app_id: str, sequence_id: int | None = None) -> Any:
        return await self.persister.load(partition_key, app_id, sequence_id)

    async def save(self, *args: Any) -> None:
        await self.persister.save(*args)

    async def list_app_ids(self, partition_key: str | None) -> list[str]:
        return list(await self.persister.list_app_ids(partition_key))

    async def step(self, app: Application[Any], inputs: dict[str, Any]) -> Any:
        return await app.astep(inputs=inputs)

    async def run(self, app: Application[Any], body: RunRequest) -> Any:
        return await app.arun(
            halt_after=body.halt_after or None, halt_before=body.halt_before or None, inputs=body.inputs
        )


@dataclass
class ApplicationRoutes:
    """The routes added by ``add_application_routes`` and the logic behind them."""

    definition: Callable[[], ApplicationBuilder[Any]]
    # A (Async)BaseStatePersister; typed loosely because Burr passes `None` partition keys.
    persister: Any
    entrypoint: str
    default_state: Union[dict[str, Any], Callable[[], dict[str, Any]], None] = None
    on_busy: Literal["wait", "refuse"] = "wait"
    router: APIRouter = field(default_factory=APIRouter)
    _locks: dict[tuple[str | None, str], _LockEntry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.is_async = bool(self.persister.is_async())
        self.ops: _SyncOps = _AsyncOps(self) if self.is_async else _SyncOps(self)

    # -- application plumbing -------------------------------------------------------------------

    def _defaults(self) -> dict[str, Any]:
        state = self.default_state() if callable(self.default_state) else self.default_state
        return dict(state or {})

    def builder(self, app_id: str, partition_key: str | None) -> ApplicationBuilder[Any]:
        """The user's definition completed for one request: load, save every step, identifiers."""
        return (
            self.definition()
            .initialize_from(
                self.persister,
                resume_at_next_action=True,
                default_state=self._defaults(),
                default_entrypoint=self.entrypoint,
            )
            .with_state_persister(self.persister)
            .with_identifiers(app_id=app_id, partition_key=partition_key)
        )

    async def _load_existing(self, app_id: str, partition_key: str | None) -> Application[Any]:
        app = await self.ops.build(app_id, partition_key)
        if app.sequence_id is None:  # nothing was loaded: never created here
            raise HTTPException(
                404,
                f"Unknown application '{app_id}' (partition key {partition_key!r}). Create it with POST first.",
            )
        return app

    async def _create(self, request: CreateRequest, partition_key: str | None) -> dict[str, Any]:
        app_id = request.app_id or str(uuid.uuid4())
        if await self.ops.load(partition_key, app_id) is not None:
            raise HTTPException(
                409, f"Application '{app_id}' already exists (partition key {partition_key!r})."
            )
        app = await self.ops.build(app_id, partition_key)
        state = app.state.update(**request.state) if request.state else app.state
        await self.ops.save(
            partition_key, app_id, CREATED_SEQUENCE_ID, self.entrypoint, state, CREATED_STATUS
        )
        app.update_state(state)
        return _app_body(app)

    async def _history(self, app_id: str, partition_key: str | None, limit: int) -> list[dict[str, Any]]:
        latest = await self.ops.load(partition_key, app_id)
        if latest is None:
            raise HTTPException(404, f"Unknown application '{app_id}' (partition key {partition_key!r}).")
        records = []
        last = latest["sequence_id"]
        for seq in range(max(CREATED_SEQUENCE_ID, last - limit + 1), last + 1):
            record = await self.ops.load(partition_key, app_id, seq)
            if record is not None:
                records.append(
                    {
                        "sequence_id": record["sequence_id"],
                        "position": record["position"],
                        "status": record["status"],
                        "created_at": str(record["created_at"]),
                        "state": _public_state(record["state"]),
                    }
                )
        return records

    @staticmethod
    def _check_inputs(app: Application[Any], inputs: dict[str, Any], halts: list[str]) -> Any:
        reserved = sorted(k for k in inputs if k.startswith("__"))
        if reserved:
            raise HTTPException(422, f"Inputs starting with a double underscore are reserved: {reserved}.")
        names = {a.name for a in app.graph.actions}
        unknown = sorted(h for h in set(halts) - names if not h.startswith("@tag:"))
        if unknown:
            raise HTTPException(422, f"Unknown halt actions {unknown}; actions are {sorted(names)}.")
        action = app.get_next_action()
        if action is not None:
            required, _optional = action.optional_and_required_inputs
            missing = sorted(set(required) - set(inputs) - _INJECTED)
            if missing:
                raise HTTPException(
                    422,
                    f"Action '{action.name}' is missing required inputs {missing}; pass them in `inputs`.",
                )
        return action

    async def _step(self, app_id: str, partition_key: str | None, body: StepRequest) -> dict[str, Any]:
        app = await self._load_existing(app_id, partition_key)
        self._check_inputs(app, body.inputs, [])
        out = await self.ops.step(app, body.inputs)
        if out is None:
            return _app_body(app)
        action, result, _state = out
        return _app_body(app, action, result)

    async def _run(self, app_id: str, partition_key: str | None, body: RunRequest) -> dict[str, Any]:
        app = await self._load_existing(app_id, partition_key)
        if self._check_inputs(app, body.inputs, body.halt_after + body.halt_before) is None:
            return _app_body(app)
        action, result, _state = await self.ops.run(app, body)
        return _app_body(app, action, result)

    # -- locking ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _app_lock(self, app_id: str, partition_key: str | None) -> AsyncIterator[None]:
        key = (partition_key, app_id)
        entry = self._locks.setdefault(key, _LockEntry())
        if self.on_busy == "refuse" and entry.lock.locked():
            raise HTTPException(409, f"Application '{app_id}' is busy with another request; retry later.")
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._locks.pop(key, None)

    async def _locked(
        self, app_id: str, partition_key: str | None, fn: Callable[..., Any], *args: Any
    ) -> Any:
        async with self._app_lock(app_id, partition_key):
            with _errors_as_http():
                return await fn(*args)

    # -- streaming ----------------------------------------------------------------------------

    def _stream_events(
        self, app: Application[Any], body: StreamRequest
    ) -> Generator[tuple[str, Any], None, None]:
        try:
            action, container = app.stream_result(
                halt_after=body.halt_after, halt_before=body.halt_before or None, inputs=body.inputs
            )
            for item in container:
                yield "item", _jsonable(item)
            result, _state = container.get()
            yield "result", _app_body(app, action, result)
        except StateConflictError as e:
            yield "error", {"status": 409, "detail": str(e)}
        except Exception as e:  # noqa: BLE001 - reported to the client as an event
            yield "error", {"status": 500, "detail": f"{type(e).__name__}: {e}"}

    async def _stream_sync(
        self, app_id: str, partition_key: str | None, body: StreamRequest
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
        stop = threading.Event()

        def put(item: Any) -> None:
            future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    future.result(timeout=0.5)
                    return
            future.cancel()

        def produce() -> None:
            try:
                try:
                    app = self.ops._build_sync(app_id, partition_key)
                except Exception as e:  # noqa: BLE001 - reported to the client as an event
                    put(("error", {"status": 500, "detail": f"{type(e).__name__}: {e}"}))
                    return
                events = self._stream_events(app, body)
                for event in events:
                    put(event)
                    if stop.is_set():
                        events.close()  # client went away: abandon the stream (state not committed)
                        return
            finally:
                put(_END)

        async with self._app_lock(app_id, partition_key):
            worker = threading.Thread(target=produce, name=f"burr-stream-{app_id}", daemon=True)
            worker.start()
            try:
                while True:
                    event = await queue.get()
                    if event is _END:
                        break
                    yield _sse(*event)
            finally:
                stop.set()
                # Hold the app's lock until the worker has abandoned the stream, even when the client
                # disconnected (this task is then cancelled): otherwise the next request could race it.
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(worker.join)

    async def _stream_async(
        self, app_id: str, partition_key: str | None, body: StreamRequest
    ) -> AsyncIterator[str]:
        async with self._app_lock(app_id, partition_key):
            try:
                app = await self.ops.build(app_id, partition_key)
                action, container = await app.astream_result(
                    halt_after=body.halt_after, halt_before=body.halt_before or None, inputs=body.inputs
                )
                items = container.__aiter__()
                try:
                    async for item in items:
                        yield _sse("item", _jsonable(item))
                finally:
                    with anyio.CancelScope(shield=True):
                        await items.aclose()  # abandons the stream if the client went away
                result, _state = await container.get()
                yield _sse("result", _app_body(app, action, result))
            except StateConflictError as e:
                yield _sse("error", {"status": 409, "detail": str(e)})
            except Exception as e:  # noqa: BLE001 - reported to the client as an event
                yield _sse("error", {"status": 500, "detail": f"{type(e).__name__}: {e}"})

    # -- routes -------------------------------------------------------------------------------

    def install(self, prefix: str) -> None:
        r = self.router
        pk = Query(default=None, description="Partition key of the application.")

        @r.post(prefix, status_code=201)
        async def create_application(
            body: CreateRequest | None = None, partition_key: str | None = pk
        ) -> Any:
            request = body or CreateRequest()
            if request.app_id is None:
                with _errors_as_http():
                    return await self._create(request, partition_key)
            return await self._locked(request.app_id, partition_key, self._create, request, partition_key)

        @r.get(prefix)
        async def list_applications(partition_key: str | None = pk) -> Any:
            with _errors_as_http():
                return {"app_ids": await self.ops.list_app_ids(partition_key)}

        @r.get(prefix + "/{app_id}")
        async def get_application(app_id: str, partition_key: str | None = pk) -> Any:
            with _errors_as_http():
                return _app_body(await self._load_existing(app_id, partition_key))

        @r.get(prefix + "/{app_id}/history")
        async def get_history(
            app_id: str, partition_key: str | None = pk, limit: int = Query(100, ge=1)
        ) -> Any:
            with _errors_as_http():
                return {"steps": await self._history(app_id, partition_key, limit)}

        @r.post(prefix + "/{app_id}/step")
        async def step_application(
            app_id: str, body: StepRequest | None = None, partition_key: str | None = pk
        ) -> Any:
            return await self._locked(
                app_id, partition_key, self._step, app_id, partition_key, body or StepRequest()
            )

        @r.post(prefix + "/{app_id}/run")
        async def run_application(app_id: str, body: RunRequest, partition_key: str | None = pk) -> Any:
            return await self._locked(app_id, partition_key, self._run, app_id, partition_key, body)

        @r.post(prefix + "/{app_id}/stream")
        async def stream_application(app_id: str, body: StreamRequest, partition_key: str | None = pk) -> Any:
            # Check what we can before the 200 goes out, so these become real status codes.
            with _errors_as_http():
                app = await self._load_existing(app_id, partition_key)
            if self._check_inputs(app, body.inputs, body.halt_after + body.halt_before) is None:
                raise HTTPException(409, f"Application '{app_id}' has finished: no next action to stream.")
            entry = self._locks.get((partition_key, app_id))
            if self.on_busy == "refuse" and entry is not None and entry.lock.locked():
                raise HTTPException(409, f"Application '{app_id}' is busy with another request; retry later.")
            events = self._stream_async if self.is_async else self._stream_sync
            return StreamingResponse(
                events(app_id, partition_key, body),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )


@contextlib.contextmanager
def _errors_as_http() -> Iterator[None]:
    try:
        yield
    except HTTPException:
        raise
    except StateConflictError as e:
        raise HTTPException(409, f"Concurrent update: {e}") from e
    except Exception as e:
        text = str(e)
        if isinstance(e, ValueError) and ("missing required inputs" in text or "double underscore" in text):
            raise HTTPException(422, text) from e
        raise HTTPException(500, f"{type(e).__name__}: {text}") from e


def add_application_routes(
    target: Union[FastAPI, APIRouter],
    definition: Callable[[], ApplicationBuilder[Any]],
    persister: BaseStatePersister,
    *,
    entrypoint: str,
    default_state: Union[dict[str, Any], Callable[[], dict[str, Any]], None] = None,
    prefix: str = "/apps",
    on_busy: Literal["wait", "refuse"] = "wait",
    tags: list[str] | None = None,
) -> ApplicationRoutes:
    """Add routes serving the application ``definition`` to a FastAPI app or router.

    ``definition`` returns an ``ApplicationBuilder`` with actions and transitions (and optionally
    hooks, a tracker or a typing system) but no state or entrypoint: each request completes it with
    ``initialize_from(persister, ...)``, ``with_state_persister(persister)`` and the request's
    identifiers. ``persister`` must be initialized. A synchronous one must be usable from worker
    threads (for SQLite pass ``connect_kwargs={"check_same_thread": False}``); an async one (e.g.
    ``AsyncSQLitePersister``) makes every request use ``abuild()`` and the async run methods. ``on_busy`` decides what a request for an
    application that is already running a request does: ``"wait"`` (serialize) or ``"refuse"`` (409).
    """
    if on_busy not in ("wait", "refuse"):
        raise ValueError(f"on_busy must be 'wait' or 'refuse', got {on_busy!r}.")
    routes = ApplicationRoutes(
        definition=definition,
        persister=persister,
        entrypoint=entrypoint,
        default_state=default_state,
        on_busy=on_busy,
        router=APIRouter(tags=list(tags or ["burr"])),
    )
    routes.install(prefix.rstrip("/") or "/apps")
    target.include_router(routes.router)
    return routes
