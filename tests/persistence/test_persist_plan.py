"""The sans-IO plan drivers that run every persister operation for sync and async clients."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from burr.integrations.persisters._plan import Plan, Scoped, call, run_async, run_sync, single


def _double(x: int) -> int:
    return 2 * x


async def _adouble(x: int) -> int:
    return 2 * x


def _fail() -> None:
    raise KeyError("boom")


async def _afail() -> None:
    raise KeyError("boom")


def _sum_plan(double: Any) -> Plan[int]:
    a = yield call(double, 1)
    b = yield call(double, x=a)
    return a + b  # type: ignore[no-any-return]


def _catching_plan(fail: Any) -> Plan[str]:
    try:
        yield call(fail)
    except KeyError as e:
        return f"caught {e}"
    return "not raised"


def test_sync_and_async_drivers_return_the_same_plan_result() -> None:
    import asyncio

    assert run_sync(_sum_plan(_double)) == 6
    assert asyncio.run(run_async(_sum_plan(_adouble))) == 6


def test_a_failing_call_is_thrown_into_the_plan_at_its_yield() -> None:
    assert run_sync(_catching_plan(_fail)) == "caught 'boom'"


async def test_a_failing_awaited_call_is_thrown_into_the_plan_at_its_yield() -> None:
    assert await run_async(_catching_plan(_afail)) == "caught 'boom'"


def test_scoped_sub_plan_runs_inside_the_scope_and_returns_its_value() -> None:
    events: list[str] = []

    @contextlib.contextmanager
    def scope(name: str) -> Iterator[None]:
        events.append(f"enter {name}")
        yield
        events.append(f"exit {name}")

    def plan() -> Plan[int]:
        n = yield Scoped(scope, ("tx",), single(call(_double, 5)))
        events.append(f"got {n}")
        return n  # type: ignore[no-any-return]

    assert run_sync(plan()) == 10
    assert events == ["enter tx", "exit tx", "got 10"]


async def test_scope_sees_the_error_before_the_plan_handles_it() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def scope() -> AsyncIterator[None]:
        try:
            yield
        except KeyError:
            events.append("rolled back")
            raise

    def plan() -> Plan[None]:
        try:
            yield Scoped(scope, (), single(call(_afail)))
        except KeyError:
            events.append("handled")

    await run_async(plan())
    assert events == ["rolled back", "handled"]


def test_unhandled_error_propagates_out_of_the_driver() -> None:
    def plan() -> Plan[None]:
        yield call(_fail)

    with pytest.raises(KeyError, match="boom"):
        run_sync(plan())
