"""The step loop's shortcuts behave exactly like the general path they replace."""

from __future__ import annotations

from typing import Any

import pytest

from burr.core import ApplicationBuilder, State, action, default, expr
from burr.core import state as state_module
from burr.core.state import _commit_ops, _unshared
from burr.lifecycle import PostRunStepHook, PreRunStepHook


def _counter_app(condition: Any, hooks: list[Any] | None = None) -> Any:
    @action(reads=["count"], writes=["count"])
    def counter(state: State) -> State:
        return state.update(count=state["count"] + 1)

    @action(reads=[], writes=[])
    def done(state: State) -> State:
        return state

    b = (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions(("counter", "counter", condition), ("counter", "done", default))
        .with_state(count=0)
        .with_entrypoint("counter")
    )
    if hooks:
        b = b.with_hooks(*hooks)
    return b.build()


def test_expr_engine_evaluator_reports_missing_keys_like_evaluate() -> None:
    condition = expr("count < 3 and missing")
    state = State({"count": 1})
    with pytest.raises(ValueError) as fast:
        condition._engine_evaluator()(state)
    with pytest.raises(ValueError) as slow:
        condition._evaluate(state)
    assert str(fast.value) == str(slow.value) and "['missing']" in str(fast.value)


def test_expr_engine_evaluator_lets_a_builtin_named_key_shadow_the_builtin() -> None:
    condition = expr("len(items) > max")
    assert condition._engine_evaluator()(State({"items": [1, 2], "max": 1})) is True
    assert condition._engine_evaluator()(State({"items": [1, 2], "max": 5})) is False


def test_expr_engine_evaluator_tolerates_keys_named_like_its_own_variables() -> None:
    condition = expr("_burr_state + _burr_missing > 2")
    assert condition._engine_evaluator()(State({"_burr_state": 1, "_burr_missing": 2})) is True


def test_expr_engine_evaluator_keeps_a_key_error_raised_by_the_expression() -> None:
    condition = expr("d['absent']")
    with pytest.raises(KeyError, match="absent"):
        condition._engine_evaluator()(State({"d": {}}))


def test_run_stops_where_the_expr_condition_turns_false() -> None:
    app = _counter_app(expr("count < 5"))
    action_, _, state = app.run(halt_after=["done"])
    assert (action_.name, state["count"], state["__SEQUENCE_ID"]) == ("done", 5, 5)


def test_a_state_the_action_keeps_is_not_reused_by_the_commit() -> None:
    kept: list[State] = []

    @action(reads=["n"], writes=["n"])
    def bump(state: State) -> State:
        out = state.update(n=state["n"] + 1)
        kept.append(out)
        return out

    app = ApplicationBuilder().with_actions(bump=bump).with_transitions(("bump", "bump")).with_state(n=0)
    app = app.with_entrypoint("bump").build()
    app.step()
    app.step()
    assert kept[0] is not app.state and kept[0]["__SEQUENCE_ID"] == 0 and "__PRIOR_STEP" not in kept[0]
    assert app.state["n"] == 2 and app.state["__PRIOR_STEP"] == "bump"


def test_states_hooks_received_are_not_reused_by_the_commit() -> None:
    seen: list[tuple[str, State, int]] = []

    class Recorder(PreRunStepHook, PostRunStepHook):
        def pre_run_step(self, *, state: State, **kwargs: Any) -> None:
            seen.append(("pre", state, state["count"]))

        def post_run_step(self, *, state: State, **kwargs: Any) -> None:
            seen.append(("post", state, state["count"]))

    app = _counter_app(expr("count < 3"), [Recorder()])
    app.run(halt_after=["done"])
    assert all(state["count"] == count for _, state, count in seen)
    assert len({id(state) for _, state, _ in seen}) == len(seen)


def test_unshared_is_false_for_a_state_referenced_twice() -> None:
    state = State({"a": 1}).update(b=2)
    assert _unshared(state) is (state_module._UNSHARED is not None)  # off where counts are unreliable
    alias = state
    assert not _unshared(state) and alias is state


def test_unshared_is_false_for_a_state_over_a_callers_dict() -> None:
    values = {"a": 1}
    state = State(values)
    assert not _unshared(state)


def test_commit_reusing_the_returned_state_records_the_same_ops_as_a_copy() -> None:
    prev = State({"n": 0})
    ops = (("set", "__PRIOR_STEP", "a"), ("set", "__SEQUENCE_ID", 0))
    copied = _commit_ops(prev, prev.update(n=1), ops)
    reused = _commit_ops(prev, prev.update(n=1), ops, True)
    assert dict(copied) == dict(reused) == {"n": 1, "__PRIOR_STEP": "a", "__SEQUENCE_ID": 0}
    assert copied._ops == reused._ops and copied._base == reused._base == prev._vid


def test_the_state_an_action_returns_becomes_the_committed_state_when_no_one_else_holds_it() -> None:
    returned_ids: list[int] = []

    @action(reads=["n"], writes=["n"])
    def bump(state: State) -> State:
        out = state.update(n=state["n"] + 1)
        returned_ids.append(id(out))  # an id, not a reference: the State stays unshared
        return out

    app = ApplicationBuilder().with_actions(bump=bump).with_transitions(("bump", "bump")).with_state(n=0)
    app = app.with_entrypoint("bump").build()
    app.step()
    # the commit's no-copy path (off where reference counts are unreliable, see state._calibrate_unshared)
    assert (returned_ids[0] == id(app.state)) is (state_module._UNSHARED is not None)
    assert dict(app.state) == {"n": 1, "__SEQUENCE_ID": 0, "__PRIOR_STEP": "bump"}
