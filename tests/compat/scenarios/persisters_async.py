"""AsyncInMemoryPersister with abuild/arun: saved records (sync actions: fix #13), resume, fork."""

import asyncio
import logging

from _compat import Out

from burr.core import ApplicationBuilder, State, action
from burr.core.persistence import AsyncInMemoryPersister, InMemoryPersister

logging.disable(logging.CRITICAL)
out = Out()


@action(reads=["n"], writes=["n"])
async def ainc(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def sinc(state: State) -> State:
    return state.update(n=state["n"] * 10)


def rec(r):
    return None if r is None else [r["sequence_id"], r["position"], r["status"], r["state"]]


def graph(b):
    return b.with_actions(a=ainc, s=sinc).with_transitions(("a", "s"), ("s", "a"))


async def main():
    p = AsyncInMemoryPersister()
    app = (
        await graph(ApplicationBuilder())
        .with_state(n=1)
        .with_entrypoint("a")
        .with_identifiers(app_id="x", partition_key="pk")
        .with_state_persister(p)
        .abuild()
    )
    await app.arun(halt_after=["s"])
    out("async_action.saved", rec(await p.load("pk", "x", 0)))
    # fix #13: Apache Burr saves the pre-action state for sync actions run under arun
    out("sync_action.saved", rec(await p.load("pk", "x", 1)))
    out("list", await p.list_app_ids("pk"))
    app = (
        await graph(ApplicationBuilder())
        .initialize_from(p, resume_at_next_action=True, default_state={}, default_entrypoint="a")
        .with_identifiers(app_id="x", partition_key="pk")
        .abuild()
    )
    out("resume", [app.state, app.sequence_id, app.get_next_action().name])
    try:
        await (
            graph(ApplicationBuilder())
            .initialize_from(
                InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="a"
            )
            .abuild()
        )
        out("sync_initializer_abuild.result", "built")
    except ValueError as e:
        out("sync_initializer_abuild.result", ["ValueError", "sync" in str(e)])


asyncio.run(main())
out.dump()
