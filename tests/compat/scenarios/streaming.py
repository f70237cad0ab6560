"""Streaming: stream_result event order (Appendix A), abandon, get(), stream_iterate, StreamingAction."""

from _compat import Out, Recorder, step_triple

from burr.core import ApplicationBuilder, State, action
from burr.core.action import Result, StreamingAction, streaming_action

out = Out()
KEEP = {"method", "action", "sequence_id", "result", "exception", "item", "item_index", "inputs", "state"}


@action(reads=[], writes=["n"])
def plain(state: State) -> tuple:
    return {"n": 1}, state.update(n=1)


@streaming_action(reads=[], writes=["out"])
def s1(state: State, prompt: str = "x"):
    for i in range(3):
        yield {"tok": i}, None
    yield {"out": prompt}, state.update(out=prompt)


@streaming_action(reads=["out"], writes=["out2"])
def s2(state: State):
    for i in range(2):
        yield {"tok2": i}, None
    yield {"out2": state["out"] * 2}, state.update(out2=state["out"] * 2)


class Multi(StreamingAction):
    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["joined"]

    def stream_run(self, state: State, **kw):
        for w in ["a", "b", "c"]:
            yield {"w": w}

    def update(self, result: dict, state: State) -> State:
        return state.update(joined=result["w"])


class OneItem(Multi):
    def stream_run(self, state: State, **kw):
        yield {"w": "only"}


def build(rec):
    return (
        ApplicationBuilder()
        .with_actions(plain=plain, s1=s1, s2=s2, multi=Multi(), one=OneItem(), r=Result("out"))
        .with_transitions(("plain", "s1"), ("s1", "s2"), ("s2", "multi"), ("multi", "one"), ("one", "r"))
        .with_entrypoint("plain")
        .with_identifiers(app_id="A")
        .with_hooks(rec)
        .build()
    )


# full consumption
rec = Recorder(keep=KEEP)
app = build(rec)
rec.events.clear()
act, container = app.stream_result(halt_after=["s1"], inputs={"prompt": "hi"})
out("consume.returned", [act.name, len(rec.events)])
out("consume.items", list(container))
out("consume.get", container.get())
out("consume.get_again", container.get())
out("consume.reiterate", list(container))
out("consume.events", rec.events)
out("consume.state", app.state)

# abandon after the first item
rec = Recorder(keep=KEEP)
app = build(rec)
rec.events.clear()
act, container = app.stream_result(halt_after=["s1"])
for item in container:
    out("abandon.first", item)
    break
# fix #15 affects only post_run_execute_call's exception: keep it separate
out("abandon.events", [e for e in rec.events if e[0] != "post_run_execute_call"])
out("abandon.post_exec", [e for e in rec.events if e[0] == "post_run_execute_call"])
out("abandon.get", container.get())
out("abandon.state", [app.state, app.sequence_id])
out("abandon.next", app.get_next_action().name)

# get() without iterating
rec = Recorder(keep={"action", "sequence_id", "item_index", "method"})
app = build(rec)
rec.events.clear()
act, container = app.stream_result(halt_after=["s2"])
out("get_only.get", container.get())
out("get_only.events", rec.events)

# multi-step StreamingAction: last dict is the result, one-item lookahead
rec = Recorder(keep={"action", "item", "item_index", "result"})
app = build(rec)
app.run(halt_after=["s2"])
rec.events.clear()
act, container = app.stream_result(halt_after=["multi"])
out("multi.items", list(container))
out("multi.get", container.get())
out("multi.events", rec.events)
act, container = app.stream_result(halt_after=["one"])
out("one.items", list(container))
out("one.get", container.get())

# streaming action run via step/run: drained, no stream hooks
rec = Recorder(keep={"action", "result"})
app = build(rec)
app.step()
out("step_streaming", step_triple(app.step()))
out("step_streaming.events", rec.events[1:])

# halting before a non-streaming action / non-streaming target
rec = Recorder(keep={"method", "action", "sequence_id", "result"})
app = build(rec)
rec.events.clear()
act, container = app.stream_result(halt_after=["r"], halt_before=["s1"])
out("halt_before.returned", [act.name, list(container), container.get()])
act, container = app.stream_result(halt_after=["plain", "r"])
out("non_streaming_target", [act.name, container.get()])
out("halt_before.events", rec.events)

# stream_iterate
rec = Recorder(keep={"method", "action", "sequence_id"})
app = build(rec)
rec.events.clear()
seen = []
for act, container in app.stream_iterate(halt_after=["multi"]):
    seen.append([act.name, list(container) if act.name != "s2" else "unconsumed"])
out("stream_iterate.seen", seen)
out("stream_iterate.state", app.state)
counts = {}
for name, _ in rec.events:
    counts[name] = counts.get(name, 0) + 1
out("stream_iterate.counts", counts)
out("stream_iterate.step_seq", [e[1]["sequence_id"] for e in rec.events if e[0] == "pre_run_step"])

# errors
app = build(Recorder())
app.run(halt_after=["r"])
out.raises("nothing_left", lambda: app.stream_result(halt_after=["r"]), "no next action found")


@streaming_action(reads=[], writes=["x"])
def bad_yield(state: State):
    yield 1


@streaming_action(reads=[], writes=["x"])
def no_state(state: State):
    yield {"a": 1}, None


@streaming_action(reads=[], writes=["x"])
def raises_midway(state: State):
    yield {"a": 1}, None
    raise RuntimeError("midway")


for label, fn, phrase in [
    ("bad_yield", bad_yield, "must yield a tuple"),
    ("no_state", no_state, "did not return a state update"),
    ("raises_midway", raises_midway, "midway"),
]:
    rec = Recorder(keep={"action", "exception", "result", "method", "state"})
    app = ApplicationBuilder().with_actions(x=fn).with_entrypoint("x").with_hooks(rec).build()
    rec.events.clear()

    def go(app=app):
        _, c = app.stream_result(halt_after=["x"])
        items = list(c)
        return [items, c.get()]

    out.raises(f"error.{label}", go, phrase)
    out(f"error.{label}.events", [e for e in rec.events if e[0] != "post_run_execute_call"])
    out(f"error.{label}.post_exec", [e for e in rec.events if e[0] == "post_run_execute_call"])
    out(f"error.{label}.state", [app.state, app.sequence_id])
out.dump()
