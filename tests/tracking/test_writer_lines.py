"""Lines the step hooks encode themselves are byte-identical to encoding the lean record dict."""

from __future__ import annotations

import time
from typing import Any

import pytest

from burr.tracking import _writer

T = time.time()


def _encoded(record: dict[str, Any]) -> bytes:
    line = _writer.WRITER._encode(record)
    assert line is not None
    return line


@pytest.mark.parametrize("null_call", [False, True])
def test_begin_entry_line_matches_the_encoded_record(null_call: bool) -> None:
    record: dict[str, Any] = {
        "type": "begin_entry",
        "start_time": _writer.iso(T),
        "action": "chat\u00e9",
        "sequence_id": 12,
    }
    if null_call:
        record["call_id"] = None
    assert _writer.begin_entry_line(T, "chat\u00e9", 12, null_call) == _encoded(record)


@pytest.mark.parametrize(
    "delta",
    [
        [],
        [{"op": "set", "key": "count", "value": 3}],
        [
            {"op": "increment", "key": "n", "by": -2},
            {"op": "delete", "key": "gone"},
            {"op": "set", "key": "s", "value": 'quote " tab \t \u00e9'},
            {"op": "set", "key": "flag", "value": False},
            {"op": "set", "key": "none", "value": None},
            {"op": "set", "key": "__PRIOR_STEP", "value": "other"},
        ],
    ],
)
def test_end_entry_line_matches_the_encoded_record(delta: list[dict[str, Any]]) -> None:
    record: dict[str, Any] = {
        "type": "end_entry",
        "end_time": _writer.iso(T),
        "action": "counter",
        "sequence_id": 4,
        "state_delta": [dict(op) for op in delta],
    }
    assert _writer.end_entry_line(T, "counter", 4, delta) == _encoded(record)


def test_end_entry_line_writes_ops_as_short_arrays() -> None:
    line = _writer.end_entry_line(
        T, "a", 1, [{"op": "increment", "key": "n", "by": 2}, {"op": "delete", "key": "k"}]
    )
    assert line is not None and line.endswith(b'"state_delta":[["i","n",2],["d","k"]]}')


@pytest.mark.parametrize("value", [1.5, 2**70, {"nested": 1}, [1]])
def test_end_entry_line_leaves_other_values_to_the_record_path(value: Any) -> None:
    assert _writer.end_entry_line(T, "a", 1, [{"op": "set", "key": "k", "value": value}]) is None


def test_end_entry_line_leaves_appends_to_the_record_path() -> None:
    assert _writer.end_entry_line(T, "a", 1, [{"op": "append", "key": "k", "value": 1}]) is None


def test_lines_with_a_lone_surrogate_take_the_record_path() -> None:
    assert _writer.begin_entry_line(T, "bad\ud800", 1) is None


def test_compact_ops_cover_every_op_kind() -> None:
    ops = [
        {"op": "set", "key": "a", "value": {"x": 1}},
        {"op": "append", "key": "b", "value": 2},
        {"op": "extend", "key": "c", "values": [3, 4]},
        {"op": "increment", "key": "d", "by": 5},
        {"op": "delete", "key": "e"},
    ]
    assert _writer.compact_ops(ops) == [
        ["s", "a", {"x": 1}],
        ["a", "b", 2],
        ["e", "c", [3, 4]],
        ["i", "d", 5],
        ["d", "e"],
    ]
