"""Small helpers for tracking data."""

from __future__ import annotations

import json
from typing import Any


def safe_json_load(line: bytes | str) -> Any:
    """Parse one JSON value; tolerates bytes, surrounding whitespace and NaN/Infinity.

    Raises ``ValueError`` (``json.JSONDecodeError``) for data that is not JSON.
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    return json.loads(line.strip())
