"""Run parallel branches on Ray: ``ApplicationBuilder().with_parallel_executor(RayExecutor)``.

Call ``ray.init()`` (local) or ``ray.init(address="ray://head:10001")`` (a cluster) before the map
step runs. Branch tasks, their states and the parent's context are pickled to the workers, so
actions must be importable (or picklable by value) there.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Callable, TypeVar

try:
    import ray
except ImportError as e:  # pragma: no cover -- exercised when ray is missing
    from burr.integrations.base import require_plugin

    require_plugin(e, "ray")

R = TypeVar("R")

_remote_call: Any = None


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return fn(*args, **kwargs)


def _get_remote_call() -> Any:
    # One remote function for every submit: Ray exports it once instead of once per branch.
    global _remote_call
    if _remote_call is None:
        _remote_call = ray.remote(_call)
    return _remote_call


class RayExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures.Executor`` that runs each submitted call as a Ray task.

    :param shutdown_on_end: call ``ray.shutdown()`` when the executor is shut down (at the end of
        each map step); leave False when Ray serves more than one step.
    """

    def __init__(self, shutdown_on_end: bool = False) -> None:
        self.shutdown_on_end = shutdown_on_end

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[R]:
        if not ray.is_initialized():
            raise RuntimeError(
                "RayExecutor needs a running Ray: call ray.init() (local) or "
                'ray.init(address="ray://<head>:10001") (a cluster) before running the application, '
                "or drop with_parallel_executor(RayExecutor) to use the default thread pool."
            )
        ref = _get_remote_call().remote(fn, args, kwargs)
        return ref.future()  # type: ignore[no-any-return]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self.shutdown_on_end and ray.is_initialized():
            ray.shutdown()
