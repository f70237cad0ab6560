"""Platform facts and the one clock every record uses."""

import datetime
import sys

IS_WINDOWS = sys.platform == "win32"


def now() -> datetime.datetime:
    """The current time, timezone-aware UTC."""
    return datetime.datetime.now(datetime.timezone.utc)
