"""Graph API, class-action input shapes, streaming context/tracer, async failures vs sync failures."""

import asyncio
import logging

from _compat import Out, Recorder, step_triple

from burr.core import (
    Action,
    ApplicationBuilder,
    ApplicationContext,
    Condition,
    GraphBuilder,
    State,
    action,
    when,
)
from burr.core.action import Result, streaming_action
from burr.visibility import TracerFactory

logging.disable(logging.CRITICAL)
out = Out()


@action(reads=["n"], writes=["n"], tags=["t1"])
def a(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"], tags=["t1", "t2"])
def b(state: State) -> State:
    return state.update(n=state["n"] * 2)


g = (
    GraphBuilder()
    .with_actions(a=a, b=b, r=Result("n"))
    .with_transitions(("a", "b", when(n=1)), ("a", "r"), ("b", "a"))
    .build()
)
out("get_action", g.get_action("a").name)
out.raises("get_action.unknown", lambda: g.get_action("zz"), "not found")
out("tags.t1", [x.name for x in g.get_actions_by_tag("t1")])
out("tags.t2", [x.name for x in g.get_actions_by_tag("t2")])
out.raises("tags.unknown", lambda: g.get_actions_by_tag("zz"), "not found")
out("next.none", g.get_next_node(None, State({"n": 1}), "a").name)
out("next.cond", g.get_next_node("a", State({"n": 1}), "a").name)
out("next.default", g.get_next_node("a", State({"n": 5}), "a").name)
out("next.dead", g.get_next_node("r", State({"n": 5}), "a"))
out("transition_fields", [[t.from_.name, t.to.name, t.condition.name] for t in g.transitions])
out("gb_attrs", [GraphBuilder().actions, GraphBuilder().transitions])


# custom condition subclass named "default" counts as default (#23)
named_default = Condition([], lambda s: False, name="default")
out.raises(
    "named_default_counts",
    lambda: (
        GraphBuilder()
        .with_actions(a=a, r=Result("n"))
        .with_transitions(("a", "r", named_default), ("a", "a"))
        .build()
    ),
    "redundant",
)


class TupleInputs(Action):
    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["got"]

    @property
    def inputs(self):
        return ["req"], ["opt"]

    def run(self, state: State, req: int, opt: int = 9) -> dict:
        return {"got": [req, opt]}

    def update(self, result: dict, state: State) -> State:
        return state.update(**result)


out("tuple_inputs.meta", [sorted(x) for x in TupleInputs().optional_and_required_inputs])
app = ApplicationBuilder().with_actions(t=TupleInputs()).with_entrypoint("t").build()
out("tuple_inputs.only_required", step_triple(app.step(inputs={"req": 1, "zzz": 3})))
app = ApplicationBuilder().with_actions(t=TupleInputs()).with_entrypoint("t").build()
out("tuple_inputs.both", step_triple(app.step(inputs={"req": 1, "opt": 2})))
out.raises(
    "tuple_inputs.missing",
    lambda: (
        ApplicationBuilder()
        .with_actions(t=TupleInputs())
        .with_entrypoint("t")
        .build()
        .step(inputs={"opt": 2})
    ),
    "missing required inputs",
)


# class attributes instead of properties
class Attrs(Action):
    reads = ["n"]
    writes = ["m"]

    def run(self, state: State) -> dict:
        return {"m": state["n"] + 1}

    def update(self, result: dict, state: State) -> State:
        return state.update(**result)


out(
    "class_attrs",
    step_triple(
        ApplicationBuilder().with_actions(x=Attrs()).with_state(n=1).with_entrypoint("x").build().step()
    ),
)


# streaming actions get __context/__tracer; ApplicationContext.get() inside the stream
@streaming_action(reads=[], writes=["info"])
def stream_ctx(state: State, __context: ApplicationContext, __tracer: TracerFactory):
    with __tracer("s"):
        yield {"seq": __context.sequence_id}, None
    got = ApplicationContext.get()
    yield {"done": True}, state.update(info=[__context.app_id, got is not None])


rec = Recorder(keep={"action", "span"})
app = (
    ApplicationBuilder()
    .with_actions(s=stream_ctx)
    .with_entrypoint("s")
    .with_identifiers(app_id="sc")
    .with_hooks(rec)
    .build()
)
_, c = app.stream_result(halt_after=["s"])
out("stream_ctx.items", list(c))
result, st = c.get()
out("stream_ctx.result", result)
# #17 notes that Apache Burr does not set the context var while a stream_result generator runs
out("stream_ctx.state_app_id", st["info"][0])
out("stream_ctx.context_var_inside_stream", st["info"][1])
out("stream_ctx.events", [e for e in rec.events if e[0] in ("pre_start_span", "post_end_span")])


# failures: sync vs async drivers must agree
@action(reads=["n"], writes=["n"])
def boom(state: State) -> State:
    raise RuntimeError("x")


@action(reads=["n"], writes=["n"])
async def aboom(state: State) -> State:
    raise RuntimeError("x")


KEEP = {"action", "sequence_id", "result", "exception", "state"}


def fail_app(rec, fn):
    return (
        ApplicationBuilder()
        .with_actions(a=a, f=fn)
        .with_transitions(("a", "f"))
        .with_state(n=0)
        .with_entrypoint("a")
        .with_hooks(rec)
    )


rec = Recorder(keep=KEEP)
app = fail_app(rec, boom).build()
app.step()
out.raises("sync_fail", lambda: app.step(), "x")
out("sync_fail.events", rec.events)
out("sync_fail.after", [app.state, app.sequence_id, app.get_next_action().name])


async def afail(fn):
    rec = Recorder(keep=KEEP)
    app = await fail_app(rec, fn).abuild()
    await app.astep()
    await out.araises(f"async_fail.{fn.__name__}", lambda: app.astep(), "x")
    out(f"async_fail.{fn.__name__}.events", rec.events)
    out(f"async_fail.{fn.__name__}.after", [app.state, app.sequence_id, app.get_next_action().name])


asyncio.run(afail(boom))
asyncio.run(afail(aboom))
out.dump()
