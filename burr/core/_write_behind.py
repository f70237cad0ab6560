"""The ``on_every="write_behind"`` cadence: saves run on a background worker, in step order.

Crash semantics: steps still queued when the process dies are lost (the store keeps the last
step the worker committed, which always loads intact); ``flush`` (called when each application
call returns, and at interpreter exit) waits for the queue to drain. A failed background save is
re-raised by the next ``submit``/``flush`` and later queued saves are dropped, since they would
extend a history that is not in the store.
"""

from __future__ import annotations

import asyncio
import atexit
import queue
import threading
import weakref
from typing import Any

MAX_PENDING = 1024  # bounded so a slow store applies back-pressure instead of growing memory
IDLE_S = 2.0  # an idle worker thread exits (one app per request must not leave a thread each)

_WRITERS: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for writer in list(_WRITERS):
        try:
            writer.flush()
        except Exception:  # nothing left to report it to at exit
            pass


class _Failure:
    """A background save failure, re-raised once (by the next submit or flush) in the caller."""

    _error: BaseException | None

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(
                f"A background (write_behind) save failed: {error!r}. Steps after it were not saved; "
                "reload the application with initialize_from to continue from the last stored step."
            ) from error


class WriteBehind(_Failure):
    """A thread that saves queued steps; uses ``persister.save_many`` to batch when available."""

    def __init__(self, persister: Any, max_pending: int = MAX_PENDING) -> None:
        self.persister = persister
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._error: BaseException | None = None
        _WRITERS.add(self)

    def submit(self, args: tuple[Any, ...]) -> None:
        self._raise_error()
        self._queue.put(args)
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="burr-write-behind", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Block until every submitted step is saved; re-raise a background failure."""
        self._queue.join()
        self._raise_error()

    def _run(self) -> None:
        save_many = getattr(self.persister, "save_many", None)
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_S)]
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():  # a submit after this sees no thread and starts one
                        self._thread = None
                        return
                continue
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                if self._error is None:
                    if save_many is not None and len(batch) > 1:
                        save_many(batch)
                    else:
                        for args in batch:
                            self.persister.save(*args)
            except BaseException as e:
                self._error = e
            finally:
                for _ in batch:
                    self._queue.task_done()


class AsyncWriteBehind(_Failure):
    """The asyncio twin: a task on the running loop saves queued steps in order."""

    def __init__(self, persister: Any, max_pending: int = MAX_PENDING) -> None:
        self.persister = persister
        self.max_pending = max_pending
        self._queue: asyncio.Queue[tuple[Any, ...]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def submit(self, args: tuple[Any, ...]) -> None:
        self._raise_error()
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._queue = asyncio.Queue(maxsize=self.max_pending)
            self._task = loop.create_task(self._run(self._queue))
        assert self._queue is not None
        await self._queue.put(args)

    async def flush(self) -> None:
        if self._queue is not None:
            await self._queue.join()
        self._raise_error()

    async def _run(self, q: asyncio.Queue[tuple[Any, ...]]) -> None:
        while True:
            args = await q.get()
            try:
                if self._error is None:
                    await self.persister.save(*args)
            except Exception as e:
                self._error = e
            finally:
                q.task_done()
