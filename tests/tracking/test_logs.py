"""The tolerant tracking-data reader, on Apache Burr 0.43's files and on synthetic format-2 logs."""

from __future__ import annotations

import json
import os
import pathlib

import pytest

from burr.tracking.common import logs

FIXTURE = (
    pathlib.Path(__file__).parents[1] / "fixtures" / "apache-burr-0.43" / "burr-home" / "demo_fixture"
)  # written by Apache Burr 0.43 (README.md beside it)

needs_fixture = pytest.mark.skipif(not FIXTURE.exists(), reason="Apache Burr fixture not available")


def _write(path: pathlib.Path, records: list[dict], tail: str = "") -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)
    return str(path)


def _end(seq: int, action: str, state=None, delta=None, exception=None) -> dict:
    r = {
        "type": "end_entry",
        "end_time": "t",
        "action": action,
        "result": {},
        "exception": exception,
        "state": state,
        "sequence_id": seq,
    }
    if delta is not None:
        r["state_delta"] = delta
    return r


@needs_fixture
def test_burr_fixture_log_reads_without_warnings() -> None:
    result = logs.read_log(str(FIXTURE / "counter-app" / "log.jsonl"))
    assert result.warnings == []
    assert [r["sequence_id"] for r in result.records if r["type"] == "end_entry"] == [0, 1, 2, 3, 4, 5]


@needs_fixture
def test_burr_fixture_latest_state() -> None:
    records = logs.read_log(str(FIXTURE / "counter-app" / "log.jsonl")).records
    state, entry = logs.state_at(records, None)
    assert (
        state["counter"] == 3 and state["squares"] == [0, 1, 4] and state["message"] == "count is 3 and done"
    )
    assert entry["action"] == "speak"


@needs_fixture
def test_burr_fixture_state_at_sequence_id() -> None:
    records = logs.read_log(str(FIXTURE / "counter-app" / "log.jsonl")).records
    state, entry = logs.state_at(records, 1)
    assert state == {"counter": 2, "history": [], "__SEQUENCE_ID": 1, "__PRIOR_STEP": "counter"}
    assert entry["sequence_id"] == 1


@needs_fixture
def test_burr_fixture_graph_inputs_are_swapped_back_and_injected_dropped() -> None:
    graph = logs.read_graph(str(FIXTURE / "counter-app"))
    counter = next(a for a in graph["actions"] if a["name"] == "counter")
    assert graph["burr_format"] == 1
    assert counter["inputs"] == [] and counter["optional_inputs"] == []


def test_format1_graph_swaps_inputs(tmp_path: pathlib.Path) -> None:
    (tmp_path / "graph.json").write_text(
        json.dumps(
            {
                "type": "application",
                "entrypoint": "a",
                "transitions": [],
                "actions": [{"name": "a", "inputs": ["opt"], "optional_inputs": ["req", "__context"]}],
            }
        )
    )
    action = logs.read_graph(str(tmp_path))["actions"][0]
    assert (action["inputs"], action["optional_inputs"]) == (["req"], ["opt"])


def test_format2_graph_inputs_kept(tmp_path: pathlib.Path) -> None:
    (tmp_path / "metadata.json").write_text(json.dumps({"type": "application_metadata", "burr_format": 2}))
    (tmp_path / "graph.json").write_text(
        json.dumps(
            {
                "type": "application",
                "entrypoint": "a",
                "transitions": [],
                "burr_format": 2,
                "actions": [{"name": "a", "inputs": ["req"], "optional_inputs": ["opt"]}],
            }
        )
    )
    action = logs.read_graph(str(tmp_path))["actions"][0]
    assert (action["inputs"], action["optional_inputs"]) == (["req"], ["opt"])


@needs_fixture
def test_burr_fixture_metadata_is_format1_with_parent_pointer() -> None:
    meta = logs.read_metadata(str(FIXTURE / "forked-app"))
    assert meta["burr_format"] == 1
    assert meta["parent_pointer"]["app_id"] == "counter-app"
    assert meta["created_at"].endswith("+00:00")


@needs_fixture
def test_burr_fixture_children_records() -> None:
    children = logs.read_children(str(FIXTURE / "counter-app")).records
    assert [c["event_type"] for c in children] == ["spawn_start"] * 3 + ["fork"]


def test_missing_metadata_gives_defaults(tmp_path: pathlib.Path) -> None:
    meta = logs.read_metadata(str(tmp_path))
    assert meta["partition_key"] is None and meta["burr_format"] is None


def test_torn_last_line_is_skipped_with_warning(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path / "log.jsonl", [_end(0, "a", state={"x": 1})], tail='{"type": "end_en')
    result = logs.read_log(path)
    assert len(result.records) == 1
    assert "torn last line" in result.warnings[0]


def test_torn_last_line_is_not_consumed_by_end_offset(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path / "log.jsonl", [_end(0, "a", state={"x": 1})], tail='{"type": "end_en')
    result = logs.read_log(path)
    assert result.end_offset == os.path.getsize(path) - len('{"type": "end_en')


def test_corrupt_middle_line_is_skipped(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        json.dumps(_end(0, "a", state={"x": 1}))
        + "\nnot json\n[1, 2]\n"
        + json.dumps(_end(1, "a", state={"x": 2}))
        + "\n"
    )
    result = logs.read_log(str(path))
    assert [r["sequence_id"] for r in result.records] == [0, 1]
    assert len(result.warnings) == 2


