"""LocalTrackingClient driven hook by hook (no Application): the records it writes."""

from __future__ import annotations

import json
import os
import pathlib
import re
import types
import warnings
from typing import Any

import pytest

from burr.common.types import ParentPointer
from burr.core.action import action, create_action
from burr.core.state import State, _commit
from burr.lifecycle.base import ExecuteMethod
from burr.tracking import LocalTrackingClient
from burr.tracking.client import _allowed_project_name
from burr.tracking.common import logs
from burr.visibility.tracing import ActionSpan


@action(reads=["n"], writes=["n", "msgs"])
def counter(state: State, x: int, y: int = 2) -> State:
    return state.update(n=state["n"] + 1)


ACT = create_action(counter, "counter")
GRAPH = types.SimpleNamespace(entrypoint=ACT, actions=[ACT], transitions=[])


class Driver:
    """Fires the hooks the engine would fire for simple steps."""

    def __init__(
        self,
        client: LocalTrackingClient,
        app_id: str = "app",
        state: State | None = None,
        partition_key: str | None = "pk",
        parent: ParentPointer | None = None,
        spawner: ParentPointer | None = None,
    ) -> None:
        self.client, self.app_id, self.pk = client, app_id, partition_key
        self.state = state if state is not None else State({"n": 0, "msgs": []})
        self.seq = -1
        client.post_application_create(
            app_id=app_id,
            partition_key=partition_key,
            state=self.state,
            application_graph=GRAPH,
            parent_pointer=parent,
            spawning_parent_pointer=spawner,
        )

    def kw(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "partition_key": self.pk}

    def step(
        self,
        change=lambda s: s.update(n=s["n"] + 1),
        result: Any = None,
        exception: Exception | None = None,
        inputs: dict | None = None,
    ) -> None:
        self.seq += 1
        self.client.pre_run_step(
            **self.kw(), sequence_id=self.seq, state=self.state, action=ACT, inputs=inputs or {}
        )
        if exception is None:
            self.state = _commit(
                self.state, change(self.state), {"__SEQUENCE_ID": self.seq, "__PRIOR_STEP": "counter"}
            )
        self.client.post_run_step(
            **self.kw(),
            sequence_id=self.seq,
            state=self.state,
            action=ACT,
            result=result if result is not None else {},
            exception=exception,
        )


@pytest.fixture
def client(tmp_path: pathlib.Path) -> LocalTrackingClient:
    return LocalTrackingClient("proj", str(tmp_path))


def records(client: LocalTrackingClient, app_id: str = "app") -> list[dict]:
    client.flush()
    result = logs.read_log(os.path.join(client.storage_dir, app_id, "log.jsonl"))
    assert result.warnings == []
    return result.records


def test_project_name_rules() -> None:
    assert _allowed_project_name("my-proj_1:x", on_windows=False)
    assert not _allowed_project_name("my-proj:x", on_windows=True)
    assert not _allowed_project_name("a/b", on_windows=False)


def test_invalid_project_name_raises_with_key_phrase(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="Project: a b is not valid"):
        LocalTrackingClient("a b", str(tmp_path))


@pytest.mark.parametrize("app_id", ["../escape", "a/b", "..", ".", "", "a\x00b", "a\\b"])
def test_app_id_that_escapes_storage_dir_is_rejected(client: LocalTrackingClient, app_id: str) -> None:
    with pytest.raises(ValueError, match="cannot be tracked"):
        Driver(client, app_id=app_id)


def test_storage_dir_attributes(tmp_path: pathlib.Path) -> None:
    c = LocalTrackingClient("proj", str(tmp_path))
    assert (c.project_id, c.raw_storage_dir, c.storage_dir) == ("proj", str(tmp_path), str(tmp_path / "proj"))


def test_copy_keeps_configuration(tmp_path: pathlib.Path) -> None:
    c = LocalTrackingClient("proj", str(tmp_path), {"k": 1}, snapshot_every=7, max_value_bytes=99).copy()
    assert (c.project_id, c.raw_storage_dir, c.serde_kwargs, c.snapshot_every, c.max_value_bytes) == (
        "proj",
        str(tmp_path),
        {"k": 1},
        7,
        99,
    )


def test_graph_json_has_required_inputs_first_and_no_injected(client: LocalTrackingClient) -> None:
    Driver(client)
    client.flush()
    graph = json.loads(pathlib.Path(client.storage_dir, "app", "graph.json").read_text())
    action_model = graph["actions"][0]
    assert (action_model["inputs"], action_model["optional_inputs"]) == (["x"], ["y"])
    assert graph["burr_format"] == 2 and graph["entrypoint"] == "counter"


def test_metadata_json_is_format_2_with_utc_created_at(client: LocalTrackingClient) -> None:
    Driver(client, partition_key="user-1")
    client.flush()
    meta = json.loads(pathlib.Path(client.storage_dir, "app", "metadata.json").read_text())
    assert meta["burr_format"] == 2 and meta["partition_key"] == "user-1"
    assert meta["created_at"].endswith("Z")


