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


class InMemoryPersister(BaseStatePersister):
    """Keeps every saved step in a dict (the State objects themselves). For tests and notebooks."""

    def __init__(self) -> None:
        self._storage: dict[str | None, dict[str, list[PersistedStateData]]] = {}

    def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        return _memory_load(self._storage, partition_key, app_id, sequence_id)

    def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        return list(self._storage.get(partition_key, {}))

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
        _memory_save(self._storage, partition_key, app_id, sequence_id, position, state, status)


class AsyncInMemoryPersister(AsyncBaseStatePersister):
    """Async twin of ``InMemoryPersister``."""

    def __init__(self) -> None:
        self._storage: dict[str | None, dict[str, list[PersistedStateData]]] = {}

    async def load(
        self, partition_key: str, app_id: str | None, sequence_id: int | None = None, **kwargs: Any
    ) -> PersistedStateData | None:
        return _memory_load(self._storage, partition_key, app_id, sequence_id)

    async def list_app_ids(self, partition_key: str, **kwargs: Any) -> list[str]:
        return list(self._storage.get(partition_key, {}))

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
        _memory_save(self._storage, partition_key, app_id, sequence_id, position, state, status)


def _memory_load(
    storage: dict[str | None, dict[str, list[PersistedStateData]]],
    partition_key: str | None,
    app_id: str | None,
    sequence_id: int | None,
) -> PersistedStateData | None:
    if app_id is None:
        return None
    records = storage.get(partition_key, {}).get(app_id, [])
    if not records:
        return None
    if sequence_id is None:
        return records[-1]
    for record in reversed(records):
        if record["sequence_id"] == sequence_id:
            return record
    return None


def _memory_save(
    storage: dict[str | None, dict[str, list[PersistedStateData]]],
    partition_key: str | None,
    app_id: str,
    sequence_id: int,
    position: str,
    state: State,
    status: Literal["completed", "failed"],
) -> None:
    # No compare-and-set here: Apache Burr lets in-memory histories repeat sequence ids.
    records = storage.setdefault(partition_key, {}).setdefault(app_id, [])
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


def _status(exception: Exception | None) -> Literal["completed", "failed"]:
    return "completed" if exception is None else "failed"


class PersisterHook(PostRunStepHook, PostApplicationExecuteCallHook):
    """Calls ``persister.save`` as steps complete.

    ``on_every``: ``"step"`` saves after each step (Apache Burr's behaviour); ``"halt"`` keeps only
    the latest step and saves it when the application call (run/step/iterate/stream_result)
    returns; ``"write_behind"`` hands every step to a background thread and waits for it when the
    call returns (and at interpreter exit).
    """

    def __init__(self, persister: BaseStateSaver, on_every: str = "step") -> None:
        self.persister = persister
        self.on_every = _check_on_every(on_every)
        self._held = HaltBuffer()
        self._writer: Any = None
        if self.on_every == "write_behind":
            from burr.core._write_behind import WriteBehind

            self._writer = WriteBehind(persister)

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
        args = (partition_key, app_id, sequence_id, action.name, state, _status(exception))
        if self.on_every == "step":
            self.persister.save(*args)
        elif self.on_every == "halt":
            self._held.add(args)
        else:
            self._writer.submit(args)

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
        if self.on_every == "halt":
            for args in self._held.take():
                self.persister.save(*args)
        elif self._writer is not None:
            self._writer.flush()


class PersisterHookAsync(PostRunStepHookAsync, PostApplicationExecuteCallHookAsync):
    """Async twin of ``PersisterHook`` (``"write_behind"`` saves from a background task)."""

    def __init__(self, persister: AsyncBaseStateSaver, on_every: str = "step") -> None:
        self.persister = persister
        self.on_every = _check_on_every(on_every)
        self._held = HaltBuffer()
        self._writer: Any = None
        if self.on_every == "write_behind":
            from burr.core._write_behind import AsyncWriteBehind

            self._writer = AsyncWriteBehind(persister)

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
        args = (partition_key, app_id, sequence_id, action.name, state, _status(exception))
        if self.on_every == "step":
            await self.persister.save(*args)
        elif self.on_every == "halt":
            self._held.add(args)
        else:
            await self._writer.submit(args)

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
        if self.on_every == "halt":
            for args in self._held.take():
                await self.persister.save(*args)
        elif self._writer is not None:
            await self._writer.flush()


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
