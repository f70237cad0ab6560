"""Shared helpers for differential scenarios.

Every scenario is a script that uses only Apache Burr's public API, records what happened through
``Out`` and prints one canonical JSON document. It is run under our package and under Apache Burr
0.43; the outputs must match (see ``tests/compat/test_differential.py``). Nothing here may rely on
anything but the public API, so the same file runs on both implementations.
"""

from __future__ import annotations

import asyncio
import enum
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from burr.core import Action, State
from burr.lifecycle import base as lb

# Timing kwargs differ between runs (and, by design, between implementations): record only presence.
_TIME_KWARGS = {"stream_initialize_time", "first_stream_item_start_time"}


def canon(value: Any) -> Any:
    """A JSON-able, deterministic description of ``value``."""
    if isinstance(value, State):
        return {"<State>": canon(dict(value.get_all()))}
    if isinstance(value, Action):
        return f"<Action {value.name}>"
    if isinstance(value, BaseException):
        return f"<{type(value).__name__}>"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): canon(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [canon(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(canon(v) for v in value)
    cls = type(value).__name__
    if cls == "ApplicationContext":
        return {
            "<ApplicationContext>": {
                "app_id": value.app_id,
                "partition_key": value.partition_key,
                "sequence_id": value.sequence_id,
                "action_name": getattr(value, "action_name", None),
            }
        }
    if cls == "ActionSpan":
        return f"<ActionSpan {value.uid} {value.name}>"
    if cls in {"TracerFactory", "ActionSpanTracer"}:
        return f"<{cls}>"
    if cls == "ParentPointer":
        return {"<ParentPointer>": [value.app_id, value.partition_key, value.sequence_id]}
    return f"<{cls}>"


def action_name(action: Any) -> Any:
    # Spec #19: span/attribute hooks get an Action or a name depending on how the tracer was made;
    # we fix that to be consistent, so scenarios compare the *name* only.
    if isinstance(action, Action):
        return action.name
    return action


class Out:
    """Collects a scenario's observations in order and prints them as canonical JSON."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, label: str, value: Any = None) -> None:
        self.items.append([label, canon(value)])

    def raises(self, label: str, fn: Callable[[], Any], *phrases: str) -> None:
        """Record the exception type raised by ``fn`` and whether each key phrase appears."""
        try:
            value = fn()
        except BaseException as e:  # noqa: BLE001 - we record whatever the implementation raised
            self.items.append(
                [label, {"raised": type(e).__name__, "phrases": {p: p in str(e) for p in phrases}}]
            )
        else:
            self.items.append([label, {"returned": canon(value)}])

    async def araises(self, label: str, fn: Callable[[], Any], *phrases: str) -> None:
        try:
            value = await fn()
        except BaseException as e:  # noqa: BLE001
            self.items.append(
                [label, {"raised": type(e).__name__, "phrases": {p: p in str(e) for p in phrases}}]
            )
        else:
            self.items.append([label, {"returned": canon(value)}])

    def dump(self) -> None:
        sys.stdout.write(json.dumps(self.items, indent=1, sort_keys=True) + "\n")


def step_triple(value: Any) -> Any:
    """Describe a ``(action, result, state)`` return value (or None)."""
    if value is None:
        return None
    act, result, state = value
    return {"action": action_name(act) if act is not None else None, "result": result, "state": state}


def _summarise_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in _TIME_KWARGS:
            out[key] = "<time>" if value is not None else None
        elif key == "application_graph":
            out[key] = {
                "entrypoint": value.entrypoint.name,
                "actions": sorted(a.name for a in value.actions),
                "transitions": [[t.from_.name, t.to.name, t.condition.name] for t in value.transitions],
            }
        elif key == "action":
            out[key] = action_name(value)
        elif key == "span":
            out[key] = None if value is None else value.uid
        else:
            out[key] = canon(value)
    return out


# The hook kwargs every implementation passes; anything else (future kwargs) is ignored.
_KNOWN_KWARGS = {
    "app_id",
    "partition_key",
    "state",
    "application_graph",
    "parent_pointer",
    "spawning_parent_pointer",
    "method",
    "exception",
    "sequence_id",
    "action",
    "inputs",
    "result",
    "action_sequence_id",
    "span",
    "span_dependencies",
    "attributes",
    "tags",
    "item",
    "item_index",
    "stream_initialize_time",
    "first_stream_item_start_time",
}


class Recorder(
    lb.PostApplicationCreateHook,
    lb.PreApplicationExecuteCallHook,
    lb.PostApplicationExecuteCallHook,
    lb.PreRunStepHook,
    lb.PostRunStepHook,
    lb.PreStartSpanHook,
    lb.PostEndSpanHook,
    lb.DoLogAttributeHook,
    lb.PreStartStreamHook,
    lb.PostStreamItemHook,
    lb.PostEndStreamHook,
):
    """Records every sync hook call as ``[hook_name, summarised kwargs]``.

    ``keep`` restricts which kwargs are recorded (None = all known ones).
    """

    def __init__(self, keep: set[str] | None = None, skip: set[str] | None = None) -> None:
        self.events: list[Any] = []
        self.keep = keep
        self.skip = skip or set()

    def _rec(self, name: str, kwargs: dict[str, Any]) -> None:
        picked = {
            k: v
            for k, v in kwargs.items()
            if k in _KNOWN_KWARGS and (self.keep is None or k in self.keep) and k not in self.skip
        }
        self.events.append([name, _summarise_kwargs(picked)])

    def post_application_create(self, **kw: Any) -> None:
        self._rec("post_application_create", kw)

    def pre_run_execute_call(self, **kw: Any) -> None:
        self._rec("pre_run_execute_call", kw)

    def post_run_execute_call(self, **kw: Any) -> None:
        self._rec("post_run_execute_call", kw)

    def pre_run_step(self, **kw: Any) -> None:
        self._rec("pre_run_step", kw)

    def post_run_step(self, **kw: Any) -> None:
        self._rec("post_run_step", kw)

    def pre_start_span(self, **kw: Any) -> None:
        self._rec("pre_start_span", kw)

    def post_end_span(self, **kw: Any) -> None:
        self._rec("post_end_span", kw)

    def do_log_attributes(self, **kw: Any) -> None:
        self._rec("do_log_attributes", kw)

    def pre_start_stream(self, **kw: Any) -> None:
        self._rec("pre_start_stream", kw)

    def post_stream_item(self, **kw: Any) -> None:
        self._rec("post_stream_item", kw)

    def post_end_stream(self, **kw: Any) -> None:
        self._rec("post_end_stream", kw)


class AsyncRecorder(
    lb.PreApplicationExecuteCallHookAsync,
    lb.PostApplicationExecuteCallHookAsync,
    lb.PreRunStepHookAsync,
    lb.PostRunStepHookAsync,
    lb.PreStartStreamHookAsync,
    lb.PostStreamItemHookAsync,
    lb.PostEndStreamHookAsync,
):
    """Async twin of ``Recorder`` (shares an event list with a sync one to see interleaving)."""

    def __init__(self, events: list[Any], keep: set[str] | None = None, skip: set[str] | None = None) -> None:
        self.events = events
        self.keep = keep
        self.skip = skip or set()

    def _rec(self, name: str, kwargs: dict[str, Any]) -> None:
        picked = {
            k: v
            for k, v in kwargs.items()
            if k in _KNOWN_KWARGS and (self.keep is None or k in self.keep) and k not in self.skip
        }
        self.events.append(["async:" + name, _summarise_kwargs(picked)])

    async def pre_run_execute_call(self, **kw: Any) -> None:
        self._rec("pre_run_execute_call", kw)

    async def post_run_execute_call(self, **kw: Any) -> None:
        self._rec("post_run_execute_call", kw)

    async def pre_run_step(self, **kw: Any) -> None:
        self._rec("pre_run_step", kw)

    async def post_run_step(self, **kw: Any) -> None:
        self._rec("post_run_step", kw)

    async def pre_start_stream(self, **kw: Any) -> None:
        self._rec("pre_start_stream", kw)

    async def post_stream_item(self, **kw: Any) -> None:
        self._rec("post_stream_item", kw)

    async def post_end_stream(self, **kw: Any) -> None:
        self._rec("post_end_stream", kw)


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
