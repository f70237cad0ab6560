"""Lines the step hooks encode themselves are byte-identical to encoding the record dict."""

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


@pytest.mark.parametrize("call_id", [None, "ab12.7", 'odd "id"\n'])
def test_begin_entry_line_matches_the_encoded_record(call_id: Any) -> None:
    record: dict[str, Any] = {
        "type": "begin_entry",
        "start_time": _writer.iso(T),
        "action": "chat\u00e9",
        "inputs": {},
        "sequence_id": 12,
    }
    if call_id is not None:
        record["call_id"] = call_id
    assert _writer.begin_entry_line(T, "chat\u00e9", 12, call_id) == _encoded(record)


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
        "result": {},
        "exception": None,
        "state": None,
        "sequence_id": 4,
        "state_delta": delta,
        "call_id": "c.1",
    }
    assert _writer.end_entry_line(T, "counter", 4, delta, "c.1") == _encoded(record)


@pytest.mark.parametrize("value", [1.5, 2**70, {"nested": 1}, [1]])
def test_end_entry_line_leaves_other_values_to_the_record_path(value: Any) -> None:
    assert _writer.end_entry_line(T, "a", 1, [{"op": "set", "key": "k", "value": value}], None) is None


def test_lines_with_a_lone_surrogate_take_the_record_path() -> None:
    assert _writer.begin_entry_line(T, "bad\ud800", 1, None) is None
