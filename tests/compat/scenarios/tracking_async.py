"""LocalTrackingClient under abuild/arun/astream_result: record types, order and states."""

import asyncio
import json
import logging
import os
import tempfile

from _compat import Out

from burr.core import ApplicationBuilder, State, action
from burr.core.action import streaming_action
from burr.tracking import LocalTrackingClient
from burr.visibility import TracerFactory

try:  # ours: lean format-2 records; our reader restores their full shape
    from burr.tracking.common.logs import iter_states, read_log
except ImportError:
    iter_states = read_log = None

logging.disable(logging.CRITICAL)
out = Out()
TIME_KEYS = {"start_time", "end_time", "time_logged", "stream_init_time", "first_item_time"}


@action(reads=["n"], writes=["n"])
async def aspan(state: State, __tracer: TracerFactory) -> State:
    async with __tracer("async_span") as t:
        t.log_attributes(k=1)
        with __tracer("inner"):
            pass
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def sync_one(state: State) -> State:
    return state.update(n=state["n"] * 10)


@streaming_action(reads=["n"], writes=["out"])
async def astream(state: State):
    for i in range(2):
        yield {"i": i}, None
    yield {"out": state["n"]}, state.update(out=state["n"])


def load(path):
    if read_log is not None:
        records = read_log(path).records
    else:
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
    rebuilt = [s for s, _ in iter_states(records)] if iter_states else None
    res, i = [], 0
    for r in records:
        if r["type"] in ("begin_call", "end_call", "transition"):
            continue
        r = {k: v for k, v in r.items() if k not in TIME_KEYS and k not in ("call_id", "attempt")}
        if r["type"] == "end_entry":
            if rebuilt is not None:
                r["state"] = rebuilt[i]
                r.pop("state_delta", None)
            i += 1
        if r["type"] == "begin_entry":
            r["inputs"] = {k: v for k, v in r["inputs"].items() if not k.startswith("__")}
        res.append(r)
    return res


async def main():
    tmp = tempfile.mkdtemp()
    client = LocalTrackingClient(project="atrack", storage_dir=tmp)
    app = await (
        ApplicationBuilder()
        .with_actions(a=aspan, s=sync_one, st=astream)
        .with_transitions(("a", "s"), ("s", "st"))
        .with_state(n=1)
        .with_entrypoint("a")
        .with_identifiers(app_id="A")
        .with_tracker(client)
        .abuild()
    )
    await app.arun(halt_after=["s"])
    _, c = await app.astream_result(halt_after=["st"])
    out("stream.items", [i async for i in c])
    getattr(client, "flush", lambda: None)()
    log = load(os.path.join(tmp, "atrack", "A", "log.jsonl"))
    out("types", [r["type"] for r in log])
    # fix #13: Apache Burr's tracker records result None and the pre-action state for the sync
    # action under arun; kept under their own labels
    out("records.a", [r for r in log if r.get("action") == "a" or r.get("action_sequence_id") == 0])
    out("records.s", [r for r in log if r.get("action") == "s"])
    out("records.st", [r for r in log if r.get("action") == "st" or r.get("action_sequence_id") == 2])


asyncio.run(main())
out.dump()
