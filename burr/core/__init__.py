"""The core API: actions, conditions, state, graphs and applications.

``burr.core.action`` is the action module, callable as the ``@action`` decorator.
"""

from burr.core import action, persistence, serde, state
from burr.core.action import Action, Condition, Result, default, expr, safe_expr, type_eraser, when
from burr.core.application import Application, ApplicationBuilder, ApplicationContext, ApplicationGraph
from burr.core.graph import Graph, GraphBuilder
from burr.core.state import State

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
