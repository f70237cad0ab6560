"""Action helpers (bind, create_action, with_name), decorators, builder gotchas and the fixes
#14, #17, #24, #29, #30, #34 (each under its own label; see intended.py)."""

import asyncio
import gc
import importlib
import json
import os
import tempfile
import types

from _compat import Out, Recorder, step_triple

import burr.core
from burr.core import Action, Application, ApplicationBuilder, ApplicationContext, Graph, State, action
from burr.core.action import Result, create_action, streaming_action
from burr.core.graph import GraphBuilder
from burr.lifecycle import StateAndResultsFullLogger
from burr.lifecycle.base import ExecuteMethod
from burr.lifecycle.internal import LifecycleAdapterSet

out = Out()


@action(reads=["n"], writes=["n"])
def add(state: State, amount: int, extra: int = 0) -> State:
    return state.update(n=state["n"] + amount + extra)


out("decorator.same_object", [callable(add), hasattr(add, "action_function"), add.__name__])
bound = add.bind(amount=5)
out("bind.is_copy", [bound is add, add.action_function.inputs, bound.action_function.inputs])
out(
    "bind.run",
    step_triple(
        ApplicationBuilder().with_actions(b=bound).with_state(n=1).with_entrypoint("b").build().step()
    ),
)
out("direct_call", add(State({"n": 1}), amount=2))


@streaming_action(reads=[], writes=["x"])
def gen(state: State):
    yield {"x": 1}, state.update(x=1)


out("streaming_decorator.copy", [hasattr(gen, "action_function"), gen.action_function.streaming])
out("create_action", [create_action(add, "named").name, repr(create_action(add, "named"))])
out.raises("create_action.bad", lambda: create_action(lambda s: s, "x"), "not a valid action")
out.raises("with_name.twice", lambda: Result("a").with_name("one").with_name("two"), "already set to")
out("with_name", [Result("a").with_name("r").name, Result("a").name])
out.raises(
    "with_actions.named_twice",
    lambda: ApplicationBuilder().with_actions(other=Result("a").with_name("r")),
    "already set",
)
out.raises(
    "with_actions.undecorated", lambda: ApplicationBuilder().with_actions(x=lambda s: s), "not a valid action"
)
out.raises(
    "with_actions.empty",
    lambda: ApplicationBuilder().with_actions().with_entrypoint("x").build(),
    "at least one action",
)
out.raises("no_graph", lambda: ApplicationBuilder().with_entrypoint("x").build(), "No graph constructs exist")
out.raises(
    "no_entrypoint", lambda: ApplicationBuilder().with_actions(r=Result("a")).build(), "with_entrypoint"
)
out.raises(
    "unknown_entrypoint",
    lambda: ApplicationBuilder().with_actions(r=Result("a")).with_entrypoint("x").build(),
    "not found in actions",
)
out.raises(
    "duplicate",
    lambda: (
        ApplicationBuilder()
        .with_graph(GraphBuilder().with_actions(r=Result("a")).build())
        .with_actions(r=Result("b"))
        .with_entrypoint("r")
        .build()
    ),
    "duplicated",
)
out("validate_inputs.ok", add.action_function.validate_inputs({"amount": 1}))
out.raises(
    "validate_inputs.missing", lambda: add.action_function.validate_inputs({}), "Missing the following inputs"
)
out("optional_and_required", [sorted(x) for x in add.action_function.optional_and_required_inputs])
out("execute_methods", [m.value for m in ExecuteMethod])


# fix #24: positional objects that are not actions
class NotAnAction:
    pass


out.raises(
    "fix24.positional_non_action",
    lambda: ApplicationBuilder().with_actions(NotAnAction(), r=Result("a")).with_entrypoint("r").build(),
    "",
)