def test_read_log_from_offset_returns_only_new_records(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path / "log.jsonl", [_end(0, "a", state={"x": 1})])
    first = logs.read_log(path)
    with open(path, "a") as f:
        f.write(json.dumps(_end(1, "a", state={"x": 2})) + "\n")
    second = logs.read_log(path, offset=first.end_offset)
    assert [r["sequence_id"] for r in second.records] == [1]


def test_missing_log_reads_empty(tmp_path: pathlib.Path) -> None:
    assert logs.read_log(str(tmp_path / "nope.jsonl")).records == []


def test_state_at_replays_deltas_after_snapshot() -> None:
    records = [
        _end(0, "a", state={"n": 0, "msgs": [], "__SEQUENCE_ID": 0, "__PRIOR_STEP": "a"}),
        _end(
            1,
            "b",
            delta=[{"op": "increment", "key": "n", "by": 2}, {"op": "append", "key": "msgs", "value": "hi"}],
        ),
        _end(
            2,
            "c",
            delta=[
                {"op": "extend", "key": "msgs", "values": ["x", "y"]},
                {"op": "set", "key": "k", "value": 1},
            ],
        ),
    ]
    state, entry = logs.state_at(records, 2)
    assert state == {"n": 2, "msgs": ["hi", "x", "y"], "k": 1, "__SEQUENCE_ID": 2, "__PRIOR_STEP": "c"}


def test_state_at_does_not_mutate_records() -> None:
    records = [
        _end(0, "a", state={"msgs": []}),
        _end(1, "a", delta=[{"op": "append", "key": "msgs", "value": 1}]),
    ]
    logs.state_at(records, 1)
    assert records[0]["state"]["msgs"] == []


def test_state_at_intermediate_sequence_id() -> None:
    records = [
        _end(0, "a", state={"n": 0}),
        _end(1, "a", delta=[{"op": "set", "key": "n", "value": 1}]),
        _end(2, "a", delta=[{"op": "set", "key": "n", "value": 2}]),
    ]
    assert logs.state_at(records, 1)[0]["n"] == 1


def test_state_at_uses_latest_snapshot() -> None:
    records = [
        _end(0, "a", state={"n": 0}),
        _end(1, "a", delta=[{"op": "set", "key": "n", "value": 1}]),
        _end(2, "a", state={"n": 10, "__SEQUENCE_ID": 2}),
        _end(3, "a", delta=[{"op": "increment", "key": "n", "by": 1}]),
    ]
    assert logs.state_at(records, 3)[0]["n"] == 11


def test_state_at_delete_op() -> None:
    records = [_end(0, "a", state={"n": 0, "gone": 1}), _end(1, "a", delta=[{"op": "delete", "key": "gone"}])]
    assert "gone" not in logs.state_at(records, 1)[0]


def test_failed_step_does_not_imply_prior_step() -> None:
    records = [
        _end(0, "a", state={"__PRIOR_STEP": "a", "__SEQUENCE_ID": 0}),
        _end(1, "b", delta=[], exception="Traceback: boom"),
    ]
    state = logs.state_at(records, 1)[0]
    assert state == {"__PRIOR_STEP": "a", "__SEQUENCE_ID": 1}


def test_explicit_internal_op_overrides_implied_value() -> None:
    records = [_end(0, "a", state={}), _end(1, "b", delta=[{"op": "delete", "key": "__PRIOR_STEP"}])]
    assert "__PRIOR_STEP" not in logs.state_at(records, 1)[0]


def test_state_at_missing_sequence_id_is_none() -> None:
    assert logs.state_at([_end(0, "a", state={})], 5) is None


def test_state_at_uses_last_entry_for_repeated_sequence_id() -> None:
    records = [_end(0, "a", state={"n": 1}), _end(0, "a", state={"n": 2})]
    assert logs.state_at(records, 0)[0]["n"] == 2


def test_unknown_delta_op_raises_clear_error() -> None:
    records = [_end(0, "a", state={}), _end(1, "a", delta=[{"op": "frobnicate", "key": "k"}])]
    with pytest.raises(ValueError, match="frobnicate"):
        logs.state_at(records, 1)


def test_iter_states_yields_independent_states() -> None:
    records = [
        _end(0, "a", state={"m": []}),
        _end(1, "a", delta=[{"op": "append", "key": "m", "value": 1}]),
        _end(2, "a", delta=[{"op": "append", "key": "m", "value": 2}]),
    ]
    states = [s["m"] for s, _ in logs.iter_states(records)]
    assert states == [[], [1], [1, 2]]


def test_parse_time_naive_is_local_and_z_is_utc() -> None:
    assert logs.parse_time("2026-11-21T11:58:26.708966Z").isoformat() == "2026-11-21T11:58:26.708966+00:00"
    assert logs.parse_time("2026-11-21T11:58:26").tzinfo is not None
    assert logs.parse_time("garbage") is None


GRAPH_WITH_ERROR_ROUTE = {
    "transitions": [
        {"from_": "draft", "to": "apologize", "condition": "on_exception(ConnectionError)"},
        {"from_": "draft", "to": "review", "condition": "default"},
    ]
}


def test_implied_transition_after_a_completed_step_skips_error_routes():
    assert logs.implied_transition(GRAPH_WITH_ERROR_ROUTE, "draft")["to"] == "review"


def test_implied_transition_after_a_failed_step_is_the_first_error_route():
    assert logs.implied_transition(GRAPH_WITH_ERROR_ROUTE, "draft", failed=True)["to"] == "apologize"


def test_implied_transition_is_none_without_a_matching_kind():
    graph = {"transitions": [{"from_": "a", "to": "b", "condition": "default"}]}
    assert logs.implied_transition(graph, "a", failed=True) is None
