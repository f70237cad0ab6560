"""Spans and attributes via __tracer and @trace: uids, nesting, hook kwargs, order."""

from _compat import Out, Recorder

from burr.core import ApplicationBuilder, State, action
from burr.visibility import TracerFactory, trace

out = Out()


@trace()
def helper(x: int, secret: str = "s") -> int:
    return x * 2


@trace(capture_inputs=False, span_name="custom")
def helper2(y: int) -> int:
    return helper(y) + 1


@trace(input_filterlist=["secret"])
def helper3(x: int, secret: str) -> int:
    return x


@action(reads=[], writes=["v"])
def traced(state: State, __tracer: TracerFactory) -> State:
    __tracer.log_attribute("top", 1)
    with __tracer("span_a") as t:
        t.log_attributes(in_span={"k": [1, 2]}, other="x")
        with __tracer("nested") as n:
            n.log_attribute("deep", True)
            v = helper(3)
        with __tracer("sibling", span_dependencies=["span_a"]):
            pass
    with __tracer("span_b"):
        helper2(4)
        helper3(1, "pw")
    return state.update(v=v)


@action(reads=[], writes=["w"])
def untraced(state: State) -> State:
    # no __tracer declared: @trace still opens spans through the out-of-band factory
    return state.update(w=helper(5))


out("helper_outside_action", helper(2))

rec = Recorder(skip={"app_id", "partition_key"})
app = (
    ApplicationBuilder()
    .with_actions(traced=traced, untraced=untraced)
    .with_transitions(("traced", "untraced"))
    .with_entrypoint("traced")
    .with_identifiers(app_id="T")
    .with_hooks(rec)
    .build()
)
app.run(halt_after=["untraced"])
events = [
    e
    for e in rec.events
    if e[0] not in ("pre_run_execute_call", "post_run_execute_call", "post_application_create")
]
for e in events:
    attrs = e[1].get("attributes")
    if isinstance(attrs, dict) and "__burr_function_hash" in attrs:
        attrs["__burr_function_hash"] = len(attrs["__burr_function_hash"])
out("events", events)
out.dump()
