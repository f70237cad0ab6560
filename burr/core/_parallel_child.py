"""Child applications of a map step: their ids, their adapters, and building/running them.

Child ids: Apache Burr derives them from the parent app id and the branch key alone, so every
invocation of a map step (a retry, a loop iteration, a replay) reuses the ids of the first and a
resumed parent can pick up stale results. Ours add the *invocation*: the parent's partition key and
the sequence id of the attempt that first started this map step. Retries of a failed map step and
re-runs after a crash keep that anchor (so finished branches are not run again); anything else -
the next loop iteration, a fork (new app id), a replay over recorded history - gets fresh ids.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from burr.core.application import ApplicationContext
    from burr.core.state import State

from burr.core._parallel_exec import is_default_factory

logger = logging.getLogger(__name__)

CASCADE = "cascade"


def _stable_app_id_hash(app_id: str, child_key: str) -> str:
    """Apache Burr's child id: sha256 of ``"<parent app id>:<child key>"`` (hex)."""
    return hashlib.sha256(f"{app_id}:{child_key}".encode()).hexdigest()


def _cascade_adapter(behavior: Any, adapter: Any) -> Any:
    """Resolve a child's tracker/persister/initializer: None, ``"cascade"`` (a copy of the parent's), or as given."""
    if behavior is None:
        return None
    if isinstance(behavior, str) and behavior == CASCADE:
        if adapter is None:
            return None
        copy = getattr(adapter, "copy", None)
        return copy() if callable(copy) else adapter
    return behavior


def resolve_adapters(
    tracker_behavior: Any, persister_behavior: Any, initializer_behavior: Any, context: ApplicationContext
) -> tuple[Any, Any, Any]:
    """The child's (tracker, persister, initializer); one shared copy when the parent uses one object for both."""
    tracker = _cascade_adapter(tracker_behavior, context.tracker)
    persister_parent = context.state_persister
    initializer_parent = context.state_initializer
    if (
        persister_behavior == CASCADE
        and initializer_behavior == CASCADE
        and persister_parent is not None
        and persister_parent is initializer_parent
    ):
        shared = _cascade_adapter(CASCADE, persister_parent)
        return tracker, shared, shared
    return (
        tracker,
        _cascade_adapter(persister_behavior, persister_parent),
        _cascade_adapter(initializer_behavior, initializer_parent),
    )


def _loader_of(context: ApplicationContext) -> Any:
    for candidate in (context.state_initializer, context.state_persister):
        if candidate is not None and callable(getattr(candidate, "load", None)):
            return candidate
    return None


def _safe_load(loader: Any, partition_key: str | None, app_id: str, sequence_id: int | None) -> Any:
    try:
        return loader.load(partition_key, app_id, sequence_id)
    except Exception:  # a loader that cannot answer (e.g. the tracker's ValueError) = no record
        return None


async def _asafe_load(loader: Any, partition_key: str | None, app_id: str, sequence_id: int | None) -> Any:
    try:
        return await loader.load(partition_key, app_id, sequence_id)
    except Exception:
        return None


def _anchor_from(records: Callable[[int], Any], seq: int, action_name: str) -> str:
    existing = records(seq)
    if existing is not None:
        # The parent's history already has this step: a replay over recorded history.
        return f"{seq}~{existing.get('created_at')}~{existing.get('status')}"
    anchor = seq
    while anchor > 0:
        prior = records(anchor - 1)
        if prior is None or prior.get("status") == "completed" or prior.get("position") != action_name:
            break
        anchor -= 1  # a failed attempt of this same step: we are its retry
    return str(anchor)


def invocation_key(context: ApplicationContext, action_name: str) -> str:
    """Identifies one invocation of a map step, stable across its retries and crash-resumes."""
    seq = context.sequence_id if context.sequence_id is not None else -1
    loader = _loader_of(context)
    if loader is None or seq < 0 or (callable(getattr(loader, "is_async", None)) and loader.is_async()):
        anchor = str(seq)
    else:
        anchor = _anchor_from(
            lambda s: _safe_load(loader, context.partition_key, context.app_id, s), seq, action_name
        )
    return f"{context.app_id}|{context.partition_key or ''}|{anchor}"


