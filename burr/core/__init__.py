"""The core API: actions, conditions, state, graphs and applications.

``burr.core.action`` is the action module, callable as the ``@action`` decorator.
"""

import typing as _typing

from burr.core import serde, state

if _typing.TYPE_CHECKING:  # for type checkers `action` is the decorator; at runtime, the callable module
    from burr.core.action import action as action
else:
    from burr.core import action
from burr.core.action import Action, Condition, Result, default, expr, safe_expr, type_eraser, when
from burr.core.application import Application, ApplicationBuilder, ApplicationContext, ApplicationGraph
from burr.core.graph import Graph, GraphBuilder
from burr.core.state import State

if _typing.TYPE_CHECKING:
    from burr.core import persistence

__all__ = [
    "action",
    "Action",
    "Application",
    "ApplicationBuilder",
    "ApplicationGraph",
    "ApplicationContext",
    "Condition",
    "default",
    "expr",
    "safe_expr",
    "type_eraser",
    "Result",
    "State",
    "when",
    "Graph",
    "GraphBuilder",
    "persistence",
    "serde",
    "state",
]


def __getattr__(name: str) -> _typing.Any:
    # `persistence` (sqlite3, checkpoints, write-behind) loads on first use, so `import burr.core`
    # stays cheap; `from burr.core import persistence` and `burr.core.persistence` both land here.
    if name == "persistence":
        import importlib

        return importlib.import_module("burr.core.persistence")
    raise AttributeError(f"module 'burr.core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "persistence"})
