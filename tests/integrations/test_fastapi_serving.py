"""Serving applications over HTTP: a real uvicorn server on loopback, driven with httpx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from burr.core import ApplicationBuilder, State, action
from burr.core.action import streaming_action
from burr.core.persistence import SQLitePersister
from burr.integrations.fastapi import add_application_routes

GATES: dict[str, threading.Event] = {}
ENTERED: dict[str, threading.Event] = {}


@action(reads=["count"], writes=["count"])
def increment(state: State, gate: str | None = None) -> State:
    if gate is not None:  # lets a test hold a step open
        ENTERED.setdefault(gate, threading.Event()).set()
        GATES.setdefault(gate, threading.Event()).wait(timeout=10)
    return state.update(count=state["count"] + 1)


@streaming_action(reads=["messages"], writes=["messages"])
def echo(state: State, prompt: str) -> Any:
    for word in prompt.split():
        yield {"token": word}, None
    yield {"reply": prompt}, state.append(messages=prompt)


@streaming_action(reads=["messages"], writes=["messages"])
def slow_echo(state: State, prompt: str, gate: str) -> Any:
    yield {"token": "first"}, None
    GATES.setdefault(gate, threading.Event()).wait(timeout=10)
    yield {"token": "second"}, None
    yield {"reply": prompt}, state.append(messages=prompt)


def slow_definition() -> ApplicationBuilder[Any]:
    return ApplicationBuilder().with_actions(echo=slow_echo).with_transitions(("echo", "echo"))


def counter_definition() -> ApplicationBuilder[Any]:
    return ApplicationBuilder().with_actions(increment=increment).with_transitions(("increment", "increment"))


def echo_definition() -> ApplicationBuilder[Any]:
    return ApplicationBuilder().with_actions(echo=echo).with_transitions(("echo", "echo"))


def _persister(path: Path, table_name: str | None = None) -> SQLitePersister:
    persister = SQLitePersister(
        str(path),
        table_name=table_name or f"serve_{uuid.uuid4().hex[:8]}",
        connect_kwargs={"check_same_thread": False},
    )
    persister.initialize()
    return persister


@contextlib.contextmanager
def running(api: FastAPI) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(api, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    api = FastAPI()
    persister = _persister(tmp_path / "serve.db")
    add_application_routes(
        api,
        counter_definition,
        persister,
        entrypoint="increment",
        default_state={"count": 0},
        prefix="/counter",
    )
    add_application_routes(
        api, echo_definition, persister, entrypoint="echo", default_state={"messages": []}, prefix="/echo"
    )
    add_application_routes(
        api, slow_definition, persister, entrypoint="echo", default_state={"messages": []}, prefix="/slow"
    )
    refuse_persister = _persister(tmp_path / "refuse.db")
    add_application_routes(
        api,
        counter_definition,
        refuse_persister,
        entrypoint="increment",
        default_state={"count": 0},
        prefix="/strict",
        on_busy="refuse",
    )
    with running(api) as url:
        yield url


def _events(text: str) -> list[tuple[str, Any]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_create_returns_201_with_initial_state(server: str) -> None:
    r = httpx.post(f"{server}/counter", json={"app_id": "c1"})
    assert r.status_code == 201
    assert (r.json()["app_id"], r.json()["state"], r.json()["next_action"]) == (
        "c1",
        {"count": 0},
        "increment",
    )


def test_create_generates_an_id_when_none_given(server: str) -> None:
    r = httpx.post(f"{server}/counter")
    assert r.status_code == 201
    assert uuid.UUID(r.json()["app_id"])


def test_create_merges_given_state_over_defaults(server: str) -> None:
    httpx.post(f"{server}/counter", json={"app_id": "c2", "state": {"count": 40}})
    assert httpx.get(f"{server}/counter/c2").json()["state"] == {"count": 40}


def test_create_twice_is_a_conflict(server: str) -> None:
    httpx.post(f"{server}/counter", json={"app_id": "dup"})
    assert httpx.post(f"{server}/counter", json={"app_id": "dup"}).status_code == 409


def test_step_advances_state_and_sequence(server: str) -> None:
    httpx.post(f"{server}/counter", json={"app_id": "s1"})
    httpx.post(f"{server}/counter/s1/step")
    body = httpx.post(f"{server}/counter/s1/step", json={"inputs": {}}).json()
    # Step 0 is the creation record, so the second step is sequence id 2.
    assert (body["action"], body["state"], body["sequence_id"]) == ("increment", {"count": 2}, 2)


def test_run_halts_after_the_named_action(server: str) -> None:
    httpx.post(f"{server}/echo", json={"app_id": "r1"})
    body = httpx.post(
        f"{server}/echo/r1/run", json={"inputs": {"prompt": "hi there"}, "halt_after": ["echo"]}
    ).json()
    assert (body["action"], body["result"], body["state"]) == (
        "echo",
        {"reply": "hi there"},
        {"messages": ["hi there"]},
    )


def test_history_lists_saved_steps_in_order(server: str) -> None:
    httpx.post(f"{server}/counter", json={"app_id": "h1"})
    for _ in range(3):
        httpx.post(f"{server}/counter/h1/step")
    steps = httpx.get(f"{server}/counter/h1/history").json()["steps"]
    assert [(s["sequence_id"], s["state"]["count"]) for s in steps] == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_list_returns_created_app_ids(server: str) -> None:
    httpx.post(f"{server}/counter", json={"app_id": "l1"})
    httpx.post(f"{server}/counter", json={"app_id": "l2"})
    assert {"l1", "l2"} <= set(httpx.get(f"{server}/counter").json()["app_ids"])


def test_partition_keys_separate_apps(server: str) -> None:
    httpx.post(f"{server}/counter?partition_key=alice", json={"app_id": "p1"})
    assert httpx.get(f"{server}/counter/p1?partition_key=alice").status_code == 200
    assert httpx.get(f"{server}/counter/p1?partition_key=bob").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/counter/nope"), ("get", "/counter/nope/history"), ("post", "/counter/nope/step")],
)
def test_unknown_app_is_404(server: str, method: str, path: str) -> None:
    assert httpx.request(method, f"{server}{path}").status_code == 404


def test_stream_unknown_app_is_404(server: str) -> None:
    r = httpx.post(f"{server}/echo/nope/stream", json={"inputs": {"prompt": "x"}, "halt_after": ["echo"]})
    assert r.status_code == 404


def test_missing_required_input_is_422(server: str) -> None:
    httpx.post(f"{server}/echo", json={"app_id": "m1"})
    r = httpx.post(f"{server}/echo/m1/step", json={"inputs": {}})
    assert r.status_code == 422
    assert "prompt" in r.json()["detail"]


def test_malformed_inputs_are_422(server: str) -> None:
    httpx.post(f"{server}/echo", json={"app_id": "m2"})
    assert httpx.post(f"{server}/echo/m2/step", json={"inputs": "not-a-dict"}).status_code == 422


def test_reserved_input_names_are_422(server: str) -> None:
    httpx.post(f"{server}/echo", json={"app_id": "m3"})
    r = httpx.post(f"{server}/echo/m3/step", json={"inputs": {"prompt": "a", "__context": 1}})
    assert r.status_code == 422


def test_unknown_halt_action_is_422(server: str) -> None:
    httpx.post(f"{server}/echo", json={"app_id": "m4"})
    r = httpx.post(f"{server}/echo/m4/run", json={"inputs": {"prompt": "a"}, "halt_after": ["nope"]})
    assert r.status_code == 422


def test_stream_sends_items_then_result(server: str) -> None:
    httpx.post(f"{server}/echo", json={"app_id": "st1"})
    r = httpx.post(f"{server}/echo/st1/stream", json={"inputs": {"prompt": "a b c"}, "halt_after": ["echo"]})
    assert r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    assert events[:-1] == [("item", {"token": "a"}), ("item", {"token": "b"}), ("item", {"token": "c"})]
    kind, body = events[-1]
    assert (kind, body["result"], body["state"]) == ("result", {"reply": "a b c"}, {"messages": ["a b c"]})


def test_streamed_step_is_persisted(server: str) -> None:
    httpx.post(f"{server}/echo", json={"app_id": "st2"})
    httpx.post(f"{server}/echo/st2/stream", json={"inputs": {"prompt": "one"}, "halt_after": ["echo"]})
    assert httpx.get(f"{server}/echo/st2").json()["state"] == {"messages": ["one"]}


def test_concurrent_steps_on_one_app_are_serialized(server: str) -> None:
    httpx.post(f"{server}/counter", json={"app_id": "serial"})

    async def hammer() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            responses = await asyncio.gather(
                *(client.post(f"{server}/counter/serial/step") for _ in range(12))
            )
        return sorted(r.json()["sequence_id"] for r in responses)

    assert asyncio.run(hammer()) == list(range(1, 13))
    assert httpx.get(f"{server}/counter/serial").json()["state"] == {"count": 12}


def test_busy_app_is_refused_with_409_when_configured(server: str) -> None:
    gate = uuid.uuid4().hex
    httpx.post(f"{server}/strict", json={"app_id": "busy"})
    with httpx.Client(timeout=30) as client:
        holder = threading.Thread(
            target=client.post,
            args=(f"{server}/strict/busy/step",),
            kwargs={"json": {"inputs": {"gate": gate}}},
        )
        holder.start()
        try:
            assert ENTERED.setdefault(gate, threading.Event()).wait(timeout=10)
            assert httpx.post(f"{server}/strict/busy/step").status_code == 409
        finally:
            GATES.setdefault(gate, threading.Event()).set()
            holder.join(timeout=10)
    assert httpx.get(f"{server}/strict/busy").json()["state"] == {"count": 1}


def test_concurrent_writers_in_separate_servers_get_409(tmp_path: Path) -> None:
    # Two route sets with separate locks model two server processes sharing one database.
    db = tmp_path / "shared.db"
    table = f"shared_{uuid.uuid4().hex[:8]}"
    first, second = _persister(db, table), _persister(db, table)
    api = FastAPI()
    for prefix, persister in (("/a", first), ("/b", second)):
        add_application_routes(
            api,
            counter_definition,
            persister,
            entrypoint="increment",
            default_state={"count": 0},
            prefix=prefix,
        )
    gate = uuid.uuid4().hex
    with running(api) as url, httpx.Client(timeout=30) as client:
        client.post(f"{url}/a", json={"app_id": "shared"})
        results: dict[str, int] = {}
        holder = threading.Thread(
            target=lambda: results.update(
                a=client.post(f"{url}/a/shared/step", json={"inputs": {"gate": gate}}).status_code
            )
        )
        holder.start()
        assert ENTERED.setdefault(gate, threading.Event()).wait(timeout=10)
        results["b"] = client.post(f"{url}/b/shared/step").status_code  # commits while /a is mid-step
        GATES.setdefault(gate, threading.Event()).set()
        holder.join(timeout=10)
        assert results == {"b": 200, "a": 409}
        assert client.get(f"{url}/a/shared").json()["state"] == {"count": 1}


def test_many_concurrent_streams_lose_nothing_and_do_not_mix(server: str) -> None:
    clients, words = 40, 25

    async def one(client: httpx.AsyncClient, n: int) -> tuple[int, list[tuple[str, Any]]]:
        app_id = f"load-{n}"
        await client.post(f"{server}/echo", json={"app_id": app_id})
        prompt = " ".join(f"c{n}w{i}" for i in range(words))
        async with client.stream(
            "POST",
            f"{server}/echo/{app_id}/stream",
            json={"inputs": {"prompt": prompt}, "halt_after": ["echo"]},
        ) as response:
            text = "".join([chunk async for chunk in response.aiter_text()])
        return n, _events(text)

    async def load() -> list[tuple[int, list[tuple[str, Any]]]]:
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.wait_for(
                asyncio.gather(*(one(client, n) for n in range(clients))), timeout=120
            )

    for n, events in asyncio.run(load()):
        expected = [f"c{n}w{i}" for i in range(words)]
        assert [body["token"] for kind, body in events if kind == "item"] == expected
        assert events[-1][0] == "result"
        assert events[-1][1]["state"] == {"messages": [" ".join(expected)]}


def test_client_disconnect_abandons_the_stream_and_frees_the_app(server: str) -> None:
    gate = uuid.uuid4().hex
    httpx.post(f"{server}/slow", json={"app_id": "gone"})
    body = {"inputs": {"prompt": "never", "gate": gate}, "halt_after": ["echo"]}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{server}/slow/gone/stream", json=body) as r,
    ):
        first = next(r.iter_lines())
        assert first == "event: item"
    GATES.setdefault(gate, threading.Event()).set()  # let the worker notice the client is gone
    state = httpx.get(f"{server}/slow/gone", timeout=30).json()
    assert (state["state"], state["next_action"]) == ({"messages": []}, "echo")
    again = httpx.post(
        f"{server}/slow/gone/stream", json={"inputs": {"prompt": "ok", "gate": gate}, "halt_after": ["echo"]}
    )
    assert _events(again.text)[-1][1]["state"] == {"messages": ["ok"]}


# --------------------------------------------------------------------------------------------
# Async applications (async persister -> abuild/astep/astream_result)
# --------------------------------------------------------------------------------------------


@action(reads=["count"], writes=["count"])
async def aincrement(state: State) -> State:
    await asyncio.sleep(0)
    return state.update(count=state["count"] + 1)


@streaming_action(reads=["messages"], writes=["messages"])
async def aecho(state: State, prompt: str) -> Any:
    for word in prompt.split():
        await asyncio.sleep(0)
        yield {"token": word}, None
    yield {"reply": prompt}, state.append(messages=prompt)


@pytest.fixture
def async_server(tmp_path: Path) -> Iterator[str]:
    from burr.integrations.persisters.b_aiosqlite import AsyncSQLitePersister

    async def make() -> Any:
        persister = await AsyncSQLitePersister.from_values(
            str(tmp_path / "async.db"), table_name="serve_async"
        )
        await persister.initialize()
        return persister

    persister = asyncio.run(make())
    api = FastAPI()
    add_application_routes(
        api,
        lambda: (
            ApplicationBuilder()
            .with_actions(increment=aincrement)
            .with_transitions(("increment", "increment"))
        ),
        persister,
        entrypoint="increment",
        default_state={"count": 0},
        prefix="/acounter",
    )
    add_application_routes(
        api,
        lambda: ApplicationBuilder().with_actions(echo=aecho).with_transitions(("echo", "echo")),
        persister,
        entrypoint="echo",
        default_state={"messages": []},
        prefix="/aecho",
    )
    with running(api) as url:
        yield url
    asyncio.run(persister.cleanup())


def test_async_app_steps_through_async_persister(async_server: str) -> None:
    httpx.post(f"{async_server}/acounter", json={"app_id": "a1"})
    httpx.post(f"{async_server}/acounter/a1/step")
    body = httpx.post(f"{async_server}/acounter/a1/step").json()
    assert (body["state"], body["sequence_id"]) == ({"count": 2}, 2)
    assert [s["sequence_id"] for s in httpx.get(f"{async_server}/acounter/a1/history").json()["steps"]] == [
        0,
        1,
        2,
    ]


def test_async_app_streams_as_sse(async_server: str) -> None:
    httpx.post(f"{async_server}/aecho", json={"app_id": "a2"})
    r = httpx.post(
        f"{async_server}/aecho/a2/stream", json={"inputs": {"prompt": "x y"}, "halt_after": ["echo"]}
    )
    events = _events(r.text)
    assert [body["token"] for kind, body in events if kind == "item"] == ["x", "y"]
    assert events[-1][1]["state"] == {"messages": ["x y"]}


def test_async_app_unknown_is_404_and_missing_input_is_422(async_server: str) -> None:
    assert httpx.post(f"{async_server}/aecho/nope/step").status_code == 404
    httpx.post(f"{async_server}/aecho", json={"app_id": "a3"})
    assert httpx.post(f"{async_server}/aecho/a3/step", json={"inputs": {}}).status_code == 422


def test_routes_can_be_added_to_a_router_with_its_own_prefix(tmp_path: Path) -> None:
    from fastapi import APIRouter

    router = APIRouter(prefix="/v1")
    add_application_routes(
        router,
        counter_definition,
        _persister(tmp_path / "r.db"),
        entrypoint="increment",
        default_state={"count": 5},
    )
    api = FastAPI()
    api.include_router(router)
    with running(api) as url:
        created = httpx.post(f"{url}/v1/apps", json={"app_id": "r1"})
        stepped = httpx.post(f"{url}/v1/apps/r1/step")
    assert (created.status_code, stepped.json()["state"]) == (201, {"count": 6})
