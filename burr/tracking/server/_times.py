"""One clock for the server: every timestamp becomes epoch seconds (UTC) on ingest."""

from __future__ import annotations

import datetime
from typing import Any


def to_epoch(value: Any) -> float | None:
    """Parse an ISO-8601 string; naive times are the reader's local time (Apache Burr's format 1)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # interprets a naive value as local time
    return dt.timestamp()


def to_iso(epoch: float | None) -> str | None:
    """Epoch seconds -> UTC ISO-8601 with offset (what the API returns)."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).isoformat()
