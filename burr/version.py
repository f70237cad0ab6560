"""The installed version of burr."""

from importlib import metadata


def _version() -> str:
    for dist in ("apache-burr", "burr"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "0.0.0.dev"


__version__ = _version()
