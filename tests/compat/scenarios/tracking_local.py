"""LocalTrackingClient: files, record types and order, reconstructed states, loading from it.

Timestamps differ by design (ours are UTC): only structure is compared. Our format-2 additions
(begin_call/end_call/transition records, call_id, state_delta, burr_format/created_at metadata,
no `__` inputs in begin_entry) are normalised away here; see docs/tracking-format.md.
"""

import json
import os
import tempfile

from _compat import Out, step_triple

from burr.core import ApplicationBuilder, State, action, expr
from burr.core.action import streaming_action
from burr.tracking import LocalTrackingClient
from burr.visibility import TracerFactory

try:  # ours: lean records and state deltas; our reader restores full records and states
    from burr.tracking.common.logs import iter_states, read_log
except ImportError:  # Apache Burr: every end_entry carries the full state
    iter_states = read_log = None

out = Out()
TIME_KEYS = {"start_time", "end_time", "time_logged", "stream_init_time", "first_item_time", "event_time"}
FORMAT2_TYPES = {"begin_call", "end_call", "transition"}


@action(reads=["n"], writes=["n"])
def counter(state: State, __tracer: TracerFactory, step: int = 1) -> State:
    __tracer.log_attribute("top_level", 1)
    with __tracer("span_a") as t:
        t.log_attribute("in_span", {"k": [1, 2]})
    return state.update(n=state["n"] + step)


@streaming_action(reads=["n"], writes=["out"])
def streamer(state: State):
    for i in range(3):
        yield {"tok": i}, None
    yield {"out": "done"}, state.update(out="done")


@action(reads=["n"], writes=["n"])
def failer(state: State, fail: bool = False) -> State:
    if fail:
        raise RuntimeError("nope")
    return state.update(n=state["n"] * 2)


def build(tracker, app_id, **kw):
    b = (
        ApplicationBuilder()
        .with_actions(counter=counter, streamer=streamer, failer=failer)
        .with_transitions(
            ("counter", "counter", expr("n < 2")),
            ("counter", "streamer"),
            ("streamer", "failer"),
            ("failer", "counter"),
        )
        .with_identifiers(app_id=app_id, partition_key="pk1")
        .with_tracker(tracker)
    )
    if not kw:
        b = b.with_state(n=0).with_entrypoint("counter")
    else:
        b = b.initialize_from(tracker, **kw)
    return b.build()


def flush(client):
    fn = getattr(client, "flush", None)
    if fn is not None:
        fn()


def normalise_log(path):
    if read_log is not None:
        records = read_log(path).records
    else:
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
    outr = [dict(r) for r in records if r["type"] not in FORMAT2_TYPES]
    # rebuild states in order (iter_states yields end_entries in file order)
    rebuilt = [s for s, _ in iter_states(records)] if iter_states is not None else None
    i = 0
    final = []
    for r in outr:
        r = {k: v for k, v in r.items() if k not in TIME_KEYS and k not in ("call_id", "attempt")}
        if r["type"] == "end_entry":
            if rebuilt is not None:
                r["state"] = rebuilt[i]
                r.pop("state_delta", None)
            i += 1
            if r.get("exception"):
                r["exception"] = "RuntimeError: nope" in r["exception"]
        if r["type"] == "begin_entry":
            r["inputs"] = {k: v for k, v in r["inputs"].items() if not k.startswith("__")}
        if r["type"] == "attribute" and isinstance(r.get("value"), str) and len(r["value"]) == 64:
            r["value"] = "<hash>"
        final.append(r)
    return final


tmp = tempfile.mkdtemp()
client = LocalTrackingClient(project="proj", storage_dir=tmp)
out("client.attrs", [client.project_id, client.storage_dir == os.path.join(tmp, "proj")])
app = build(client, "app1")
app.run(halt_after=["streamer"], inputs={"step": 1})
act, container = None, None
try:
    app.run(halt_after=["failer"], inputs={"fail": True})
except RuntimeError:
    pass
