"""The server's single import point for the shared log reader (H-track's, else a private stand-in)."""

from __future__ import annotations

try:  # pragma: no cover - depends on which module exists
    from burr.tracking.common.logs import read_graph, read_metadata, state_at
except ImportError:  # pragma: no cover
    from burr.tracking.server._reader_fallback import read_graph, read_metadata, state_at

__all__ = ["read_graph", "read_metadata", "state_at"]
