"""astream_result / astream_iterate: events must equal the sync stream_result ones (one engine)."""

import asyncio

from _compat import Out, Recorder

from burr.core import ApplicationBuilder, State, action
from burr.core.action import AsyncStreamingAction, StreamingAction, streaming_action

out = Out()
KEEP = {"method", "action", "sequence_id", "result", "exception", "item", "item_index", "inputs", "state"}


@action(reads=[], writes=["n"])
def plain(state: State) -> tuple:
    return {"n": 1}, state.update(n=1)


@streaming_action(reads=[], writes=["out"])
async def s1(state: State, prompt: str = "x"):
    for i in range(3):
        yield {"tok": i}, None
    yield {"out": prompt}, state.update(out=prompt)


@streaming_action(reads=[], writes=["out"])
def s1_sync(state: State, prompt: str = "x"):
    for i in range(3):
        yield {"tok": i}, None
    yield {"out": prompt}, state.update(out=prompt)


class AMulti(AsyncStreamingAction):
    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["joined"]

    async def stream_run(self, state: State, **kw):
        for w in ["a", "b", "c"]:
            yield {"w": w}

    def update(self, result: dict, state: State) -> State:
        return state.update(joined=result["w"])


class SMulti(StreamingAction):
    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["joined"]

    def stream_run(self, state: State, **kw):
        for w in ["a", "b", "c"]:
            yield {"w": w}

    def update(self, result: dict, state: State) -> State:
        return state.update(joined=result["w"])


def builder(rec, s, m):
    return (
        ApplicationBuilder()
        .with_actions(plain=plain, s1=s, multi=m)
        .with_transitions(("plain", "s1"), ("s1", "multi"))
        .with_entrypoint("plain")
        .with_identifiers(app_id="A")
        .with_hooks(rec)
    )


async def main():
    rec = Recorder(keep=KEEP)
    app = await builder(rec, s1, AMulti()).abuild()
    rec.events.clear()
    act, container = await app.astream_result(halt_after=["s1"], inputs={"prompt": "hi"})
    items = [i async for i in container]
    out("async.consume", [act.name, items, await container.get()])
    act, container = await app.astream_result(halt_after=["multi"])
    items = [i async for i in container]
    out("async.multi", [act.name, items, await container.get()])
    out("async.events", rec.events)

    rec = Recorder(keep=KEEP)
    app = await builder(rec, s1, AMulti()).abuild()
    rec.events.clear()
    act, container = await app.astream_result(halt_after=["s1"])
    items = container.__aiter__()
    await items.__anext__()
    await items.aclose()  # abandon explicitly: `break` leaves an async generator suspended
    out("async.abandon.get", await container.get())
    out("async.abandon.state", [app.state, app.sequence_id])
    # only the streamed action: the fast-forwarded sync `plain` is covered by async.events (fix #13)
    out("async.abandon.events", [e for e in rec.events if e[1].get("action") == "s1"])

    rec = Recorder(keep={"action", "sequence_id", "method"})
    app = await builder(rec, s1, AMulti()).abuild()
    rec.events.clear()
    seen = []
    async for act, container in app.astream_iterate(halt_after=["multi"]):
        seen.append([act.name, [i async for i in container]])
    out("async.stream_iterate", seen)
    out("async.stream_iterate.step_events", [e for e in rec.events if "execute_call" not in e[0]])

    rec = Recorder()
    app = await builder(rec, s1_sync, AMulti()).abuild()
    app2 = app
    await app2.astep()
    await out.araises(
        "async.sync_streaming_action", lambda: app2.astream_result(halt_after=["s1"]), "not", "async"
    )


asyncio.run(main())

# the sync reference (same graph with sync twins); ours must fire the same events under async
rec = Recorder(keep=KEEP)
app = builder(rec, s1_sync, SMulti()).build()
rec.events.clear()
act, container = app.stream_result(halt_after=["s1"], inputs={"prompt": "hi"})
items = list(container)
out("sync.consume", [act.name, items, container.get()])
act, container = app.stream_result(halt_after=["multi"])
out("sync.multi", [act.name, list(container), container.get()])
out("sync.events", rec.events)
out.dump()
