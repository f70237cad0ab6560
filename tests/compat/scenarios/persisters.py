"""InMemoryPersister / SQLitePersister: saved records, resume, fork (#10, #11 keep; #12 fix)."""

import os
import tempfile

from _compat import Out, step_triple

from burr.core import ApplicationBuilder, State, action, expr
from burr.core.persistence import InMemoryPersister, SQLitePersister

out = Out()


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def maybe_fail(state: State, fail: bool = False) -> State:
    if fail:
        raise RuntimeError("fail")
    return state.update(n=state["n"] * 10)


def graph(b):
    return b.with_actions(inc=inc, mf=maybe_fail).with_transitions(
        ("inc", "mf", expr("n >= 2")), ("inc", "inc"), ("mf", "inc")
    )


def record(rec):
    if rec is None:
        return None
    return {
        "partition_key": rec["partition_key"],
        "app_id": rec["app_id"],
        "sequence_id": rec["sequence_id"],
        "position": rec["position"],
        "state": rec["state"],
        "status": rec["status"],
        "created_at_type": type(rec["created_at"]).__name__,
    }


def scenario(label, make):
    p = make()
    p.initialize() if hasattr(p, "initialize") else None
    app = (
        graph(ApplicationBuilder())
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_identifiers(app_id="a1", partition_key="pk")
        .with_state_persister(p)
        .build()
    )
    app.step()
    app.step()
    try:
        app.step(inputs={"fail": True})
    except RuntimeError:
        pass
    out(f"{label}.after_fail", [app.state, app.sequence_id])
    out(f"{label}.latest", record(p.load("pk", "a1")))
    out(f"{label}.by_seq", [record(p.load("pk", "a1", i)) for i in range(4)])
    out(f"{label}.other_pk", record(p.load("other", "a1")))
    out(f"{label}.missing_app", record(p.load("pk", "nope")))
    out(f"{label}.list_app_ids", p.list_app_ids("pk"))

    # resume after the failure: the failed action re-runs with a new sequence id (#6)
    app = (
        graph(ApplicationBuilder())
        .initialize_from(p, resume_at_next_action=True, default_state={"n": -1}, default_entrypoint="inc")
        .with_identifiers(app_id="a1", partition_key="pk")
        .with_state_persister(p)
        .build()
    )
    out(f"{label}.resume_failed", [app.state, app.sequence_id, app.get_next_action().name])
    out(f"{label}.resume_failed.parent_pointer", app.parent_pointer)
    out(f"{label}.resume_failed.step", step_triple(app.step()))
    out(f"{label}.resume_failed.step2", step_triple(app.step()))

    # resume after success, resume_at_next_action True / False (#11: still continues after prior step)
    for flag in (True, False):
        app = (
            graph(ApplicationBuilder())
            .initialize_from(p, resume_at_next_action=flag, default_state={"n": -1}, default_entrypoint="mf")
            .with_identifiers(app_id="a1", partition_key="pk")
            .build()
        )
        out(
            f"{label}.resume_{flag}",
            [app.state, app.sequence_id, app.get_next_action().name, app.graph.entrypoint.name],
        )
        out(f"{label}.resume_{flag}.parent_pointer", app.parent_pointer)

    # nothing stored: defaults
    app = (
        graph(ApplicationBuilder())
        .initialize_from(p, resume_at_next_action=True, default_state={"n": 7}, default_entrypoint="mf")
        .with_identifiers(app_id="fresh", partition_key="pk")
        .build()
    )
    out(f"{label}.fresh", [app.state, app.sequence_id, app.get_next_action().name, app.parent_pointer])
    out(f"{label}.fresh.step", step_triple(app.step()))

    # fork from a1 at sequence 1
    app = (
        graph(ApplicationBuilder())
        .initialize_from(
            p,
            resume_at_next_action=True,
            default_state={"n": -1},
            default_entrypoint="inc",
            fork_from_app_id="a1",
            fork_from_partition_key="pk",
            fork_from_sequence_id=1,
        )
        .with_identifiers(app_id="fork1", partition_key="pk")
        .with_state_persister(p)
        .build()
    )
    out(f"{label}.fork", [app.state, app.sequence_id, app.get_next_action().name, app.uid])
    out(f"{label}.fork.parent_pointer", app.parent_pointer)
    out(f"{label}.fork.step", step_triple(app.step()))
    out(f"{label}.fork.saved", record(p.load("pk", "fork1")))
    out(f"{label}.list_app_ids.after", sorted(p.list_app_ids("pk")))
    out.raises(
        f"{label}.fork_same_app",
        lambda: (
            graph(ApplicationBuilder())
            .initialize_from(
                p,
                resume_at_next_action=True,
                default_state={},
                default_entrypoint="inc",
                fork_from_app_id="a1",
            )
            .with_identifiers(app_id="a1")
            .build()
        ),
        "Cannot fork and save to the same app_id",
    )
    return p


scenario("memory", InMemoryPersister)
tmp = tempfile.mkdtemp()
p = scenario("sqlite", lambda: SQLitePersister(os.path.join(tmp, "db.sqlite"), "t"))
out("sqlite.none_partition", None)
out.raises(
    "sqlite.uninitialized",
    lambda: (
        graph(ApplicationBuilder())
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_state_persister(SQLitePersister(":memory:", "other"))
        .build()
    ),
    "Uninitialized persister",
)
out.raises(
    "initialize_from_after_state",
    lambda: (
        ApplicationBuilder()
        .with_state(n=1)
        .initialize_from(
            InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="inc"
        )
    ),
    "Cannot call initialize_from if you have already set state or an entrypoint",
)
out.raises(
    "entrypoint_after_initialize_from",
    lambda: (
        ApplicationBuilder()
        .initialize_from(
            InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="inc"
        )
        .with_entrypoint("inc")
    ),
    "",
)
out.raises(
    "state_after_initialize_from",
    lambda: (
        ApplicationBuilder()
        .initialize_from(
            InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="inc"
        )
        .with_state(n=1)
    ),
    "initialize_from",
)
out.raises(
    "on_every",
    lambda: ApplicationBuilder().with_state_persister(InMemoryPersister(), on_every="nope"),
    "not supported",
)

# None partition key
p2 = SQLitePersister(":memory:", "t2")
p2.initialize()
app = (
    graph(ApplicationBuilder())
    .with_state(n=0)
    .with_entrypoint("inc")
    .with_identifiers(app_id="np")
    .with_state_persister(p2)
    .build()
)
app.step()
out("sqlite.none_pk.load_none", record(p2.load(None, "np")))
out("sqlite.none_pk.load_empty", record(p2.load("", "np")))
m = InMemoryPersister()
app = (
    graph(ApplicationBuilder())
    .with_state(n=0)
    .with_entrypoint("inc")
    .with_identifiers(app_id="np")
    .with_state_persister(m)
    .build()
)
app.step()
out("memory.none_pk.load_none", record(m.load(None, "np")))
out("memory.none_pk.load_empty", record(m.load("", "np")))

# override_state_values (0.43)
app = (
    graph(ApplicationBuilder())
    .initialize_from(
        m,
        resume_at_next_action=True,
        default_state={"n": 0},
        default_entrypoint="inc",
        override_state_values={"n": 100, "extra": 1},
    )
    .with_identifiers(app_id="np")
    .build()
)
out("override_state_values", [app.state, app.sequence_id])
out.dump()
