"""Human-in-the-loop: halt_before an input-taking action, resume with inputs, persist + track,
resume in a "new process" (fresh builder) with a fresh tracker directory (fix #12)."""

import json
import logging
import os
import tempfile

from _compat import Out, step_triple

from burr.core import ApplicationBuilder, State, action, expr
from burr.core.persistence import SQLitePersister

logging.disable(logging.CRITICAL)
out = Out()


@action(reads=[], writes=["draft"])
def draft(state: State) -> State:
    return state.update(draft="v1")


@action(reads=["draft"], writes=["feedback", "approved"])
def review(state: State, feedback: str) -> State:
    return state.update(feedback=feedback, approved=feedback == "ok")


@action(reads=["draft", "feedback"], writes=["draft"])
def revise(state: State) -> State:
    return state.update(draft=state["draft"] + "+")


@action(reads=["draft"], writes=["sent"])
def send(state: State) -> State:
    return state.update(sent=state["draft"])


def builder():
    return (
        ApplicationBuilder()
        .with_actions(draft=draft, review=review, revise=revise, send=send)
        .with_transitions(
            ("draft", "review"),
            ("review", "send", expr("approved")),
            ("review", "revise"),
            ("revise", "review"),
        )
    )


tmp = tempfile.mkdtemp()
db = os.path.join(tmp, "db.sqlite")
p = SQLitePersister(db, "hitl")
p.initialize()
app = (
    builder()
    .with_state()
    .with_entrypoint("draft")
    .with_identifiers(app_id="h1", partition_key="user")
    .with_state_persister(p)
    .with_tracker("local", project="hitl", params={"storage_dir": os.path.join(tmp, "t1")})
    .build()
)
out("first", step_triple(app.run(halt_before=["review"])))
out("second", step_triple(app.run(halt_before=["review"], halt_after=["send"], inputs={"feedback": "more"})))

# "new process": resume from the persister with a tracker in a fresh directory
p2 = SQLitePersister(db, "hitl")
app2 = (
    builder()
    .initialize_from(p2, resume_at_next_action=True, default_state={}, default_entrypoint="draft")
    .with_identifiers(app_id="h1", partition_key="user")
    .with_state_persister(p2)
)


def resume():
    app = app2.with_tracker("local", project="hitl", params={"storage_dir": os.path.join(tmp, "t2")}).build()
    return [
        app.state,
        app.sequence_id,
        app.get_next_action().name,
        step_triple(app.run(halt_after=["send"], inputs={"feedback": "ok"})),
    ]


# fix #12: Apache Burr crashes here (the plain resume sets an empty parent pointer that the
# tracker cannot write into a fresh metadata.json)
out.raises("fix12.resume_with_fresh_tracker", resume, "")
meta_path = os.path.join(tmp, "t2", "hitl", "h1", "metadata.json")
meta = None
if os.path.exists(meta_path):
    with open(meta_path) as f:
        meta = json.load(f)
out(
    "fix12.metadata",
    None if meta is None else {k: v for k, v in meta.items() if k not in ("burr_format", "created_at")},
)
out("rows", [p2.load("user", "h1", i)["position"] if p2.load("user", "h1", i) else None for i in range(6)])
out.dump()