async def ainvocation_key(context: ApplicationContext, action_name: str) -> str:
    """``invocation_key`` for async parents (the loader may be async)."""
    seq = context.sequence_id if context.sequence_id is not None else -1
    loader = _loader_of(context)
    if loader is None or seq < 0:
        return f"{context.app_id}|{context.partition_key or ''}|{seq}"
    if not (callable(getattr(loader, "is_async", None)) and loader.is_async()):
        return invocation_key(context, action_name)
    records: dict[int, Any] = {}

    async def fetch(s: int) -> None:
        records[s] = await _asafe_load(loader, context.partition_key, context.app_id, s)

    # Walk back the same way the sync version does, fetching each record before deciding.
    await fetch(seq)
    s = seq
    while records.get(s) is None and s > 0:
        await fetch(s - 1)
        prior = records[s - 1]
        if prior is None or prior.get("status") == "completed" or prior.get("position") != action_name:
            break
        s -= 1
    anchor = _anchor_from(lambda k: records.get(k), seq, action_name)
    return f"{context.app_id}|{context.partition_key or ''}|{anchor}"


def child_app_id(invocation: str, child_key: str) -> str:
    return _stable_app_id_hash(invocation, child_key)


def finished_state(record: Any, halt_after: list[str]) -> State[Any] | None:
    """The state of a child that already completed this invocation (so it must not run again)."""
    if record is None or record.get("status") != "completed" or record.get("position") not in halt_after:
        return None
    return record["state"]


def as_async_adapters(persister: Any, initializer: Any) -> tuple[Any, Any]:
    """Async stand-ins for sync persisters, so an async branch can be built with ``abuild()``."""
    wrapped: dict[int, Any] = {}

    def wrap(obj: Any) -> Any:
        if obj is None or obj.is_async() or not callable(getattr(obj, "save", getattr(obj, "load", None))):
            return obj
        if id(obj) not in wrapped:
            wrapped[id(obj)] = _make_async_wrapper(obj)
        return wrapped[id(obj)]

    return wrap(persister), wrap(initializer)


def _make_async_wrapper(sync: Any) -> Any:
    from burr.core.persistence import AsyncBaseStatePersister

    class _AsyncOverSync(AsyncBaseStatePersister):
        """Delegates to a sync persister (calls are short, so they run on the event loop's thread)."""

        def __init__(self) -> None:
            self.sync = sync

        async def initialize(self) -> None:
            self.sync.initialize()

        async def is_initialized(self) -> bool:
            try:
                return bool(self.sync.is_initialized())
            except NotImplementedError:
                return True

        async def load(
            self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
        ) -> Any:
            return self.sync.load(partition_key, app_id, sequence_id, **kwargs)

        async def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
            return self.sync.list_app_ids(partition_key, **kwargs)  # type: ignore[no-any-return]

        async def save(
            self,
            partition_key: str | None,
            app_id: str,
            sequence_id: int,
            position: str,
            state: State[Any],
            status: Any,
            **kwargs: Any,
        ) -> None:
            self.sync.save(partition_key, app_id, sequence_id, position, state, status, **kwargs)

    return _AsyncOverSync()


def _user_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if not k.startswith("__")}


def _without_internal(state: State[Any]) -> State[Any]:
    internal = [k for k in state if k.startswith("__")]
    return state.wipe(delete=internal) if internal else state


def _absent(behavior: Any, parent_adapter: Any) -> bool:
    return behavior is None or (isinstance(behavior, str) and behavior == CASCADE and parent_adapter is None)


class _Invocation:
    """What all branches of one map-step invocation share, computed once instead of per branch."""

    __slots__ = ("behaviors", "inputs", "bare", "pointer", "factory")

    def __init__(
        self, behaviors: tuple[Any, Any, Any], inputs: dict[str, Any], context: ApplicationContext
    ) -> None:
        from burr.common.types import ParentPointer

        self.behaviors = behaviors
        self.inputs = _user_inputs(inputs)
        # No tracker, persister or initializer reaches the children: they can take the direct path.
        self.bare = (
            _absent(behaviors[0], context.tracker)
            and _absent(behaviors[1], context.state_persister)
            and _absent(behaviors[2], context.state_initializer)
        )
        self.pointer = ParentPointer(
            app_id=context.app_id, partition_key=context.partition_key, sequence_id=context.sequence_id
        )
        factory = context.parallel_executor_factory
        self.factory = None if is_default_factory(factory) else factory


_APPLICATION: Any = None


def _application_class() -> Any:
    global _APPLICATION
    if _APPLICATION is None:
        from burr.core.application import Application

        _APPLICATION = Application
    return _APPLICATION


def _call_behavior(method: Callable[..., Any], context: ApplicationContext) -> Any:
    # Documented as taking no arguments; an override that takes one gets the parent's context.
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return method()
    positional = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return method(context) if positional else method()
