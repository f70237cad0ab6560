"""Conditions: constructors, names, keys, combinators and evaluation against State."""

from __future__ import annotations

from typing import Any

import pytest

from burr.core.action import Condition, default, expr, lmda, safe_expr, when
from burr.core.state import State

# ------------------------------------------------------------------------------------------------
# when
# ------------------------------------------------------------------------------------------------


def test_when_name_is_sorted_by_key() -> None:
    assert when(b=2, a="x").name == "a=x, b=2"


def test_when_reads_the_given_keys() -> None:
    assert sorted(when(b=2, a=1).reads) == ["a", "b"]


def test_when_true_when_all_equal() -> None:
    assert when(a=1, b=2).run(State({"a": 1, "b": 2})) == {"PROCEED": True}


def test_when_false_when_one_differs() -> None:
    assert when(a=1, b=2).run(State({"a": 1, "b": 3})) == {"PROCEED": False}


def test_when_is_condition_when() -> None:
    assert Condition.when(a=1).name == "a=1"


def test_condition_repr() -> None:
    assert repr(when(a=1)) == "condition: a=1"


# ------------------------------------------------------------------------------------------------
# expr
# ------------------------------------------------------------------------------------------------


def test_expr_name_is_the_expression() -> None:
    assert expr("n > 1").name == "n > 1"


def test_expr_reads_exclude_builtins() -> None:
    assert sorted(expr("len(items) > limit").reads) == ["items", "limit"]


def test_expr_evaluates_against_state() -> None:
    c = expr("len(items) > limit")
    assert c.run(State({"items": [1, 2], "limit": 1})) == {"PROCEED": True}
    assert c.run(State({"items": [1], "limit": 1})) == {"PROCEED": False}


def test_expr_comprehension_variables_are_not_reads() -> None:
    c = expr("any(x > threshold for x in values)")
    assert sorted(c.reads) == ["threshold", "values"]
    assert c._evaluate(State({"threshold": 2, "values": [1, 3]}))


def test_expr_sees_internal_keys() -> None:
    assert expr("__PRIOR_STEP == 'a'")._evaluate(State({"__PRIOR_STEP": "a"}))


def test_expr_sees_appended_lists() -> None:
    state = State({"items": [1]}).append(items=2)
    assert expr("len(items) == 2")._evaluate(state)


def test_expr_state_key_named_like_builtin_shadows_it() -> None:
    c = expr("len == 3")
    assert c.reads == []
    assert c._evaluate(State({"len": 3}))


def test_expr_invalid_syntax_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a valid Python expression"):
        expr("a >")


# ------------------------------------------------------------------------------------------------
# safe_expr
# ------------------------------------------------------------------------------------------------


def test_safe_expr_evaluates_comparisons_and_boolean_logic() -> None:
    c = safe_expr("count >= 3 and not done or mode == 'force'")
    assert c._evaluate(State({"count": 3, "done": False, "mode": "x"}))
    assert not c._evaluate(State({"count": 1, "done": False, "mode": "x"}))
    assert sorted(c.reads) == ["count", "done", "mode"]


def test_safe_expr_allowed_calls_methods_subscripts() -> None:
    c = safe_expr("len(msgs) > 1 and msgs[-1]['role'].startswith('us') and name[1:] == 'bc'")
    assert c._evaluate(State({"msgs": [{}, {"role": "user"}], "name": "abc"}))


def test_safe_expr_arithmetic_and_chained_compare() -> None:
    assert safe_expr("0 < a * 2 + b ** 2 - c // 2 % 5 <= 10")._evaluate(State({"a": 1, "b": 2, "c": 4}))


def test_safe_expr_name_is_the_expression() -> None:
    assert safe_expr("a == 1").name == "a == 1"


def test_safe_expr_literals() -> None:
    assert safe_expr("a in [1, 2] and b in {'x': 1} and (1, 2) != c")._evaluate(
        State({"a": 1, "b": "x", "c": (1, 3)})
    )


def test_safe_expr_if_expression() -> None:
    assert safe_expr("(a if flag else b) == 2")._evaluate(State({"a": 1, "b": 2, "flag": False}))


@pytest.mark.parametrize(
    ("expression", "phrase"),
    [
        ("(lambda: 1)()", "lambda"),
        ("[x for x in items]", "comprehensions"),
        ("any(x for x in items)", "comprehensions"),
        ("obj.__class__", "underscore attribute"),
        ("obj._private", "underscore attribute"),
        ("__import__('os')", "call to `__import__`"),
        ("open('x')", "call to `open`"),
        ("eval('1')", "call to `eval`"),
        ("obj.system('ls')", "this call"),
        ("(x := 1)", "NamedExpr"),
    ],
)
def test_safe_expr_rejects_unsafe_syntax_at_construction(expression: str, phrase: str) -> None:
    with pytest.raises(ValueError, match="cannot use") as e:
        safe_expr(expression)
    assert phrase in str(e.value)


