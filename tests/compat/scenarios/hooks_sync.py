"""Hook order and kwargs for step/run/iterate (sync), incl. failures and nested calls."""

from _compat import Out, Recorder

from burr.core import ApplicationBuilder, State, action
from burr.core.action import Result

out = Out()


@action(reads=["n"], writes=["n"])
def inc(state: State, by: int = 1) -> tuple:
    return {"n": state["n"] + by}, state.update(n=state["n"] + by)


@action(reads=["n"], writes=["n"])
def boom(state: State) -> State:
    raise RuntimeError("boom")


def build(rec, fail=False, **ids):
    b = (
        ApplicationBuilder()
        .with_actions(inc=inc, boom=boom, r=Result("n"))
        .with_transitions(("inc", "boom" if fail else "r"))
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_hooks(rec)
    )
    if ids:
        b = b.with_identifiers(**ids)
    return b.build()


rec = Recorder()
app = build(rec, app_id="A", partition_key="P")
out("create", rec.events)
rec.events.clear()
app.step(inputs={"by": 2, "other": 1})
out("step", rec.events)
rec.events.clear()
app.run(halt_after=["r"], inputs={"by": 3})
out("run", rec.events)

rec = Recorder(skip={"state"})
app = build(rec, app_id="B")
rec.events.clear()
gen = app.iterate(halt_after=["r"])
created = len(rec.events)
next(gen)
first = len(rec.events)
list(gen)
out("iterate.step_events", [e for e in rec.events if e[0] in ("pre_run_step", "post_run_step")])


def compact(events):
    return [[e[0], e[1].get("method") or e[1].get("action")] for e in events]


# fix #15 (generator entry points): Apache Burr fires iterate's pre/post execute-call hooks when the
# generator is created, then a step pair per step; ours wraps the whole iteration in one call.
out(
    "iterate.order",
    [compact(rec.events[:created]), compact(rec.events[created:first]), compact(rec.events[first:])],
)

# calls made while an iterate generator is suspended fire their own execute-call hooks
rec = Recorder(keep={"method", "action"})
app = build(rec, app_id="S")
gen = app.iterate(halt_after=["r"])
next(gen)
rec.events.clear()
app.step()
out("iterate_suspended.step", rec.events[:])
rec.events.clear()
gen.close()
out("iterate_suspended.close", rec.events[:])

rec = Recorder(keep={"method", "exception", "action", "sequence_id", "result", "state"})
app = build(rec, fail=True, app_id="C")
rec.events.clear()
out.raises("run.failure", lambda: app.run(halt_after=["r"]), "boom")
# fix #15 changes the exception passed to post_run_execute_call; keep it under its own label
out("run.failure.events", [e for e in rec.events if e[0] != "post_run_execute_call"])
out("run.failure.post_exec", [e for e in rec.events if e[0] == "post_run_execute_call"])
out("run.failure.state", app.state)

rec = Recorder(keep={"method", "action", "sequence_id"})


@action(reads=[], writes=["child"])
def parent_action(state: State) -> State:
    child_rec = Recorder(keep={"method", "action"})
    child = (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_hooks(child_rec)
        .build()
    )
    child.run(halt_after=["inc"])
    return state.update(child=child_rec.events)


app = ApplicationBuilder().with_actions(p=parent_action).with_entrypoint("p").with_hooks(rec).build()
rec.events.clear()
_, _, st = app.run(halt_after=["p"])
out("nested.parent_events", rec.events)
out("nested.child_events", st["child"])
out.dump()
