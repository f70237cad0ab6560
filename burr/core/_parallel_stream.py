"""Streaming map steps: every branch's intermediate results, tagged with the branch, as they arrive.

Use ``StreamingMapStates`` (or ``StreamingMapActions`` / ``StreamingMapActionsAndStates``) exactly
like its non-streaming twin and run it with ``stream_result``. Each streamed item is a dict:

- ``{"branch": "0-2", "app_id": <child app id>, "action": <child action>, "item": <its item>, "done": False}``
  for every intermediate item a streaming action inside a branch yields;
- ``{"branch": "0-2", "app_id": ..., "action": None, "item": None, "done": True, "error": None|str,
  "resumed": bool}`` when a branch finishes (``resumed``: it had finished before and was skipped).

Run with ``step``/``run`` it behaves like the non-streaming class. Intermediate items need threads
or asyncio; with another executor (Ray) only the ``done`` items are streamed.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncGenerator, AsyncIterable, Generator
from typing import TYPE_CHECKING, Any, Optional

from burr.core._parallel_exec import (
    BranchOutcome,
    is_default_factory,
    run_async,
    run_executor,
    run_threads_default,
)
from burr.core.parallelism import (
    MapActions,
    MapActionsAndStates,
    MapStates,
    SubGraphTask,
    TaskBasedParallelAction,
    _key_of,
    _reduce_async,
    _run_task_remote,
    _start_executor,
    _without_internal,
)

if TYPE_CHECKING:
    from burr.core.application import ApplicationContext
    from burr.core.state import State

_END = object()
StreamPair = tuple[dict[str, Any], Optional["State[Any]"]]


def _item(task: SubGraphTask, index: int, action: str | None, item: Any) -> dict[str, Any]:
    return {
        "branch": _key_of(task, index),
        "app_id": task.application_id,
        "action": action,
        "item": item,
        "done": False,
    }


def _done(task: SubGraphTask, out: BranchOutcome, resumed: bool) -> dict[str, Any]:
    error = None if out.error is None else f"{type(out.error).__name__}: {out.error}"
    return {
        "branch": _key_of(task, out.index),
        "app_id": task.application_id,
        "action": None,
        "item": None,
        "done": True,
        "error": error,
        "resumed": resumed,
    }


class _BranchStreaming(TaskBasedParallelAction):
    @property
    def streaming(self) -> bool:
        return True

    def stream_run_and_update(self, state: State[Any], **run_kwargs: Any) -> Any:
        """Yield ``(branch_item, None)`` as branches produce them, then ``(result, reduced_state)``."""
        context = self._context(run_kwargs)
        user_state = _without_internal(state)
        if self.is_async():
            return self._astream(user_state, context, run_kwargs)
        return self._stream(user_state, context, run_kwargs)

    def _stream(
        self, state: State[Any], context: ApplicationContext, run_kwargs: dict[str, Any]
    ) -> Generator[StreamPair, None, None]:
        tasks = self.tasks(state, context, run_kwargs)
        if isinstance(tasks, AsyncIterable):
            raise ValueError(
                f"Action '{self.name}' produced its branches asynchronously: override is_async() to "
                "return True and run the application with astream_result."
            )
        task_list = list(tasks)
        max_concurrency, fail_fast = self._policy()
        events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        resumed: set[int] = set()
        stop = threading.Event()

        def on_done(out: BranchOutcome) -> None:
            events.put(_done(task_list[out.index], out, out.index in resumed))

        factory = context.parallel_executor_factory
        result: dict[str, Any] = {}

        def drive() -> None:
            try:
                if is_default_factory(factory):

                    def call(i: int) -> State[Any]:
                        def emit(action: str, item: Any) -> None:
                            if action == "__resumed__":
                                resumed.add(i)
                            else:
                                events.put(_item(task_list[i], i, action, item))

                        return task_list[i]._run(context, emit)

                    result["outcomes"] = run_threads_default(
                        list(range(len(task_list))),
                        call,
                        max_concurrency=max_concurrency,
                        fail_fast=fail_fast,
                        on_done=on_done,
                        stop=stop,
                    )
                else:
                    with _start_executor(self, factory) as executor:
                        result["outcomes"] = run_executor(
                            task_list,
                            _run_task_remote,
                            executor,
                            max_concurrency=max_concurrency,
                            fail_fast=fail_fast,
                            args=(context,),
                            on_done=on_done,
                            stop=stop,
                        )
            except BaseException as e:  # noqa: BLE001 -- handed to the consumer below
                result["error"] = e
            finally:
                events.put(_END)

        driver = threading.Thread(target=drive, name=f"burr-stream-{self.name}", daemon=True)
        driver.start()
        try:
            while True:
                event = events.get()
                if event is _END:
                    break
                yield event, None
        finally:
            stop.set()  # abandoned or failed: start no new branches
        driver.join()
        if "error" in result:
            raise result["error"]
        states, failed = self._settle(task_list, result["outcomes"], fail_fast)
        yield self._finish(state, self.reduce(state, (s for s in states)), failed)

    async def _astream(
        self, state: State[Any], context: ApplicationContext, run_kwargs: dict[str, Any]
    ) -> AsyncGenerator[StreamPair, None]:
        max_concurrency, fail_fast = self._policy()
        tasks = self.tasks(state, context, run_kwargs)
        if isinstance(tasks, AsyncIterable):
            task_list = [t async for t in tasks]
        else:
            task_list = list(tasks)
        events: asyncio.Queue[Any] = asyncio.Queue()
        resumed: set[int] = set()

        def on_done(out: BranchOutcome) -> None:
            events.put_nowait(_done(task_list[out.index], out, out.index in resumed))

        async def call(i: int) -> State[Any]:
            def emit(action: str, item: Any) -> None:
                if action == "__resumed__":
                    resumed.add(i)
                else:
                    events.put_nowait(_item(task_list[i], i, action, item))

            return await task_list[i]._arun(context, emit)

        runner = asyncio.ensure_future(
            run_async(
                list(range(len(task_list))),
                call,
                max_concurrency=max_concurrency,
                fail_fast=fail_fast,
                on_done=on_done,
            )
        )
        runner.add_done_callback(lambda _: events.put_nowait(_END))
        try:
            while True:
                event = await events.get()
                if event is _END:
                    break
                yield event, None
        finally:
            if not runner.done():
                runner.cancel()
        _, outcomes = runner.result()
        states, failed = self._settle(task_list, outcomes, fail_fast)
        yield self._finish(state, await _reduce_async(self, state, states), failed)


class StreamingMapActionsAndStates(_BranchStreaming, MapActionsAndStates):
    """``MapActionsAndStates`` that streams its branches' items under ``stream_result``."""


class StreamingMapActions(_BranchStreaming, MapActions):
    """``MapActions`` that streams its branches' items under ``stream_result``."""


class StreamingMapStates(_BranchStreaming, MapStates):
    """``MapStates`` that streams its branches' items under ``stream_result``."""