def test_safe_expr_method_on_non_builtin_object_raises() -> None:
    class Obj:
        def get(self, key: str) -> str:
            return key

    with pytest.raises(ValueError, match="only calls .get"):
        safe_expr("o.get('a') == 'a'")._evaluate(State({"o": Obj()}))


def test_safe_expr_refuses_huge_power() -> None:
    with pytest.raises(ValueError, match="exponents"):
        safe_expr("a ** 100000 > 1")._evaluate(State({"a": 10}))


def test_safe_expr_refuses_huge_repetition() -> None:
    with pytest.raises(ValueError, match="sequences longer"):
        safe_expr("len('a' * n) > 1")._evaluate(State({"n": 10**9}))


# ------------------------------------------------------------------------------------------------
# default / lmda / custom
# ------------------------------------------------------------------------------------------------


def test_default_is_a_singleton_with_no_keys() -> None:
    assert Condition.default is default
    assert (default.name, default.reads) == ("default", [])
    assert default.run(State()) == {"PROCEED": True}


def test_lmda_name_and_keys() -> None:
    def big(state: State) -> bool:
        return bool(state["n"] > 10)

    c = lmda(big, ["n"])
    assert (c.name, c.reads) == ("lmda_big_", ["n"])
    assert c._evaluate(State({"n": 11}))


def test_custom_condition_resolver() -> None:
    c = Condition(["a"], lambda s: s["a"] is None, name="a_is_none")
    assert c.run(State({"a": None})) == {"PROCEED": True}
    assert c.resolver(State({"a": 1})) is False


def test_condition_subclass_overriding_run_is_used_by_evaluate() -> None:
    class Always(Condition):
        def run(self, state: State, **run_kwargs: Any) -> dict[str, bool]:
            return {Condition.KEY: True}

    assert Always([], lambda s: False, name="always")._evaluate(State())


# ------------------------------------------------------------------------------------------------
# combinators
# ------------------------------------------------------------------------------------------------


def test_invert_name_keys_and_value() -> None:
    c = ~when(a=1)
    assert (c.name, c.reads) == ("~a=1", ["a"])
    assert c.run(State({"a": 2})) == {"PROCEED": True}


def test_or_name_keys_and_value() -> None:
    c = when(a=1) | expr("b > 2")
    assert (c.name, c.reads) == ("a=1 | b > 2", ["a", "b"])
    assert c._evaluate(State({"a": 0, "b": 3}))
    assert not c._evaluate(State({"a": 0, "b": 0}))


def test_and_name_keys_and_value() -> None:
    c = when(a=1) & expr("b > 2")
    assert (c.name, c.reads) == ("a=1 & b > 2", ["a", "b"])
    assert c._evaluate(State({"a": 1, "b": 3}))
    assert not c._evaluate(State({"a": 1, "b": 0}))


def test_or_with_non_condition_raises() -> None:
    with pytest.raises(ValueError, match="Cannot OR a Condition with"):
        when(a=1) | True  # type: ignore[operator]


def test_and_with_non_condition_raises() -> None:
    with pytest.raises(ValueError, match="Cannot AND a Condition with"):
        when(a=1) & "x"  # type: ignore[operator]


def test_composed_condition_checks_all_keys_before_short_circuit() -> None:
    c = when(a=1) | when(b=1)
    with pytest.raises(
        ValueError, match=r"Missing keys in state required by condition: condition: a=1 \| b=1 \['b'\]"
    ):
        c._evaluate(State({"a": 1}))


# ------------------------------------------------------------------------------------------------
# missing keys
# ------------------------------------------------------------------------------------------------


def test_missing_key_error_names_condition_and_keys() -> None:
    with pytest.raises(
        ValueError, match=r"Missing keys in state required by condition: condition: n > 1 \['n'\]"
    ):
        expr("n > 1").run(State({"m": 1}))


def test_missing_key_error_suggests_fix() -> None:
    with pytest.raises(ValueError, match=r"with_state"):
        when(a=1)._evaluate(State())


def test_missing_key_error_from_fast_path_matches_run() -> None:
    state = State({"x": 1})
    with pytest.raises(ValueError) as fast:
        expr("n > 1")._evaluate(state)
    with pytest.raises(ValueError) as slow:
        expr("n > 1").run(state)
    assert str(fast.value) == str(slow.value)


def test_safe_expr_refuses_nested_huge_power() -> None:
    with pytest.raises(ValueError, match="bits"):
        safe_expr("(a ** 1000) ** 1000 > 1")._evaluate(State({"a": 10**1000}))
