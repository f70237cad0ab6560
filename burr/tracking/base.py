"""The tracking-client interface: every sync lifecycle hook a tracker implements, plus ``copy``."""

from __future__ import annotations

import abc

from burr.common.types import BaseCopyable
from burr.lifecycle.base import (
    DoLogAttributeHook,
    PostApplicationCreateHook,
    PostEndSpanHook,
    PostEndStreamHook,
    PostRunStepHook,
    PostStreamItemHook,
    PreRunStepHook,
    PreStartSpanHook,
    PreStartStreamHook,
)


class SyncTrackingClient(
    PostApplicationCreateHook,
    PreRunStepHook,
    PostRunStepHook,
    PreStartSpanHook,
    PostEndSpanHook,
    DoLogAttributeHook,
    PreStartStreamHook,
    PostStreamItemHook,
    PostEndStreamHook,
    BaseCopyable,
    abc.ABC,
):
    """Base class for trackers: implement every hook and ``copy`` (children get a copy)."""

    @abc.abstractmethod
    def copy(self) -> SyncTrackingClient: ...


TrackingClient = SyncTrackingClient

__all__ = ["SyncTrackingClient", "TrackingClient"]
