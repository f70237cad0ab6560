"""What ``stream_result`` returns: an iterable of intermediate results with a final ``get()``.

Re-exported from ``burr.core.action``. The container pulls ``(result, state_or_None)`` pairs from a
generator; ``None`` marks an intermediate item, a State the final one. The callback fires exactly
once over the container's life, with the exception that ended the iteration (``GeneratorExit``
when the caller abandoned it, ``None`` when it completed).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, TypeVar

if TYPE_CHECKING:
    from burr.core.state import State

StreamResultType = TypeVar("StreamResultType")
StateType = TypeVar("StateType")

StreamPair = tuple[Any, Optional["State[Any]"]]
FinalPair = tuple[Any | None, "State[Any]"]


class _Container:
    """What both containers hold; the per-item code stays in each (a shared call per item costs)."""

    def __init__(
        self,
        streaming_result_generator: Any,  # a generator (sync container) or an async generator
        initial_state: State[Any],
        process_result: Callable[[Any, State[Any]], FinalPair],
        callback: Callable[[Any | None, State[Any], BaseException | None], Any],  # awaited by the async one
    ) -> None:
        self.streaming_result_generator = streaming_result_generator
        self._initial_state = initial_state
        self._process_result = process_result
        self._callback = callback
        self._result: FinalPair | None = None
        self._callback_realized = False

    def _settle(self) -> FinalPair | None:
        """At the end of iteration: fix the final pair; return it if the callback is still due."""
        if self._result is None:  # abandoned or failed: the state the stream started from
            self._result = (None, self._initial_state)
        if self._callback_realized:
            return None
        self._callback_realized = True
        return self._result


class StreamingResultContainer(_Container, Generic[StateType, StreamResultType]):
    """Iterate for intermediate results; ``get()`` drives the stream to the end and returns ``(result, state)``."""

    @staticmethod
    def pass_through(results: Any, final_state: State[Any]) -> StreamingResultContainer[Any, Any]:
        """An already-finished stream: nothing to iterate, ``get()`` returns ``(results, final_state)``."""

        def empty() -> Generator[StreamPair, None, None]:
            yield results, final_state

        return StreamingResultContainer(empty(), final_state, lambda r, s: (r, s), lambda r, s, e: None)

    def __next__(self) -> Any:
        if self._result is not None:
            raise StopIteration
        result, state = next(self.streaming_result_generator)
        if state is None:
            return result
        self._result = self._process_result(result, state)
        raise StopIteration

    def __iter__(self) -> Generator[Any, None, None]:
        def drive() -> Generator[Any, None, None]:
            exc: BaseException | None = None
            try:
                while True:
                    try:
                        item = self.__next__()
                    except StopIteration:
                        break
                    yield item
            except BaseException as e:
                exc = e
                raise
            finally:
                if (final := self._settle()) is not None:
                    self._callback(final[0], final[1], exc)

        return drive()

    def get(self) -> FinalPair:
        """Run the stream to its end (if not yet) and return ``(final_result, final_state)``; idempotent."""
        for _ in self:
            pass
        assert self._result is not None
        return self._result


class AsyncStreamingResultContainer(_Container, Generic[StateType, StreamResultType]):
    """The async twin of ``StreamingResultContainer``: ``async for`` items, ``await get()``."""

    @staticmethod
    def pass_through(results: Any, final_state: State[Any]) -> AsyncStreamingResultContainer[Any, Any]:
        """An already-finished stream: nothing to iterate, ``await get()`` returns ``(results, final_state)``."""

        async def empty() -> AsyncGenerator[StreamPair, None]:
            yield results, final_state

        async def noop(r: Any, s: State[Any], e: BaseException | None) -> None:
            return None

        return AsyncStreamingResultContainer(empty(), final_state, lambda r, s: (r, s), noop)

    async def __anext__(self) -> Any:
        if self._result is not None:
            raise StopAsyncIteration
        result, state = await self.streaming_result_generator.__anext__()
        if state is None:
            return result
        self._result = self._process_result(result, state)
        raise StopAsyncIteration

    def __aiter__(self) -> AsyncGenerator[Any, None]:
        async def drive() -> AsyncGenerator[Any, None]:
            exc: BaseException | None = None
            try:
                while True:
                    try:
                        item = await self.__anext__()
                    except StopAsyncIteration:
                        break
                    yield item
            except BaseException as e:
                exc = e
                raise
            finally:
                if (final := self._settle()) is not None:
                    await self._callback(final[0], final[1], exc)

        return drive()

    async def get(self) -> FinalPair:
        """Run the stream to its end (if not yet) and return ``(final_result, final_state)``; idempotent."""
        async for _ in self:
            pass
        assert self._result is not None
        return self._result
