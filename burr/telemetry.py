"""Usage telemetry: none. Kept so code written for Apache Burr that imports it keeps working.

Nothing is collected, written or sent; there is no configuration file.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def disable_telemetry() -> None:
    """No-op: telemetry does not exist."""


def is_telemetry_enabled() -> bool:
    """Always False."""
    return False


def capture_function_usage(fn: F) -> F:
    """No-op decorator (returns ``fn`` unchanged)."""
    return fn
