"""Backends for the persistence tests: real SQLite files, PostgreSQL, MariaDB and Redis.

A test needing a server skips (with the reason) when it is unreachable, except under CI=true,
where it fails. Every test gets its own table / key namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from persist_helpers import (
    ASYNC_BACKENDS,
    SYNC_BACKENDS,
    AsyncBackend,
    SyncBackend,
    chat_states,
    require_service,
)

__all__ = ["require_service", "chat_states"]


@pytest.fixture(params=SYNC_BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[SyncBackend]:
    b = SyncBackend(request.param, tmp_path)
    yield b
    b.close()


@pytest.fixture
def persister(backend: SyncBackend) -> Any:
    return backend.make()


@pytest.fixture(params=ASYNC_BACKENDS)
async def abackend(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    b = AsyncBackend(request.param, tmp_path)
    yield b
    await b.close()
