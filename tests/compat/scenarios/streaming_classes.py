"""SingleStepStreamingAction classes, bare-dict yields (0.43), item indexes, fast-forward through
streaming actions, and StreamingResultContainer used directly."""

import asyncio
import logging

from _compat import Out, Recorder, step_triple

from burr.core import ApplicationBuilder, State
from burr.core.action import (
    AsyncStreamingResultContainer,
    SingleStepStreamingAction,
    StreamingResultContainer,
    streaming_action,
)

logging.disable(logging.CRITICAL)
out = Out()


class Counter(SingleStepStreamingAction):
    @property
    def reads(self) -> list:
        return ["n"]

    @property
    def writes(self) -> list:
        return ["n"]

    def stream_run_and_update(self, state: State, **kw):
        for i in range(2):
            yield {"i": i}, None
        yield {"n": state["n"] + 1}, state.update(n=state["n"] + 1)


class ACounter(Counter):
    async def stream_run_and_update(self, state: State, **kw):
        for i in range(2):
            yield {"i": i}, None
        yield {"n": state["n"] + 1}, state.update(n=state["n"] + 1)


@streaming_action(reads=[], writes=["done"])
def bare(state: State):
    yield {"tok": 1}  # bare dict: an intermediate item in 0.43
    yield {"tok": 2}, None
    yield {"done": True}, state.update(done=True)


out("flags", [Counter().streaming, Counter().single_step, Counter().is_async(), ACounter().is_async()])

rec = Recorder(keep={"action", "item", "item_index", "sequence_id", "result"})
app = (
    ApplicationBuilder()
    .with_actions(c=Counter(), b=bare, c2=Counter())
    .with_transitions(("c", "b"), ("b", "c2"))
    .with_state(n=0)
    .with_entrypoint("c")
    .with_hooks(rec)
    .build()
)
_, cont = app.stream_result(halt_after=["c"])
out("class.items", list(cont))
out("class.get", cont.get())
_, cont = app.stream_result(halt_after=["b"])
out("bare.items", list(cont))
out("bare.get", cont.get())
out("events", rec.events)

# fast-forward through streaming actions (no stream hooks for them)
rec = Recorder(keep={"action", "sequence_id"})
app = (
    ApplicationBuilder()
    .with_actions(c=Counter(), c1=Counter(), c2=Counter())
    .with_transitions(("c", "c1"), ("c1", "c2"))
    .with_state(n=0)
    .with_entrypoint("c")
    .with_hooks(rec)
    .build()
)
_, cont = app.stream_result(halt_after=["c2"])
out("ff.items", list(cont))
out("ff.get", cont.get())
out("ff.events", rec.events)

# a bare-dict yield run by step() (drained, not streamed)
app = ApplicationBuilder().with_actions(b=bare).with_entrypoint("b").build()
out.raises("bare.step", lambda: step_triple(app.step()), "")

# the sync twin of async_class below
rec = Recorder(keep={"action", "item", "item_index", "sequence_id", "result"})
app = (
    ApplicationBuilder()
    .with_actions(c=Counter())
    .with_state(n=0)
    .with_entrypoint("c")
    .with_hooks(rec)
    .build()
)
_, cont = app.stream_result(halt_after=["c"])
out("sync_class.items", list(cont))
out("sync_class.events", rec.events)


async def amain():
    rec = Recorder(keep={"action", "item", "item_index", "sequence_id", "result"})
    app = (
        await ApplicationBuilder()
        .with_actions(c=ACounter())
        .with_state(n=0)
        .with_entrypoint("c")
        .with_hooks(rec)
        .abuild()
    )
    _, cont = await app.astream_result(halt_after=["c"])
    out("async_class.items", [i async for i in cont])
    out("async_class.get", await cont.get())
    # 0.43: async single-step item_index is 1-based like sync
    out("async_class.events", rec.events)
    app = await ApplicationBuilder().with_actions(c=ACounter()).with_state(n=0).with_entrypoint("c").abuild()
    out("async_class.astep", step_triple(await app.astep()))


asyncio.run(amain())

# containers used directly
calls = []


def gen():
    yield {"a": 1}, None
    yield {"a": 2}, None
    yield {"final": True}, State({"x": 1})


c = StreamingResultContainer(
    gen(),
    State({"init": 1}),
    lambda r, s: (r, s),
    lambda r, s, e: calls.append([r, s, type(e).__name__ if e else None]),
)
out("container.items", list(c))
out("container.get", c.get())
out("container.calls", calls)
calls.clear()
c = StreamingResultContainer(
    gen(),
    State({"init": 1}),
    lambda r, s: (r, s),
    lambda r, s, e: calls.append([r, s, type(e).__name__ if e else None]),
)
for _ in c:
    break
out("container.abandon.get", c.get())
out("container.abandon.calls", calls)
out(
    "pass_through",
    [
        list(StreamingResultContainer.pass_through({"r": 1}, State({"s": 1}))),
        StreamingResultContainer.pass_through({"r": 1}, State({"s": 1})).get(),
    ],
)


async def apass():
    p = AsyncStreamingResultContainer.pass_through({"r": 1}, State({"s": 1}))
    return [[i async for i in p], await p.get()]


out("async_pass_through", asyncio.run(apass()))
out.dump()
