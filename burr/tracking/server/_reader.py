"""The server's single import point for the shared log reader (``burr.tracking.common.logs``)."""

from __future__ import annotations

from burr.tracking.common.logs import fill_defaults, implied_transition, read_graph, read_metadata, state_at

__all__ = ["fill_defaults", "implied_transition", "read_graph", "read_metadata", "state_at"]
