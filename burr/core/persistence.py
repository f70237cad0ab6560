"""Saving and loading application state: the persister interfaces and the built-in persisters.

A *loader* gives ``ApplicationBuilder.initialize_from`` the state to start from; a *saver* is
called by ``PersisterHook`` after every step (or at halts, or in the background: see ``on_every``
in ``ApplicationBuilder.with_state_persister``). A persister is both. A persister you write against
these interfaces works unchanged with every cadence.

Backends: ``SQLitePersister`` (here), and in ``burr.integrations.persisters``: async SQLite,
PostgreSQL, MySQL/MariaDB and Redis. Our durable persisters store *delta checkpoints* (what each
step changed plus periodic snapshots), refuse concurrent writers with ``StateConflictError``, and
read tables written by Apache Burr. See docs/persistence.md.
"""

from __future__ import annotations

import abc
import datetime
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from burr.core._halt_buffer import HaltBuffer
from burr.core.state import State
from burr.lifecycle.base import (
    PostApplicationExecuteCallHook,
    PostApplicationExecuteCallHookAsync,
    PostRunStepHook,
    PostRunStepHookAsync,
)

if TYPE_CHECKING:
    from burr.core.action import Action
    from burr.lifecycle.base import ExecuteMethod


class PersistedStateData(TypedDict):
    """One saved step, as loaders return it."""

    partition_key: str
    app_id: str
    sequence_id: int
    position: str
    state: State
    created_at: str
    status: Literal["completed", "failed"]


class StateConflictError(RuntimeError):
    """Another writer advanced this application since we loaded or last saved it.

    Raised by ``save`` (the step's work is not stored). Reload the application with
    ``initialize_from`` to continue from the newer step, or fork it to keep both histories.
    """

    def __init__(
        self,
        message: str,
        *,
        partition_key: str | None = None,
        app_id: str | None = None,
        sequence_id: int | None = None,
        stored_sequence_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.partition_key = partition_key
        self.app_id = app_id
        self.sequence_id = sequence_id
        self.stored_sequence_id = stored_sequence_id


class StorageUnavailableError(ConnectionError):
    """The store could not be reached while saving or loading (the step was not saved).

    Persisters built from connection values reconnect on their next use; reload the application
    with ``initialize_from`` to continue from the last committed step.
    """


class PersistedDataError(ValueError):
    """A stored row cannot be read (newer format, corrupt data, a value the serde cannot read)."""


# --------------------------------------------------------------------------------------------
# Interfaces
# --------------------------------------------------------------------------------------------


class BaseStateLoader(abc.ABC):
    """Loads saved state. ``load`` with ``sequence_id=None`` returns the latest step."""

    @abc.abstractmethod
    def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        """The saved step, or None when nothing matches."""

    @abc.abstractmethod
    def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        """The application ids saved under ``partition_key``."""

    def is_async(self) -> bool:
        return False


class BaseStateSaver(abc.ABC):
    """Saves state after a step."""

    def initialize(self) -> None:
        """Create whatever storage the saver needs (tables ...). Idempotent."""

    def is_initialized(self) -> bool:
        """True when ``initialize`` has been run (on this or an earlier process)."""
        raise NotImplementedError("is_initialized not implemented for this saver")

    @abc.abstractmethod
    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        """Store the state of step ``sequence_id`` (``position`` = the action's name)."""

    def is_async(self) -> bool:
        return False


class BaseStatePersister(BaseStateLoader, BaseStateSaver, abc.ABC):
    """Both a loader and a saver."""


class AsyncBaseStateLoader(abc.ABC):
    """Async twin of ``BaseStateLoader``."""

    @abc.abstractmethod
    async def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        """The saved step, or None when nothing matches."""

    @abc.abstractmethod
    async def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        """The application ids saved under ``partition_key``."""

    def is_async(self) -> bool:
        return True


class AsyncBaseStateSaver(abc.ABC):
    """Async twin of ``BaseStateSaver``."""

    async def initialize(self) -> None:
        """Create whatever storage the saver needs. Idempotent."""

    async def is_initialized(self) -> bool:
        raise NotImplementedError("is_initialized not implemented for this saver")

    @abc.abstractmethod
    async def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        """Store the state of step ``sequence_id``."""

    def is_async(self) -> bool:
        return True


class AsyncBaseStatePersister(AsyncBaseStateLoader, AsyncBaseStateSaver, abc.ABC):
    """Both an async loader and an async saver."""


# --------------------------------------------------------------------------------------------
# Simple persisters
# --------------------------------------------------------------------------------------------


class DevNullPersister(BaseStatePersister):
    """Stores nothing; loads nothing."""

    def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        return None

    def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        return []

    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        return None


class AsyncDevNullPersister(AsyncBaseStatePersister):
    """Async persister that stores nothing."""

    async def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        return None

    async def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        return []

    async def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        return None


class _MemoryStore:
    """The storage of ``InMemoryPersister`` and its async twin: partition -> app -> saved steps."""

    def __init__(self) -> None:
        self._storage: dict[str | None, dict[str, list[PersistedStateData]]] = {}

    def _load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None
    ) -> PersistedStateData | None:
        if app_id is None:
            return None
        records = self._storage.get(partition_key, {}).get(app_id, [])
        if not records:
            return None
        if sequence_id is None:
            return records[-1]
        for record in reversed(records):
            if record["sequence_id"] == sequence_id:
                return record
        return None

    def _app_ids(self, partition_key: str | None) -> list[str]:
        return list(self._storage.get(partition_key, {}))

    def _save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
    ) -> None:
        # No compare-and-set here: Apache Burr lets in-memory histories repeat sequence ids.
        records = self._storage.setdefault(partition_key, {}).setdefault(app_id, [])
        records.append(
            PersistedStateData(
                partition_key=partition_key or "",
                app_id=app_id,
                sequence_id=sequence_id,
                position=position,
                state=state,
                created_at=datetime.datetime.now().isoformat(),
                status=status,
            )
        )