def test_first_end_entry_is_a_snapshot_then_deltas(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step()
    d.step()
    ends = [r for r in records(client) if r["type"] == "end_entry"]
    assert ends[0]["state"] == {"n": 1, "msgs": [], "__SEQUENCE_ID": 0, "__PRIOR_STEP": "counter"}
    assert ends[1]["state"] is None and ends[1]["state_delta"] == [{"op": "set", "key": "n", "value": 2}]


def test_delta_replay_matches_state(client: LocalTrackingClient) -> None:
    d = Driver(client)
    for i in range(5):
        d.step(lambda s, i=i: s.append(msgs={"i": i}).update(n=i))
    state, _ = logs.state_at(records(client), None)
    assert state == {
        "n": 4,
        "msgs": [{"i": i} for i in range(5)],
        "__SEQUENCE_ID": 4,
        "__PRIOR_STEP": "counter",
    }


def test_append_is_recorded_as_append_op(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step()
    d.step(lambda s: s.append(msgs="hello"))
    assert records(client)[-1]["state_delta"] == [{"op": "append", "key": "msgs", "value": "hello"}]


def test_snapshot_every_k_steps_for_small_state(tmp_path: pathlib.Path) -> None:
    c = LocalTrackingClient("proj", str(tmp_path), snapshot_every=3)
    d = Driver(c)
    for _ in range(20):
        d.step()
        c.flush()  # the byte counters the policy reads are updated by the writer
    snaps = [r["sequence_id"] for r in records(c) if r["type"] == "end_entry" and r["state"] is not None]
    assert snaps[0] == 0 and len(snaps) >= 2
    assert all(b - a > 3 for a, b in zip(snaps, snaps[1:]))


def test_failed_step_records_traceback_and_pre_action_state(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step()
    try:
        raise RuntimeError("boom")
    except RuntimeError as e:
        d.step(exception=e)
    end = records(client)[-1]
    assert "RuntimeError: boom" in end["exception"]
    state, _ = logs.state_at(records(client), 1)
    assert state["n"] == 1 and state["__PRIOR_STEP"] == "counter"


def test_begin_entry_drops_injected_inputs(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step(inputs={"x": 1, "__tracer": object(), "__context": object()})
    begin = next(r for r in records(client) if r["type"] == "begin_entry")
    assert begin["inputs"] == {"x": 1}


def test_timestamps_are_utc(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step()
    for r in records(client):
        for key in ("start_time", "end_time"):
            if key in r:
                assert r[key].endswith("Z")


def test_call_records_wrap_run_and_tag_entries(client: LocalTrackingClient) -> None:
    d = Driver(client)
    client.pre_run_execute_call(**d.kw(), state=d.state, method=ExecuteMethod.run)
    d.step()
    client.post_run_execute_call(**d.kw(), state=d.state, method=ExecuteMethod.run, exception=None)
    recs = records(client)
    assert [r["type"] for r in recs] == ["begin_call", "begin_entry", "end_entry", "end_call"]
    assert recs[0]["method"] == "run" and recs[1]["call_id"] == recs[0]["call_id"] == recs[3]["call_id"]


def test_bare_step_call_writes_no_call_records(client: LocalTrackingClient) -> None:
    d = Driver(client)
    client.pre_run_execute_call(**d.kw(), state=d.state, method=ExecuteMethod.step)
    d.step()
    client.post_run_execute_call(**d.kw(), state=d.state, method=ExecuteMethod.step, exception=None)
    assert [r["type"] for r in records(client)] == ["begin_entry", "end_entry"]


def test_transition_record(client: LocalTrackingClient) -> None:
    d = Driver(client)
    client.post_transition_evaluation(
        **d.kw(),
        sequence_id=0,
        from_action="counter",
        evaluated=[
            {"to": "done", "condition": "n > 1", "value": False},
            {"to": "counter", "condition": "default", "value": True},
        ],
        next_action="counter",
    )
    rec = records(client)[-1]
    assert rec == {
        "type": "transition",
        "sequence_id": 0,
        "from_": "counter",
        "to": "counter",
        "evaluated": [
            {"to": "done", "condition": "n > 1", "value": False},
            {"to": "counter", "condition": "default", "value": True},
        ],
    }


def test_span_and_attribute_records(client: LocalTrackingClient) -> None:
    d = Driver(client)
    root = ActionSpan.create_initial("counter", "outer", 0, 0)
    child = root.spawn("inner")
    kw = dict(action="counter", action_sequence_id=0, span_dependencies=[], **d.kw())
    client.pre_start_span(span=root, **kw)
    client.pre_start_span(span=child, **kw)
    client.do_log_attributes(
        attributes={"a": 1, "b": (1, 2)},
        action="counter",
        action_sequence_id=0,
        span=child,
        tags={},
        **d.kw(),
    )
    client.post_end_span(span=child, **kw)
    client.post_end_span(span=root, **kw)
    recs = records(client)
    assert [(r["type"], r.get("span_id")) for r in recs] == [
        ("begin_span", "0:0"),
        ("begin_span", "0:0.0"),
        ("attribute", "0:0.0"),
        ("attribute", "0:0.0"),
        ("end_span", "0:0.0"),
        ("end_span", "0:0"),
    ]
    assert (
        recs[1]["parent_span_id"] == "0:0" and recs[2]["value"] == 1 and recs[2]["time_logged"].endswith("Z")
    )


def test_stream_records(client: LocalTrackingClient) -> None:
    d = Driver(client)
    kw = dict(action="counter", sequence_id=0, **d.kw())
    client.pre_start_stream(**kw)
    for i in range(3):
        client.post_stream_item(
            item={"i": i}, item_index=i, stream_initialize_time=None, first_stream_item_start_time=None, **kw
        )
    client.post_end_stream(**kw)
    recs = records(client)
    assert [r["type"] for r in recs] == ["begin_stream", "first_item_stream", "end_stream"]
    assert recs[-1]["items_streamed"] == 3


def test_fork_and_spawn_write_children_records_in_parent_dir(client: LocalTrackingClient) -> None:
    Driver(client, app_id="parent")
    Driver(client, app_id="forked", parent=ParentPointer("parent", "pk", 3))
    Driver(client, app_id="spawned", spawner=ParentPointer("parent", "pk", 4))
    client.flush()
    children = logs.read_children(os.path.join(client.storage_dir, "parent")).records
    assert [(c["child"]["app_id"], c["event_type"], c["sequence_id"]) for c in children] == [
        ("forked", "fork", 3),
        ("spawned", "spawn_start", 4),
    ]
    meta = logs.read_metadata(os.path.join(client.storage_dir, "forked"))
    assert meta["parent_pointer"]["app_id"] == "parent"


def test_redaction_by_name_and_pattern(tmp_path: pathlib.Path) -> None:
    c = LocalTrackingClient("proj", str(tmp_path), redact=["secret", re.compile("token")])
    d = Driver(c, state=State({"n": 0, "secret": "s", "api_token": "t", "msgs": []}))
    d.step(inputs={"secret": "x", "x": 1})
    d.step(lambda s: s.update(api_token="t2"))
    recs = records(c)
    red = {"__burr_redacted__": True}
    assert recs[0]["inputs"] == {"secret": red, "x": 1}
    assert recs[1]["state"]["secret"] == red and recs[1]["state"]["api_token"] == red
    assert recs[3]["state_delta"] == [{"op": "set", "key": "api_token", "value": red}]


def test_size_cap_stores_preview(tmp_path: pathlib.Path) -> None:
    c = LocalTrackingClient("proj", str(tmp_path), max_value_bytes=100)
    d = Driver(c, state=State({"n": 0, "big": "x" * 1000}))
    d.step()
    big = records(c)[-1]["state"]["big"]
    assert big["__burr_truncated__"] is True and big["size"] == 1002 and big["type"] == "str"
    assert big["preview"].startswith('"xxx')


def test_unserializable_value_becomes_placeholder_with_one_warning(client: LocalTrackingClient) -> None:
    class Weird:
        def __repr__(self) -> str:
            return "<weird>"

    from burr.core import serde

    @serde.serialize.register(Weird)
    def _broken(value: Any, **kwargs: Any) -> Any:
        raise TypeError("nope")

    d = Driver(client, state=State({"n": 0, "w": Weird()}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d.step()
        d.step(lambda s: s.update(w=Weird()))
    ends = [r for r in records(client) if r["type"] == "end_entry"]
    assert (
        ends[0]["state"]["w"]["__burr_unserializable__"] is True
        and ends[0]["state"]["w"]["repr"] == "<weird>"
    )
    assert sum("could not serialize" in str(w.message) for w in caught) == 1


def test_unwritable_directory_warns_once_and_keeps_running(tmp_path: pathlib.Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    c = LocalTrackingClient("proj", str(blocker))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = Driver(c)
        d.step()
        d.step()
        c.flush()
    assert sum("could not write" in str(w.message) for w in caught) >= 1
    assert d.seq == 1


def test_torn_last_line_does_not_break_load(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step()
    client.flush()
    with open(os.path.join(client.storage_dir, "app", "log.jsonl"), "a") as f:
        f.write('{"type":"end_entry","end_ti')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = client.load("pk", "app")
    assert loaded["state"]["n"] == 1 and loaded["sequence_id"] == 0


def test_first_transition_firing_is_implied_not_written(client: LocalTrackingClient) -> None:
    d = Driver(client)
    client.post_transition_evaluation(
        **d.kw(),
        sequence_id=0,
        from_action="counter",
        evaluated=[{"to": "counter", "condition": "n < 5", "value": True}],
        next_action="counter",
    )
    assert [r for r in records(client) if r["type"] == "transition"] == []


def test_implied_transition_reads_first_transition_from_graph() -> None:
    graph = {
        "transitions": [
            {"from_": "a", "to": "b", "condition": "x < 1"},
            {"from_": "a", "to": "c", "condition": "default"},
        ]
    }
    implied = logs.implied_transition(graph, "a")
    assert implied["evaluated"] == [{"to": "b", "condition": "x < 1", "value": True}] and implied["to"] == "b"
    assert logs.implied_transition(graph, "zzz") is None
