"""Sub-applications spawned inside an action, linked for tracking (spec 2.9): hooks, context,
metadata.json spawning_parent_pointer, the parent's children.jsonl."""

import json
import logging
import os
import tempfile

from _compat import Out, Recorder, step_triple

from burr.core import ApplicationBuilder, ApplicationContext, State, action
from burr.tracking import LocalTrackingClient

logging.disable(logging.CRITICAL)
out = Out()
TIME_KEYS = {"event_time", "created_at", "burr_format"}


@action(reads=["x"], writes=["y"])
def child_step(state: State) -> State:
    return state.update(y=state["x"] * 10)


@action(reads=["xs"], writes=["ys"])
def fan_out(state: State, __context: ApplicationContext) -> State:
    ys = []
    for i, x in enumerate(state["xs"]):
        child = (
            ApplicationBuilder()
            .with_actions(child_step=child_step)
            .with_state(x=x)
            .with_entrypoint("child_step")
            .with_identifiers(app_id=f"child-{i}")
            .with_tracker(__context.tracker.copy())
            .with_spawning_parent(__context.app_id, __context.sequence_id, __context.partition_key)
            .build()
        )
        _, _, st = child.run(halt_after=["child_step"])
        ys.append(st["y"])
    return state.update(ys=ys)


tmp = tempfile.mkdtemp()
tracker = LocalTrackingClient(project="rec", storage_dir=tmp)
rec = Recorder(keep={"method", "action", "sequence_id"})
app = (
    ApplicationBuilder()
    .with_actions(fan_out=fan_out)
    .with_state(xs=[1, 2])
    .with_entrypoint("fan_out")
    .with_identifiers(app_id="parent", partition_key="pk")
    .with_tracker(tracker)
    .with_hooks(rec)
    .build()
)
out("run", step_triple(app.run(halt_after=["fan_out"])))
out("parent_events", rec.events)
flush = getattr(tracker, "flush", None)
if flush:
    flush()
out("dirs", sorted(os.listdir(os.path.join(tmp, "rec"))))
for i in range(2):
    with open(os.path.join(tmp, "rec", f"child-{i}", "metadata.json")) as f:
        meta = json.load(f)
    out(f"child-{i}.metadata", {k: v for k, v in meta.items() if k not in TIME_KEYS})
with open(os.path.join(tmp, "rec", "parent", "children.jsonl")) as f:
    children = [json.loads(line) for line in f if line.strip()]
out("children", [{k: v for k, v in c.items() if k not in TIME_KEYS} for c in children])
out.dump()
