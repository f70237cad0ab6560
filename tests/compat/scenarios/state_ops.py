"""State operations, their errors, serialization, and app-level update_state/reset_to_entrypoint."""

from _compat import Out, step_triple

from burr.core import ApplicationBuilder, State, action
from burr.core.action import Result

out = Out()
base = State({"a": 1, "l": [1], "s": "x"})
out("update", base.update(a=2, b=3))
out("append", base.append(l=2, new=1))
out("extend", base.extend(l=[2, 3], new2=[1]))
out("increment", base.increment(a=2, c=1, f=0.5))
out("original_untouched", base)
out("wipe.delete", base.wipe(delete=["a", "missing"]))
out("wipe.keep", base.wipe(keep=["a"]))
out.raises("wipe.none", lambda: base.wipe(), "")
out.raises("wipe.both", lambda: base.wipe(delete=["a"], keep=["s"]), "")
out.raises("append.bad", lambda: base.append(a=1), "non-appendable")
out.raises("extend.bad", lambda: base.extend(a=[1]), "non-extendable")
out.raises("increment.bad", lambda: base.increment(s=1), "non-integer")
out("increment.bool", State({"b": True}).increment(b=1))
out("merge", base.merge(State({"a": 9, "z": 0})))
out("subset", base.subset("a", "nope"))
out.raises("subset.strict", lambda: base.subset("a", "nope", ignore_missing=False), "")
out.raises("getitem.missing", lambda: base["nope"], "not found in state")
out("get.default", [base.get("nope"), base.get("nope", 5)])
out("keys", [base.keys(), type(base.keys()).__name__])
out("items", sorted(base.items()))
out("len_in", [len(base), "a" in base, "zz" in base])
out(
    "eq_dict",
    [
        base == {"a": 1, "l": [1], "s": "x"},
        base == State({"a": 1, "l": [1], "s": "x"}),
        base == State({"a": 2}),
    ],
)
out("repr", repr(State({"a": 1})))
out.raises("hash", lambda: hash(base), "")
d = {"k": 1}
out("by_reference", State(d).get_all() is d or State(d)["k"] == 1)
out("serialize", base.update(n=None, f=1.5, nested={"x": [1, {"y": 2}]}).serialize())
out("deserialize", State.deserialize({"a": 1, "b": [1, 2]}))
out("get_all_internal", State({"__x": 1, "a": 2}).get_all())
l1 = State({"l": [1]})
l2 = l1.append(l=2)
l3 = l1.append(l=3)
out("append_branches", [l1, l2, l3])


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def dec(state: State) -> State:
    return state.update(n=state["n"] - 1)


app = (
    ApplicationBuilder()
    .with_actions(inc=inc, dec=dec, r=Result("n"))
    .with_transitions(("inc", "dec"), ("dec", "inc"))
    .with_state(n=0)
    .with_entrypoint("inc")
    .build()
)
app.step()
app.step()
out("before_update", [app.state, app.get_next_action().name])
app.update_state(app.state.update(n=10))
out("update_state.keep_internal", [app.state, app.get_next_action().name, app.sequence_id])
out("step_after_update", step_triple(app.step()))
app.reset_to_entrypoint()
out("reset_to_entrypoint", [app.state, app.get_next_action().name])
out("step_after_reset", step_triple(app.step()))
app.update_state(State({"n": 100}))
out("update_state.plain", [app.state, app.get_next_action().name, app.sequence_id])
out("step_after_plain", step_triple(app.step()))
out.dump()
