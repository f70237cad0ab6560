"""Hooks under astep/arun/aiterate compared with the sync drivers (ours must be identical)."""

import asyncio

from _compat import AsyncRecorder, Out, Recorder, step_triple

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.core.action import Result

out = Out()


@action(reads=["n"], writes=["n"])
def sync_inc(state: State, by: int = 1) -> tuple:
    return {"n": state["n"] + by}, state.update(n=state["n"] + by)


@action(reads=["n"], writes=["n"])
async def async_inc(state: State, __context: ApplicationContext) -> tuple:
    await asyncio.sleep(0)
    return {"n": state["n"] * 10, "seq": __context.sequence_id}, state.update(n=state["n"] * 10)


@action(reads=["n"], writes=["n"])
def sync_ctx(state: State, __context: ApplicationContext) -> tuple:
    return {"seq": __context.sequence_id}, state.update(n=state["n"] + 100)


def build(*hooks, app_id):
    return (
        ApplicationBuilder()
        .with_actions(a=sync_inc, b=async_inc, c=sync_ctx, r=Result("n"))
        .with_transitions(("a", "b"), ("b", "c"), ("c", "r"))
        .with_state(n=1)
        .with_entrypoint("a")
        .with_identifiers(app_id=app_id)
        .with_hooks(*hooks)
    )


KEEP = {"method", "action", "sequence_id", "result", "state", "inputs", "exception"}


async def main():
    # arun with sync hooks only
    rec = Recorder(keep=KEEP)
    app = await build(rec, app_id="x").abuild()
    ret = await app.arun(halt_after=["r"], inputs={"by": 2})
    out("arun.return", step_triple(ret))
    out("arun.events", rec.events)

    # astep one at a time
    rec = Recorder(keep=KEEP)
    app = await build(rec, app_id="x").abuild()
    for _ in range(4):
        await app.astep(inputs={"by": 2})
    out("astep.events", rec.events)

    # aiterate
    rec = Recorder(keep=KEEP)
    app = await build(rec, app_id="x").abuild()
    results = [step_triple(x) async for x in app.aiterate(halt_after=["r"], inputs={"by": 2})]
    out("aiterate.results", results)
    out("aiterate.events", rec.events)

    # sync and async hooks together: relative order
    events: list = []
    srec = Recorder(keep={"method", "action"})
    srec.events = events
    arec = AsyncRecorder(events, keep={"method", "action"})
    app = await build(srec, arec, app_id="x").abuild()
    await app.arun(halt_after=["r"], inputs={"by": 2})
    out("mixed.order", events)

    # sync app built with build(): sync action via astep works
    rec = Recorder(keep={"method", "action", "sequence_id"})
    app = build(rec, app_id="x").build()
    out("build_then_astep", step_triple(await app.astep(inputs={"by": 5})))
    out("build_then_astep.events", rec.events)


async def abuild_sync_call():
    app = await build(app_id="y").abuild()
    return app


asyncio.run(main())
app = asyncio.run(abuild_sync_call())
out.raises("abuilt.step", lambda: app.step(), ".abuild()")
out.raises("abuilt.run", lambda: app.run(halt_after=["r"]), ".abuild()")


# The sync reference: the same graph with a sync twin of `b`, run by the sync drivers. Our async
# drivers must fire exactly these events (fix #13 and the fixed hook order; see intended.py).
@action(reads=["n"], writes=["n"])
def sync_b(state: State, __context: ApplicationContext) -> tuple:
    return {"n": state["n"] * 10, "seq": __context.sequence_id}, state.update(n=state["n"] * 10)


def sync_app():
    rec = Recorder(keep=KEEP)
    app = (
        ApplicationBuilder()
        .with_actions(a=sync_inc, b=sync_b, c=sync_ctx, r=Result("n"))
        .with_transitions(("a", "b"), ("b", "c"), ("c", "r"))
        .with_state(n=1)
        .with_entrypoint("a")
        .with_identifiers(app_id="x")
        .with_hooks(rec)
        .build()
    )
    return app, rec


app, rec = sync_app()
app.run(halt_after=["r"], inputs={"by": 2})
out("sync.run.events", rec.events)
app, rec = sync_app()
for _ in range(4):
    app.step(inputs={"by": 2})
out("sync.step.events", rec.events)
app, rec = sync_app()
list(app.iterate(halt_after=["r"], inputs={"by": 2}))
out("sync.iterate.events", rec.events)
out.dump()
