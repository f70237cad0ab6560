"""The tracking server: an indexed API over the tracker's files plus the bundled web UI."""

from burr.tracking.server.app import create_burr_ui_app, mount_burr_ui

__all__ = ["create_burr_ui_app", "mount_burr_ui"]
