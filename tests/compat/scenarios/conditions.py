"""Conditions: when/expr/default/~/&/|, names, keys, missing key error, transition order."""

from _compat import Out, step_triple

from burr.core import ApplicationBuilder, Condition, State, action, default, expr, when
from burr.core.action import Result

out = Out()

c1 = when(b=2, a=1)
c2 = expr("x > 3 and y")
c3 = ~when(a=1)
c4 = when(a=1) | expr("x > 3")
c5 = when(a=1) & expr("x > 3")
c6 = Condition.lmda(lambda s: s["a"] == 1, ["a"])
for label, c in [
    ("when", c1),
    ("expr", c2),
    ("not", c3),
    ("or", c4),
    ("and", c5),
    ("default", default),
    ("lmda", c6),
]:
    out(f"{label}.name", c.name)
    out(f"{label}.reads", sorted(c.reads))
    out(f"{label}.repr", repr(c))
out("default.is_default", default.name == "default")
st = State({"a": 1, "b": 2, "x": 5, "y": 0})
for label, c in [
    ("when", c1),
    ("expr", c2),
    ("not", c3),
    ("or", c4),
    ("and", c5),
    ("default", default),
    ("lmda", c6),
]:
    out(f"{label}.run", c.run(st))
out("key", Condition.KEY)
out.raises("missing_key", lambda: when(zz=1).run(State({})), "Missing keys in state required by condition")
out.raises(
    "or_missing_key_short_circuit", lambda: (when(a=1) | when(zz=1)).run(State({"a": 1})), "Missing keys"
)
out.raises("or_non_condition", lambda: when(a=1) | 3, "Cannot OR")
out.raises("and_non_condition", lambda: when(a=1) & 3, "Cannot AND")
out("expr.builtin_not_read", sorted(expr("len(items) > 1").reads))


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    return state.update(n=state["n"] + 1)


def build(**transition_conds):
    return (
        ApplicationBuilder()
        .with_actions(inc=inc, small=Result("n"), big=Result("n"), other=Result("n"))
        .with_transitions(
            ("inc", "small", expr("n < 3")),
            ("inc", "big", when(n=3) | when(n=4)),
            ("inc", "other", default),
            ("inc", "inc", expr("n > 100")),  # after a default: allowed, unreachable
        )
        .with_entrypoint("inc")
    )


for start in (0, 2, 3, 10):
    app = build().with_state(n=start).build()
    out(f"route.{start}", step_triple(app.run(halt_after=["small", "big", "other"])))

app = (
    ApplicationBuilder()
    .with_actions(inc=inc, r=Result("n"))
    .with_transitions(("inc", "r", when(missing=1)))
    .with_state(n=0)
    .with_entrypoint("inc")
    .build()
)
app.step()
out.raises("transition_missing_key", lambda: app.step(), "Missing keys in state required by condition")
out("transition_missing_key.seq", app.sequence_id)
out.raises(
    "two_defaults",
    lambda: (
        ApplicationBuilder()
        .with_actions(inc=inc, r=Result("n"))
        .with_transitions(("inc", "r"), ("inc", "inc"))
        .with_entrypoint("inc")
        .build()
    ),
    "is redundant",
)
out.raises(
    "unknown_target",
    lambda: (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_transitions(("inc", "nope"))
        .with_entrypoint("inc")
        .build()
    ),
    "not found in actions",
)
out.raises(
    "unknown_source",
    lambda: (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_transitions(("nope", "inc"))
        .with_entrypoint("inc")
        .build()
    ),
    "not found in actions",
)
out.raises(
    "non_string_source",
    lambda: (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_transitions((inc, "inc"))
        .with_entrypoint("inc")
        .build()
    ),
    "must be a string",
)
out.dump()
