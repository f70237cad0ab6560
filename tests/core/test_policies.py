"""The policy objects themselves: validation, backoff, what is retried, error records, attaching."""

from __future__ import annotations

import asyncio

import pytest

from burr.core import State, action
from burr.core.policies import (
    ERROR_KEY,
    ActionTimeoutError,
    Interrupt,
    RetryPolicy,
    TimeoutPolicy,
    error_record,
    on_exception,
    policies_of,
    resolve,
    retry,
    timeout,
)


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": -1}, "max_attempts"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"initial_delay": -1}, "initial_delay"),
        ({"max_delay": -0.1}, "max_delay"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"jitter": 1.5}, "jitter"),
        ({"retry_on": ()}, "retry_on"),
        ({"retry_on": "ValueError"}, "retry_on"),
    ],
)
def test_retry_policy_rejects_nonsense_values(kwargs: dict, phrase: str) -> None:
    with pytest.raises(ValueError, match=phrase):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"seconds": 0}, {"seconds": -1}, {"idle": 0}, {"seconds": "5"}])
def test_timeout_policy_rejects_nonsense_values(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="TimeoutPolicy"):
        TimeoutPolicy(**kwargs)


def test_retry_delay_grows_exponentially_and_is_capped_without_jitter() -> None:
    policy = RetryPolicy(initial_delay=1, multiplier=2, max_delay=5, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


def test_retry_jitter_scales_delay_down_by_at_most_the_jitter_fraction() -> None:
    policy = RetryPolicy(initial_delay=2, jitter=0.5)
    assert policy.delay(1, rand=lambda: 0.0) == 2
    assert policy.delay(1, rand=lambda: 1.0) == 1


@pytest.mark.parametrize(
    "exc", [KeyboardInterrupt(), SystemExit(1), GeneratorExit(), asyncio.CancelledError()]
)
def test_retry_never_retries_interpreter_exits_even_if_asked(exc: BaseException) -> None:
    assert not RetryPolicy(retry_on=BaseException).should_retry(exc)


def test_retry_never_retries_an_interrupt() -> None:
    assert not RetryPolicy().should_retry(Interrupt("approve?"))


def test_retry_on_types_and_predicate() -> None:
    assert RetryPolicy(retry_on=(TimeoutError,)).should_retry(ActionTimeoutError("a", 1, "total"))
    assert not RetryPolicy(retry_on=TimeoutError).should_retry(ValueError())
    assert RetryPolicy(retry_on=lambda e: "429" in str(e)).should_retry(RuntimeError("HTTP 429"))
    assert not RetryPolicy(retry_on=lambda e: "429" in str(e)).should_retry(RuntimeError("HTTP 500"))


def test_error_record_is_plain_data_naming_type_bases_and_step() -> None:
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError as e:
        record = error_record(e, "call_llm", 7, attempts=3)
    assert record["type"] == "ConnectionResetError"
    assert "OSError" in record["types"] and "Exception" in record["types"]
    assert record["message"] == "peer went away"
    assert "peer went away" in record["traceback"]
    assert (record["action"], record["sequence_id"], record["attempts"]) == ("call_llm", 7, 3)
    assert State({ERROR_KEY: record}).serialize()[ERROR_KEY] == record


def test_on_exception_matches_subclasses_by_recorded_type_names() -> None:
    record = error_record(ConnectionResetError("x"), "a", 0)
    assert on_exception(OSError).matches(record)
    assert on_exception().matches(record)
    assert not on_exception(ValueError).matches(record)


def test_on_exception_holds_only_for_the_step_that_failed() -> None:
    record = error_record(ValueError("x"), "a", 3)
    cond = on_exception(ValueError)
    assert cond._evaluate(State({ERROR_KEY: record, "__SEQUENCE_ID": 3, "__PRIOR_STEP": "a"}))
    assert not cond._evaluate(State({ERROR_KEY: record, "__SEQUENCE_ID": 4, "__PRIOR_STEP": "b"}))
    assert not cond._evaluate(State({"__SEQUENCE_ID": 3, "__PRIOR_STEP": "a"}))


def test_on_exception_rejects_non_exception_types_and_combinators() -> None:
    with pytest.raises(ValueError, match="subclass Exception"):
        on_exception(KeyboardInterrupt)
    with pytest.raises(ValueError, match="cannot be combined"):
        ~on_exception(ValueError)


def test_decorators_attach_policies_above_or_below_action() -> None:
    @retry(max_attempts=4, initial_delay=0)
    @action(reads=[], writes=[])
    def above(state: State) -> State:
        return state

    @action(reads=[], writes=[])
    @timeout(5)
    def below(state: State) -> State:
        return state

    assert policies_of(above.action_function)["retry"] == RetryPolicy(4, initial_delay=0)
    assert policies_of(below.action_function)["timeout"] == TimeoutPolicy(5)


def test_builder_policies_override_decorator_ones_which_override_defaults() -> None:
    @retry(max_attempts=4)
    @action(reads=[], writes=[])
    def fn(state: State) -> State:
        return state

    act = fn.action_function.with_name("fn")
    resolved = resolve(act, {"retry": RetryPolicy(2), "timeout": TimeoutPolicy(9)}, {})
    assert resolved is not None and resolved.retry == RetryPolicy(4) and resolved.timeout == TimeoutPolicy(9)
    resolved = resolve(act, {}, {"fn": {"retry": RetryPolicy(6)}})
    assert resolved is not None and resolved.retry == RetryPolicy(6)


def test_interrupt_rejects_reserved_answer_input() -> None:
    with pytest.raises(ValueError, match="answer_input"):
        Interrupt("x", answer_input="__context")
