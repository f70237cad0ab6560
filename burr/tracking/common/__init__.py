"""Shared tracking data definitions: record models (``models``) and the tolerant reader (``logs``)."""
