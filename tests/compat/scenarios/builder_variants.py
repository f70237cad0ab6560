"""Builder variants: with_actions positional/named, with_graph, with_state accumulation, identifiers."""

from _compat import Out, step_triple

from burr.core import Action, ApplicationBuilder, GraphBuilder, State, action, default, expr
from burr.core.action import Input, Result

out = Out()


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def double(state: State) -> tuple:
    return {"doubled": state["n"] * 2}, state.update(n=state["n"] * 2)


class Named(Action):
    @property
    def reads(self) -> list:
        return ["n"]

    @property
    def writes(self) -> list:
        return ["seen"]

    def run(self, state: State, **kw) -> dict:
        return {"seen": state["n"]}

    def update(self, result: dict, state: State) -> State:
        return state.update(seen=result["seen"])


# positional function (named after the function) + named objects
app = (
    ApplicationBuilder()
    .with_actions(inc, dbl=double, named=Named(), result=Result("n", "seen", "absent"))
    .with_transitions(("inc", "dbl"), ("dbl", "named"), ("named", "result"))
    .with_state(n=1)
    .with_state(m=2)
    .with_entrypoint("inc")
    .build()
)
out("positional.names", sorted(a.name for a in app.graph.actions))
out("positional.entrypoint", app.graph.entrypoint.name)
out("state.accumulated", app.state)
out("sequence_id.before", app.sequence_id)
out("run", step_triple(app.run(halt_after=["result"])))
out("sequence_id.after", app.sequence_id)

# a named Action instance given positionally
named_obj = Named().with_name("pre_named")
app = ApplicationBuilder().with_actions(named_obj).with_state(n=3).with_entrypoint("pre_named").build()
out("positional_named_action", step_triple(app.step()))

# positional Action without a name -> error
out.raises(
    "positional_unnamed_action", lambda: ApplicationBuilder().with_actions(Named()), "must have a name set"
)

# with_graph
graph = (
    GraphBuilder()
    .with_actions(inc=inc, start=Input("n"), done=Result("n"))
    .with_transitions(("start", "inc"), ("inc", "inc", expr("n < 5")), ("inc", "done", default))
    .build()
)
out("graph.actions", [a.name for a in graph.actions])
out("graph.transitions", [[t.from_.name, t.to.name, t.condition.name] for t in graph.transitions])
app = ApplicationBuilder().with_graph(graph).with_entrypoint("start").build()
out("with_graph.run", step_triple(app.run(halt_after=["done"], inputs={"n": 2})))

# identifiers
app = (
    ApplicationBuilder()
    .with_actions(inc=inc)
    .with_transitions(("inc", "inc"))
    .with_state(n=0)
    .with_entrypoint("inc")
    .with_identifiers(app_id="my-app", partition_key="pk", sequence_id=5)
    .build()
)
out("identifiers", [app.uid, app.partition_key, app.sequence_id])
act, result, state = app.step()
out("identifiers.first_step_seq", [state["__SEQUENCE_ID"], app.sequence_id])
app.step()
out("identifiers.second_step_seq", app.sequence_id)
out("context", app.context)

# uid default is a uuid string
app = ApplicationBuilder().with_actions(inc=inc).with_state(n=0).with_entrypoint("inc").build()
out("default_uid_len", len(app.uid))
out("default_partition_key", app.partition_key)

# with_state(State) then kwargs; kwargs then State -> error
app = (
    ApplicationBuilder()
    .with_actions(inc=inc)
    .with_state(State({"n": 1}))
    .with_state(x=1)
    .with_entrypoint("inc")
    .build()
)
out("state_obj_then_kwargs", app.state)
out.raises(
    "kwargs_then_state_obj",
    lambda: ApplicationBuilder().with_state(n=1).with_state(State({"n": 2})),
    "already been set",
)

# with_transitions with a list source (fan-in) and several calls
app = (
    ApplicationBuilder()
    .with_actions(a=inc, b=inc, c=Result("n"))
    .with_transitions(("a", "b", expr("n > 100")))
    .with_transitions()
    .with_transitions((["a", "b"], "c"))
    .with_state(n=0)
    .with_entrypoint("a")
    .build()
)
out("fan_in.transitions", [[t.from_.name, t.to.name, t.condition.name] for t in app.graph.transitions])
out("fan_in.run", step_triple(app.run(halt_after=["c"])))

# ApplicationGraph
out("application_graph", [app.graph.entrypoint.name, [a.name for a in app.graph.actions]])
out.dump()
