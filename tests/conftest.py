"""Shared fixtures for the whole test suite (keep this file small; area fixtures live next to tests)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from burr.lifecycle import base


class EventRecorder(
    base.PreRunStepHook,
    base.PostRunStepHook,
    base.PreApplicationExecuteCallHook,
    base.PostApplicationExecuteCallHook,
    base.PreStartStreamHook,
    base.PostStreamItemHook,
    base.PostEndStreamHook,
    base.PreStartSpanHook,
    base.PostEndSpanHook,
    base.DoLogAttributeHook,
    base.PostApplicationCreateHook,
):
    """A sync hook recording every event as ``(hook_name, kwargs)`` in ``events``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def _record(self, name: str, kwargs: dict[str, Any]) -> None:
        self.events.append((name, kwargs))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def pre_run_step(self, **kw: Any) -> None:
        self._record("pre_run_step", kw)

    def post_run_step(self, **kw: Any) -> None:
        self._record("post_run_step", kw)

    def pre_run_execute_call(self, **kw: Any) -> None:
        self._record("pre_run_execute_call", kw)

    def post_run_execute_call(self, **kw: Any) -> None:
        self._record("post_run_execute_call", kw)

    def pre_start_stream(self, **kw: Any) -> None:
        self._record("pre_start_stream", kw)

    def post_stream_item(self, **kw: Any) -> None:
        self._record("post_stream_item", kw)

    def post_end_stream(self, **kw: Any) -> None:
        self._record("post_end_stream", kw)

    def pre_start_span(self, **kw: Any) -> None:
        self._record("pre_start_span", kw)

    def post_end_span(self, **kw: Any) -> None:
        self._record("post_end_span", kw)

    def do_log_attributes(self, **kw: Any) -> None:
        self._record("do_log_attributes", kw)

    def post_application_create(self, **kw: Any) -> None:
        self._record("post_application_create", kw)


@pytest.fixture
def recorder() -> EventRecorder:
    """A fresh ``EventRecorder`` hook (pass it to ``with_hooks``)."""
    return EventRecorder()


@pytest.fixture
def burr_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private ``~`` so nothing a test tracks lands in the real ``~/.burr``."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return os.fspath(home)
