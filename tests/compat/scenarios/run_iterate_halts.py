"""run/iterate/step return values and halts (incl. halt_before on the entrypoint, @tag:, dead ends)."""

from _compat import Out, step_triple

from burr.core import ApplicationBuilder, State, action, expr
from burr.core.action import Result

out = Out()


@action(reads=["n"], writes=["n"], tags=["counting"])
def count(state: State) -> tuple:
    return {"n": state["n"] + 1}, state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["msg"], tags=["final", "counting"])
def finish(state: State) -> tuple:
    return {"msg": f"done at {state['n']}"}, state.update(msg=f"done at {state['n']}")


def build(n: int = 0):
    return (
        ApplicationBuilder()
        .with_actions(count=count, finish=finish, result=Result("msg"))
        .with_transitions(("count", "count", expr("n < 3")), ("count", "finish"), ("finish", "result"))
        .with_state(n=n)
        .with_entrypoint("count")
        .build()
    )


app = build()
out("step.1", step_triple(app.step()))
out("step.2", step_triple(app.step()))
out("has_next", app.has_next_action())
out("next_action", app.get_next_action().name)

out("run.halt_after", step_triple(build().run(halt_after=["finish"])))
out("run.halt_before", step_triple(build().run(halt_before=["finish"])))
out("run.halt_before_entrypoint", step_triple(build().run(halt_before=["count"])))
out("run.halt_after_entrypoint", step_triple(build().run(halt_after=["count"])))
out("run.both", step_triple(build().run(halt_before=["result"], halt_after=["count"])))
out("run.tag_after", step_triple(build().run(halt_after=["@tag:final"])))
out("run.tag_before", step_triple(build(5).run(halt_before=["@tag:final"])))
out("run.multi_tag", step_triple(build().run(halt_after=["@tag:counting"])))

app = build()
gen = app.iterate(halt_after=["result"])
steps = []
while True:
    try:
        steps.append(step_triple(next(gen)))
    except StopIteration as stop:
        out("iterate.return", step_triple(stop.value))
        break
out("iterate.steps", steps)

# run past the end of the graph: returns the last action and its result
app = build(5)

app = build(5)
out("run.to_end_no_halt", step_triple(app.run()))
out("step.at_end", app.step())
out("has_next.at_end", app.has_next_action())
out("run.at_end", step_triple(app.run(halt_after=["result"])))

out.raises("run.unknown_halt", lambda: build().run(halt_after=["nope"]), "not registered actions")
out.raises("run.unknown_tag", lambda: build().run(halt_after=["@tag:nope"]), "not found in graph")
out.raises(
    "iterate.unknown_halt", lambda: list(build().iterate(halt_before=["nope"])), "not registered actions"
)
out.dump()
