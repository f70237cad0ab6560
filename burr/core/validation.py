"""Shared bits of error reporting."""

from __future__ import annotations

from typing import Any

# A short pointer prepended to builder/graph errors. Apache Burr prints a long banner here; we keep
# the message itself specific instead and only point at the reference docs.
BASE_ERROR_MESSAGE = "[burr, docs: https://burr.apache.org/] "


def assert_set(value: Any, field: str, method: str) -> None:
    """Raise a ``ValueError`` telling the user to call ``method`` when ``value`` (``field``) is None."""
    if value is None:
        raise ValueError(
            BASE_ERROR_MESSAGE
            + f"Must call `{method}` before building application! Do so with ApplicationBuilder. "
            f"(`{field}` is not set: call `.{method}(...)` on the builder before `.build()`.)"
        )