class InMemoryPersister(_MemoryStore, BaseStatePersister):
    """Keeps every saved step in a dict (the State objects themselves). For tests and notebooks."""

    def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        return self._load(partition_key, app_id, sequence_id)

    def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        return self._app_ids(partition_key)

    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        self._save(partition_key, app_id, sequence_id, position, state, status)


class AsyncInMemoryPersister(_MemoryStore, AsyncBaseStatePersister):
    """Async twin of ``InMemoryPersister``."""

    async def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        return self._load(partition_key, app_id, sequence_id)

    async def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        return self._app_ids(partition_key)

    async def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State,
        status: Literal["completed", "failed"],
        **kwargs: Any,
    ) -> None:
        self._save(partition_key, app_id, sequence_id, position, state, status)


# --------------------------------------------------------------------------------------------
# The hooks that call savers (the builder adds one per with_state_persister)
# --------------------------------------------------------------------------------------------

ON_EVERY_VALUES = ("step", "halt", "write_behind")


def _check_on_every(on_every: str) -> str:
    if on_every not in ON_EVERY_VALUES:
        raise ValueError(
            f"on_every {on_every!r} not supported by with_state_persister. Use one of {list(ON_EVERY_VALUES)}: "
            "'step' saves after every step, 'halt' saves the last step when run/step/iterate/stream "
            "returns, 'write_behind' saves every step from a background thread (see docs/persistence.md)."
        )
    return on_every


class _Cadence:
    """What ``PersisterHook`` and its async twin share: routing each step by ``on_every``.

    The decisions are made here; each method returns the call to make (an awaitable for an async
    persister), so the hooks only make or await it.
    """

    def __init__(self, persister: Any, on_every: str, writer: str) -> None:
        self.persister = persister
        self.on_every = _check_on_every(on_every)
        self._held = HaltBuffer()
        self._writer: Any = None
        if self.on_every == "write_behind":
            from burr.core import _write_behind

            self._writer = getattr(_write_behind, writer)(persister)

    def _on_step(
        self,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State,
        action: Action,
        exception: Exception | None,
    ) -> Any:
        """Save now (``"step"``), hold (``"halt"``, returns None) or hand to the writer."""
        args = (
            partition_key,
            app_id,
            sequence_id,
            action.name,
            state,
            "completed" if exception is None else "failed",
        )
        if self.on_every == "step":
            return self.persister.save(*args)
        if self.on_every == "halt":
            return self._held.add(args)
        return self._writer.submit(args)

    def _pending(self) -> list[Callable[[], Any]]:
        """The calls that save whatever the cadence has held back, in order."""
        if self.on_every == "halt":
            return [functools.partial(self.persister.save, *args) for args in self._held.take()]
        return [] if self._writer is None else [self._writer.flush]


class PersisterHook(_Cadence, PostRunStepHook, PostApplicationExecuteCallHook):
    """Calls ``persister.save`` as steps complete.

    ``on_every``: ``"step"`` saves after each step (Apache Burr's behaviour); ``"halt"`` keeps only
    the latest step and saves it when the application call (run/step/iterate/stream_result)
    returns; ``"write_behind"`` hands every step to a background thread and waits for it when the
    call returns (and at interpreter exit).
    """

    def __init__(self, persister: BaseStateSaver, on_every: str = "step") -> None:
        super().__init__(persister, on_every, "WriteBehind")

    def post_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State,
        action: Action,
        exception: Exception | None = None,
        **future_kwargs: Any,
    ) -> None:
        self._on_step(app_id, partition_key, sequence_id, state, action, exception)

    def post_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: State,
        method: ExecuteMethod,
        exception: Exception | None = None,
        **future_kwargs: Any,
    ) -> None:
        self.flush()

    def flush(self) -> None:
        """Save whatever the cadence has held back (a no-op for ``"step"``)."""
        for pending in self._pending():
            pending()


class PersisterHookAsync(_Cadence, PostRunStepHookAsync, PostApplicationExecuteCallHookAsync):
    """Async twin of ``PersisterHook`` (``"write_behind"`` saves from a background task)."""

    def __init__(self, persister: AsyncBaseStateSaver, on_every: str = "step") -> None:
        super().__init__(persister, on_every, "AsyncWriteBehind")

    async def post_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State,
        action: Action,
        exception: Exception | None = None,
        **future_kwargs: Any,
    ) -> None:
        pending = self._on_step(app_id, partition_key, sequence_id, state, action, exception)
        if pending is not None:
            await pending

    async def post_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: State,
        method: ExecuteMethod,
        exception: Exception | None = None,
        **future_kwargs: Any,
    ) -> None:
        await self.flush()

    async def flush(self) -> None:
        """Save whatever the cadence has held back."""
        for pending in self._pending():
            await pending()


from burr.core._persist_sqlite import SQLitePersister  # noqa: E402  (needs the interfaces above)
from burr.core._sql import StepInfo  # noqa: E402

SQLLitePersister = SQLitePersister

__all__ = [
    "PersistedStateData",
    "StateConflictError",
    "PersistedDataError",
    "StorageUnavailableError",
    "BaseStateLoader",
    "BaseStateSaver",
    "BaseStatePersister",
    "AsyncBaseStateLoader",
    "AsyncBaseStateSaver",
    "AsyncBaseStatePersister",
    "DevNullPersister",
    "AsyncDevNullPersister",
    "InMemoryPersister",
    "AsyncInMemoryPersister",
    "PersisterHook",
    "PersisterHookAsync",
    "SQLitePersister",
    "SQLLitePersister",
    "StepInfo",
]
