"""Helpers to treat sync and async generators alike."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterable, Generator
from typing import Any, TypeVar, Union, cast

GenType = TypeVar("GenType")

SyncOrAsyncIterable = Union[AsyncIterable[GenType], list[GenType]]
SyncOrAsyncGenerator = Union[Generator[GenType, None, None], AsyncGenerator[GenType, None]]
SyncOrAsyncGeneratorOrItemOrList = Union[SyncOrAsyncGenerator[GenType], list[GenType], GenType]


async def asyncify_generator(generator: SyncOrAsyncGenerator[GenType]) -> AsyncGenerator[GenType, None]:
    """An async generator yielding what ``generator`` (sync or async) yields."""
    if inspect.isasyncgen(generator):
        async for item in cast(AsyncGenerator[GenType, None], generator):
            yield item
    else:
        for item in cast(Generator[GenType, None, None], generator):
            yield item


async def arealize(maybe_async_generator: SyncOrAsyncGeneratorOrItemOrList[GenType]) -> list[GenType]:
    """Collect a sync/async generator (or any iterable) into a list; a single item becomes ``[item]``."""
    if inspect.isasyncgen(maybe_async_generator) or isinstance(maybe_async_generator, AsyncIterable):
        return [item async for item in cast(AsyncIterable[GenType], maybe_async_generator)]
    if isinstance(maybe_async_generator, list):
        return maybe_async_generator
    if inspect.isgenerator(maybe_async_generator) or isinstance(maybe_async_generator, (tuple, set)):
        return list(cast(Any, maybe_async_generator))
    return [cast(GenType, maybe_async_generator)]
