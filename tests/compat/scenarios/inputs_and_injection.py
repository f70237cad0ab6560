"""Inputs offered to every step, undeclared dropped, missing error, __context/__tracer injection."""

from _compat import Out, Recorder, step_triple

from burr.core import Action, ApplicationBuilder, ApplicationContext, State, action
from burr.visibility import TracerFactory

out = Out()
seen: list = []


@action(reads=["n"], writes=["n"])
def first(state: State, x: int, y: int = 10) -> State:
    seen.append(["first", x, y])
    return state.update(n=state["n"] + x + y)


@action(reads=["n"], writes=["n"])
def second(state: State, x: int, z: str = "zz") -> State:
    seen.append(["second", x, z])
    return state.update(n=state["n"] * x)


@action(reads=[], writes=["ctx"])
def with_context(state: State, __context: ApplicationContext) -> State:
    seen.append(["ctx", ApplicationContext.get() is not None])
    return state.update(
        ctx=[__context.app_id, __context.sequence_id, __context.partition_key, __context.action_name]
    )


@action(reads=[], writes=["tr"])
def with_tracer(state: State, __tracer: TracerFactory, __context: ApplicationContext = None) -> State:
    with __tracer("span") as t:
        t.log_attributes(a=1)
    return state.update(tr=[type(__tracer).__name__, __context is not None])


class ClassCtx(Action):
    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["cls_ctx"]

    @property
    def inputs(self) -> list:
        return ["__context", "k"]

    def run(self, state: State, __context: ApplicationContext, k: int) -> dict:
        return {"cls_ctx": [__context.sequence_id, k]}

    def update(self, result: dict, state: State) -> State:
        return state.update(**result)


def build(rec):
    return (
        ApplicationBuilder()
        .with_actions(
            first=first, second=second, with_context=with_context, with_tracer=with_tracer, cls=ClassCtx()
        )
        .with_transitions(
            ("first", "second"),
            ("second", "with_context"),
            ("with_context", "with_tracer"),
            ("with_tracer", "cls"),
        )
        .with_state(n=0)
        .with_entrypoint("first")
        .with_identifiers(app_id="app", partition_key="pk")
        .with_hooks(rec)
        .build()
    )


rec = Recorder(keep={"inputs", "action", "sequence_id"})
app = build(rec)
out("run", step_triple(app.run(halt_after=["cls"], inputs={"x": 2, "unused": 1, "k": 7})))
out("seen", seen)
out("pre_run_step.inputs", [e for e in rec.events if e[0] == "pre_run_step"])
out("context_outside", ApplicationContext.get())

out.raises("missing_required", lambda: build(Recorder()).step(inputs={"y": 1}), "missing required inputs")
out.raises(
    "dunder_input", lambda: build(Recorder()).step(inputs={"x": 1, "__context": 1}), "double underscore"
)
app = build(Recorder())
app.step(inputs={"x": 1})
out.raises("missing_on_later_step", lambda: app.step(inputs={}), "missing required inputs")
out("seq_after_failed", app.sequence_id)
out("state_after_failed", app.state)
out("inputs_meta", [sorted(first.action_function.inputs[0]), sorted(first.action_function.inputs[1])])
out("optional_and_required", [sorted(x) for x in with_tracer.action_function.optional_and_required_inputs])
out.dump()
