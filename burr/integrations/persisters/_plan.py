"""The persisters' sans-IO plan driver; it lives in ``burr.core._plan`` (shared with the engine)."""

from burr.core._plan import Call, Plan, Scoped, call, run_async, run_sync, single

__all__ = ["Call", "Plan", "Scoped", "call", "run_async", "run_sync", "single"]
