"""Lean format-2 records: what is left out on disk, and how the reader restores the full shape."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import pytest

from burr.core.state import State
from burr.lifecycle.base import ExecuteMethod
from burr.tracking import LocalTrackingClient
from burr.tracking.common import logs
from tests.tracking.test_client_hooks import Driver


@pytest.fixture
def client(tmp_path: pathlib.Path) -> LocalTrackingClient:
    return LocalTrackingClient("proj", str(tmp_path))


def raw(client: LocalTrackingClient, app_id: str = "app") -> list[dict[str, Any]]:
    client.flush()
    with open(os.path.join(client.storage_dir, app_id, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def read(client: LocalTrackingClient, app_id: str = "app") -> list[dict[str, Any]]:
    client.flush()
    return logs.read_log(os.path.join(client.storage_dir, app_id, "log.jsonl")).records


def run_call(client: LocalTrackingClient, d: Driver, method: Any = ExecuteMethod.run, **step: Any) -> None:
    client.pre_run_execute_call(**d.kw(), state=d.state, method=method)
    d.step(**step)
    client.post_run_execute_call(**d.kw(), state=d.state, method=method, exception=None)


def test_a_plain_call_leaves_defaults_and_implied_ids_out(client: LocalTrackingClient) -> None:
    d = Driver(client)
    run_call(client, d)
    run_call(client, d)
    assert [sorted(r) for r in raw(client)[4:]] == [
        ["start_time", "type"],
        ["action", "sequence_id", "start_time", "type"],
        ["action", "end_time", "sequence_id", "state_delta", "type"],
        ["end_time", "type"],
    ]


def test_reader_restores_the_full_records(client: LocalTrackingClient) -> None:
    d = Driver(client)
    run_call(client, d)
    run_call(client, d)
    recs = read(client)[4:]
    begin_call, begin, end, end_call = recs
    assert begin_call["method"] == "run" and begin_call["sequence_id"] == 0
    assert begin_call["call_id"] == begin["call_id"] == end["call_id"] == end_call["call_id"]
    assert begin["inputs"] == {}
    assert (end["result"], end["exception"], end["state"]) == ({}, None, None)
    assert end["state_delta"] == [{"op": "set", "key": "n", "value": 2}]
    assert end_call["exception"] is None and end_call["sequence_id"] == 1


def test_call_ids_are_distinct_per_call(client: LocalTrackingClient) -> None:
    d = Driver(client)
    run_call(client, d)
    run_call(client, d)
    ids = [r["call_id"] for r in read(client) if r["type"] == "begin_call"]
    assert len(set(ids)) == 2


def test_first_call_of_a_writer_states_its_sequence_id(client: LocalTrackingClient) -> None:
    d = Driver(client)
    run_call(client, d)
    assert raw(client)[0] == {
        "type": "begin_call",
        "start_time": raw(client)[0]["start_time"],
        "sequence_id": None,
    }


def test_other_methods_are_named(client: LocalTrackingClient) -> None:
    d = Driver(client)
    run_call(client, d, method=ExecuteMethod.stream_result)
    assert raw(client)[0]["method"] == "stream_result"


def test_bare_step_of_a_new_writer_says_it_is_outside_any_call(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step()
    d.step()
    begins = [r for r in raw(client) if r["type"] == "begin_entry"]
    assert begins[0]["call_id"] is None and "call_id" not in begins[1]


def test_a_crashed_call_does_not_adopt_the_next_writers_bare_steps(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "log.jsonl"
    lines = [
        {"type": "begin_call", "start_time": "2026-11-21T12:00:00.000000Z", "sequence_id": None},
        {"type": "begin_entry", "start_time": "2026-11-21T12:00:00.000001Z", "action": "a", "sequence_id": 0},
        # the process died here; a new one resumes with bare step() calls
        {
            "type": "begin_entry",
            "start_time": "2026-11-21T12:01:00.000000Z",
            "action": "a",
            "sequence_id": 0,
            "call_id": None,
        },
        {
            "type": "end_entry",
            "end_time": "2026-11-21T12:01:00.000001Z",
            "action": "a",
            "sequence_id": 0,
            "state": {"n": 1},
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    recs = logs.read_log(str(path)).records
    assert recs[1]["call_id"] == "@0" and recs[2]["call_id"] is None and recs[3]["call_id"] is None


def test_non_default_values_are_written(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step(inputs={"x": 1}, result={"r": 2})
    begin, end = raw(client)
    assert begin["inputs"] == {"x": 1} and end["result"] == {"r": 2} and "state" in end


def test_failed_call_records_its_exception(client: LocalTrackingClient) -> None:
    d = Driver(client)
    client.pre_run_execute_call(**d.kw(), state=d.state, method=ExecuteMethod.run)
    client.post_run_execute_call(**d.kw(), state=d.state, method=ExecuteMethod.run, exception=ValueError("x"))
    assert "ValueError: x" in raw(client)[-1]["exception"]


def test_delta_ops_are_short_arrays_on_disk(client: LocalTrackingClient) -> None:
    d = Driver(client)
    d.step()
    d.step(lambda s: s.append(msgs={"m": 1}).update(n=5))
    assert raw(client)[-1]["state_delta"] == [["a", "msgs", {"m": 1}], ["s", "n", 5]]


def test_verbose_format_2_records_still_read(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "log.jsonl"
    old = [
        {
            "type": "begin_call",
            "call_id": "ab.1",
            "method": "run",
            "start_time": "2026-11-21T12:00:00+00:00",
            "sequence_id": None,
        },
        {
            "type": "begin_entry",
            "start_time": "2026-11-21T12:00:00+00:00",
            "action": "a",
            "inputs": {},
            "sequence_id": 0,
            "call_id": "ab.1",
        },
        {
            "type": "end_entry",
            "end_time": "2026-11-21T12:00:01+00:00",
            "action": "a",
            "result": {},
            "exception": None,
            "state": {"n": 1},
            "sequence_id": 0,
            "call_id": "ab.1",
        },
        {
            "type": "end_entry",
            "end_time": "2026-11-21T12:00:02+00:00",
            "action": "a",
            "result": {},
            "exception": None,
            "state": None,
            "sequence_id": 1,
            "state_delta": [{"op": "increment", "key": "n", "by": 2}],
            "call_id": "ab.1",
        },
        {
            "type": "end_call",
            "call_id": "ab.1",
            "end_time": "2026-11-21T12:00:03+00:00",
            "exception": None,
            "sequence_id": 1,
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    recs = logs.read_log(str(path)).records
    assert recs == old
    assert logs.state_at(recs)[0]["n"] == 3  # type: ignore[index]


@pytest.mark.parametrize(
    ("compact", "full"),
    [
        (["s", "k", 1], {"op": "set", "key": "k", "value": 1}),
        (["a", "k", [1]], {"op": "append", "key": "k", "value": [1]}),
        (["e", "k", [1, 2]], {"op": "extend", "key": "k", "values": [1, 2]}),
        (["i", "k", 3], {"op": "increment", "key": "k", "by": 3}),
        (["d", "k"], {"op": "delete", "key": "k"}),
    ],
)
def test_compact_ops_expand_to_the_dict_form(compact: list[Any], full: dict[str, Any]) -> None:
    assert logs.expand_op(compact) == full


def test_apply_delta_takes_compact_ops_from_raw_records() -> None:
    state = logs.apply_delta(
        {"xs": [1], "n": 1}, {"sequence_id": 3, "action": "a", "state_delta": [["a", "xs", 2], ["i", "n", 4]]}
    )
    assert state == {"xs": [1, 2], "n": 5, "__SEQUENCE_ID": 3, "__PRIOR_STEP": "a"}


def test_appending_state_is_not_snapshotted_again_and_again(tmp_path: pathlib.Path) -> None:
    c = LocalTrackingClient("proj", str(tmp_path), snapshot_every=3)
    d = Driver(c, state=State({"n": 0, "msgs": []}))
    for i in range(60):
        d.step(lambda s, i=i: s.append(msgs="x" * 200 + str(i)))
        c.flush()  # the byte counters the policy reads are updated by the writer
    snaps = [r for r in read(c) if r["type"] == "end_entry" and r["state"] is not None]
    assert len(snaps) == 1
    assert len(logs.state_at(read(c))[0]["msgs"]) == 60  # type: ignore[index]


def test_loading_from_lean_records_restores_state(client: LocalTrackingClient) -> None:
    d = Driver(client)
    run_call(client, d)
    run_call(client, d, change=lambda s: s.append(msgs="hi"))
    loaded = client.load("pk", "app")
    assert loaded is not None and loaded["state"]["msgs"] == ["hi"] and loaded["sequence_id"] == 1


def test_models_accept_lean_records() -> None:
    from burr.tracking.common.models import EndEntryModel, parse_log_record

    model = parse_log_record(
        {
            "type": "end_entry",
            "end_time": "2026-11-21T12:00:00.000001Z",
            "action": "a",
            "sequence_id": 2,
            "state_delta": [["a", "h", 1]],
        }
    )
    assert isinstance(model, EndEntryModel)
    assert (model.result, model.state, model.state_delta) == (
        {},
        None,
        [{"op": "append", "key": "h", "value": 1}],
    )