# fix #29: build twice; entrypoint twice
b = ApplicationBuilder().with_actions(add=add).with_state(n=0).with_entrypoint("add")
a1, a2 = b.build(), b.build()
a1.step(inputs={"amount": 1})
out("build_twice.independent", [a1.state["n"], a2.state["n"], a1.uid == a2.uid])
out.raises(
    "fix29.entrypoint_twice",
    lambda: ApplicationBuilder().with_entrypoint("a").with_entrypoint("b"),
    "entrypoint",
)

# fix #30: the module
mod = importlib.import_module("burr.core.action")
out("import_module_is_module", isinstance(mod, types.ModuleType))
import burr.core.action as m_as  # noqa: E402

out("fix30.import_as_has_Action", hasattr(m_as, "Action"))
out("fix30.import_as_is_module", isinstance(m_as, types.ModuleType))


# fix #14: async def function action under sync step
@action(reads=[], writes=["y"])
async def async_fn(state: State) -> State:
    return state.update(y=1)


out.raises(
    "fix14.async_fn_sync_step",
    lambda: ApplicationBuilder().with_actions(a=async_fn).with_entrypoint("a").build().step(),
    "astep",
)


# fix #17: ApplicationContext after a nested app run inside an action
@action(reads=[], writes=["inner", "after"])
def outer(state: State) -> State:
    before = ApplicationContext.get()
    child = ApplicationBuilder().with_actions(r=Result("a")).with_state(a=1).with_entrypoint("r").build()
    child.run(halt_after=["r"])
    after = ApplicationContext.get()
    return state.update(inner=before is not None, after=after is not None and after.app_id == before.app_id)


out(
    "fix17.context_restored",
    step_triple(
        ApplicationBuilder()
        .with_actions(o=outer)
        .with_entrypoint("o")
        .with_identifiers(app_id="o")
        .build()
        .step()
    ),
)


# fix #34: dunder injection in async class actions
class AsyncCtx(Action):
    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["seq"]

    @property
    def inputs(self) -> list:
        return ["__context"]

    async def run(self, state: State, __context: ApplicationContext) -> dict:
        return {"seq": __context.sequence_id}

    def update(self, result: dict, state: State) -> State:
        return state.update(**result)


async def run_async_ctx():
    app = await ApplicationBuilder().with_actions(c=AsyncCtx()).with_entrypoint("c").abuild()
    return await app.astep()


out.raises("fix34.async_class_context", lambda: step_triple(asyncio.run(run_async_ctx())), "")

# Application constructed directly
graph = GraphBuilder().with_actions(add=add).with_transitions(("add", "add")).build()
rec = Recorder(keep={"action", "sequence_id"})
app = Application(
    graph=graph,
    state=State({"n": 0}),
    partition_key="p",
    uid="direct",
    entrypoint="add",
    sequence_id=0,
    adapter_set=LifecycleAdapterSet(rec),
)
out("direct.first_step", step_triple(app.step(inputs={"amount": 1})))
out("direct.events", rec.events)
out("graph_type", [type(app.graph).__name__, isinstance(graph, Graph)])

# StateAndResultsFullLogger
path = os.path.join(tempfile.mkdtemp(), "log.jsonl")
app = (
    ApplicationBuilder()
    .with_actions(add=add)
    .with_state(n=0)
    .with_entrypoint("add")
    .with_hooks(StateAndResultsFullLogger(path))
    .build()
)
app.step(inputs={"amount": 2})
del app  # Apache Burr's logger flushes its file when it is garbage collected
gc.collect()
with open(path) as f:
    lines = [json.loads(line) for line in f]
out("full_logger", [{k: v for k, v in line.items() if k not in ("start_time", "end_time")} for line in lines])
out("full_logger.keys", [sorted(line) for line in lines])
out.raises("full_logger.bad_path", lambda: StateAndResultsFullLogger("x.txt"), "")

# Input in burr.core? (not re-exported)
out(
    "core_exports",
    sorted(
        n for n in ["Input", "Result", "safe_expr", "type_eraser", "GraphBuilder"] if hasattr(burr.core, n)
    ),
)
out.dump()
