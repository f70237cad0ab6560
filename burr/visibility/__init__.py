"""Spans and attributes logged from inside actions."""

from burr.visibility.tracing import ActionSpan, ActionSpanTracer, TracerFactory, trace

__all__ = ["ActionSpan", "ActionSpanTracer", "TracerFactory", "trace"]
