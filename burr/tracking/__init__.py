"""Tracking: record applications for the Burr UI (``LocalTrackingClient``)."""

from burr.tracking.client import LocalTrackingClient

__all__ = ["LocalTrackingClient"]
