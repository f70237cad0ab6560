"""Lifecycle hooks: subclass these and pass instances to ``ApplicationBuilder.with_hooks``.

Stream, span-attribute and transition hooks live in ``burr.lifecycle.base``.
"""

from burr.lifecycle.base import (
    LifecycleAdapter,
    PostApplicationCreateHook,
    PostApplicationExecuteCallHook,
    PostApplicationExecuteCallHookAsync,
    PostEndSpanHook,
    PostRunStepHook,
    PostRunStepHookAsync,
    PreApplicationExecuteCallHook,
    PreApplicationExecuteCallHookAsync,
    PreRunStepHook,
    PreRunStepHookAsync,
    PreStartSpanHook,
)
from burr.lifecycle.default import StateAndResultsFullLogger

__all__ = [
    "PreRunStepHook",
    "PreRunStepHookAsync",
    "PostRunStepHook",
    "PostRunStepHookAsync",
    "PreApplicationExecuteCallHook",
    "PreApplicationExecuteCallHookAsync",
    "PostApplicationExecuteCallHook",
    "PostApplicationExecuteCallHookAsync",
    "LifecycleAdapter",
    "StateAndResultsFullLogger",
    "PostApplicationCreateHook",
    "PostEndSpanHook",
    "PreStartSpanHook",
]
