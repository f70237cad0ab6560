"""stream_result with halt_before/halt_after combinations (fast-forward rules, #1 first step)."""

import logging

from _compat import Out, Recorder

from burr.core import ApplicationBuilder, State, action
from burr.core.action import Result, streaming_action

logging.disable(logging.CRITICAL)
out = Out()


@streaming_action(reads=[], writes=["o"])
def s1(state: State):
    yield {"t": 1}, None
    yield {"o": 1}, state.update(o=state.get("o", 0) + 1)


@action(reads=[], writes=["p"])
def plain(state: State) -> State:
    return state.update(p=state.get("p", 0) + 1)


def app():
    rec = Recorder(keep={"method", "action", "sequence_id"})
    a = (
        ApplicationBuilder()
        .with_actions(plain=plain, s1=s1, r=Result("o"))
        .with_transitions(("plain", "s1"), ("s1", "plain"))
        .with_entrypoint("plain")
        .with_hooks(rec)
        .build()
    )
    return a, rec


for ha, hb in [
    (["r"], ["plain"]),
    (["s1"], ["plain"]),
    (["plain"], ["s1"]),
    (["r"], ["s1"]),
    (["s1", "plain"], []),
]:
    a, rec = app()
    rec.events.clear()
    act, c = a.stream_result(halt_after=ha, halt_before=hb)
    out(f"{ha}/{hb}", [act.name, list(c), c.get()])
    out(f"{ha}/{hb}.events", [[e[0], e[1].get("action") or e[1].get("method")] for e in rec.events])
a, rec = app()
a.step()
act, c = a.stream_result(halt_after=["plain"])
out("after_step", [act.name, c.get()])
out.dump()