flush(client)
app_dir = os.path.join(tmp, "proj", "app1")
out("files", sorted(os.listdir(app_dir)))
log = normalise_log(os.path.join(app_dir, "log.jsonl"))
out("log.types", [r["type"] for r in log])
out("log.records", log)
with open(os.path.join(app_dir, "metadata.json")) as f:
    meta = json.load(f)
out("metadata", {k: v for k, v in meta.items() if k not in ("burr_format", "created_at")})
with open(os.path.join(app_dir, "graph.json")) as f:
    graph = json.load(f)
actions = graph.pop("actions")
graph.pop("burr_format", None)  # format-2 marker (docs/tracking-format.md)
out("graph", graph)
out(
    "graph.actions",
    [{k: v for k, v in a.items() if k not in ("code", "inputs", "optional_inputs")} for a in actions],
)
# fix #18 (inputs/optional_inputs swapped in Apache Burr) and format 2 (no injected names): separate label
out("graph.action_inputs", [[a["name"], sorted(a["inputs"]), sorted(a["optional_inputs"])] for a in actions])
out("graph.code_present", [bool(a.get("code")) for a in actions])

# streaming via stream_result writes begin_stream / first_item_stream / end_stream
app2 = build(client, "app2")
app2.run(halt_after=["counter"])
app2.step()  # counter again (n=1 -> 2)
_, container = app2.stream_result(halt_after=["streamer"])
out("stream.items", list(container))
flush(client)
log2 = normalise_log(os.path.join(tmp, "proj", "app2", "log.jsonl"))
out("stream.log.types", [r["type"] for r in log2])
out(
    "stream.log.records",
    [r for r in log2 if r["type"] in ("begin_stream", "first_item_stream", "end_stream", "end_entry")],
)

# loading from the tracker
rec = client.load("pk1", "app1")
out(
    "load.latest",
    {k: rec[k] for k in ("partition_key", "app_id", "sequence_id", "position", "state", "status")},
)
rec = client.load("pk1", "app1", 1)
out(
    "load.seq1",
    {k: rec[k] for k in ("partition_key", "app_id", "sequence_id", "position", "state", "status")},
)
out.raises("load.missing_seq", lambda: client.load("pk1", "app1", 99), "not found")
out("load.no_app", client.load("pk1", "nope"))
out("load.none_app", client.load("pk1", None))

for flag in (True, False):
    app3 = build(
        LocalTrackingClient(project="proj", storage_dir=tmp),
        "app1",
        resume_at_next_action=flag,
        default_state={"n": 0},
        default_entrypoint="counter",
    )
    out(f"resume_{flag}", [app3.state, app3.sequence_id, app3.get_next_action().name])

fork_client = LocalTrackingClient(project="proj", storage_dir=tmp)
fork = (
    ApplicationBuilder()
    .with_actions(counter=counter, streamer=streamer, failer=failer)
    .with_transitions(
        ("counter", "counter", expr("n < 2")),
        ("counter", "streamer"),
        ("streamer", "failer"),
        ("failer", "counter"),
    )
    .initialize_from(
        fork_client,
        resume_at_next_action=True,
        default_state={"n": 0},
        default_entrypoint="counter",
        fork_from_app_id="app1",
        fork_from_partition_key="pk1",
        fork_from_sequence_id=1,
    )
    .with_identifiers(app_id="forked", partition_key="pk1")
    .with_tracker(fork_client)
    .build()
)
out("fork", [fork.state, fork.sequence_id, fork.parent_pointer])
out("fork.step", step_triple(fork.step()))
flush(fork_client)
with open(os.path.join(tmp, "proj", "forked", "metadata.json")) as f:
    meta = json.load(f)
out("fork.metadata", {k: v for k, v in meta.items() if k not in ("burr_format", "created_at")})
with open(os.path.join(tmp, "proj", "app1", "children.jsonl")) as f:
    children = [json.loads(line) for line in f if line.strip()]
out("fork.children", [{k: v for k, v in c.items() if k not in TIME_KEYS} for c in children])
out.raises("bad_project", lambda: LocalTrackingClient(project="bad name!", storage_dir=tmp), "is not valid")
out.raises(
    "with_tracker_unknown", lambda: ApplicationBuilder().with_tracker("nope", project="p"), "not supported"
)
out.dump()
