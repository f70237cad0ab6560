import pickle

import pytest

from burr.core.state import (
    AppendFields,
    DeleteField,
    SetFields,
    State,
    _commit,
    register_field_serde,
)


def test_state_is_a_mapping_equal_to_a_dict():
    assert State({"a": 1}) == {"a": 1}
    assert State({"a": 1}) == State({"a": 1})
    assert State({"a": 1}) != State({"a": 2})


def test_state_keeps_caller_dict_by_reference():
    d = {"a": 1}
    assert State(d)._d is d


def test_state_is_unhashable():
    with pytest.raises(TypeError):
        hash(State({"a": 1}))


def test_getitem_missing_key_names_known_keys_and_fix():
    with pytest.raises(KeyError) as excinfo:
        State({"a": 1, "__SEQUENCE_ID": 3})["b"]
    message = excinfo.value.args[0]
    assert message.startswith('Key "b" not found in state. Keys state knows about are: [\'a\']')
    assert "reads" in message


def test_keys_returns_a_list():
    assert State({"a": 1, "b": 2}).keys() == ["a", "b"]


def test_get_all_returns_a_shallow_copy_with_internal_keys():
    s = State({"a": [1], "__PRIOR_STEP": "x"})
    out = s.get_all()
    assert out == {"a": [1], "__PRIOR_STEP": "x"}
    out["a"] = 2
    assert s["a"] == [1]


def test_update_returns_new_state_and_leaves_old_unchanged():
    s = State({"a": 1})
    s2 = s.update(a=2, b=3)
    assert s == {"a": 1}
    assert s2 == {"a": 2, "b": 3}


def test_append_creates_list_for_missing_key():
    assert State().append(a=1)["a"] == [1]


def test_append_does_not_change_the_original_list():
    original = [1, 2]
    s = State({"xs": original})
    s2 = s.append(xs=3)
    assert s2["xs"] == [1, 2, 3]
    assert s["xs"] == [1, 2]
    assert original == [1, 2]


def test_append_to_non_appendable_raises():
    with pytest.raises(ValueError, match="Cannot append to non-appendable values"):
        State({"a": 1}).append(a=2)


def test_extend_adds_all_items():
    assert State({"a": [1]}).extend(a=[2, 3])["a"] == [1, 2, 3]


def test_extend_non_extendable_raises():
    with pytest.raises(ValueError, match="non-extendable"):
        State({"a": 1}).extend(a=[2])


def test_increment_missing_key_starts_at_delta_and_accepts_float_delta():
    assert State().increment(a=2)["a"] == 2
    assert State({"a": 1}).increment(a=0.5)["a"] == 1.5


def test_increment_non_integer_raises():
    with pytest.raises(ValueError, match="Cannot increment non-integer values"):
        State({"a": "x"}).increment(a=1)


def test_wipe_delete_ignores_missing_keys():
    assert State({"a": 1, "b": 2}).wipe(delete=["a", "zzz"]) == {"b": 2}


def test_wipe_keep_removes_everything_else():
    assert State({"a": 1, "b": 2}).wipe(keep=["b"]) == {"b": 2}


def test_wipe_with_both_raises_value_error():
    with pytest.raises(ValueError):
        State({"a": 1}).wipe(delete=["a"], keep=["a"])


def test_wipe_with_neither_raises_type_error():
    with pytest.raises(TypeError):
        State({"a": 1}).wipe()


def test_merge_overwrites_with_other_values():
    assert State({"a": 1, "b": 1}).merge(State({"b": 2})) == {"a": 1, "b": 2}


def test_subset_ignores_missing_by_default():
    assert State({"a": 1, "b": 2}).subset("a", "c") == {"a": 1}


def test_subset_missing_key_raises_when_not_ignored():
    with pytest.raises(KeyError):
        State({"a": 1}).subset("c", ignore_missing=False)


def test_apply_operation_with_public_deltas():
    s = State({"a": [1], "b": 1})
    s2 = s.apply_operation(AppendFields({"a": 2})).apply_operation(SetFields({"c": 3}))
    s3 = s2.apply_operation(DeleteField(["b"]))
    assert s3 == {"a": [1, 2], "c": 3}
    assert s == {"a": [1], "b": 1}


def test_serialize_round_trips_rich_types():
    import datetime

    s = State({"t": (1, 2), "s": {1, 2}, "d": datetime.datetime(2026, 1, 2, 3, 4, 5), "b": b"\x00"})
    assert State.deserialize(s.serialize()) == s.get_all()


def test_field_serde_is_used_for_that_field():
    register_field_serde(
        "special_field_for_test",
        lambda value, **kw: {"wrapped": value},
        lambda value, **kw: value["wrapped"],
    )
    s = State({"special_field_for_test": 5})
    assert s.serialize() == {"special_field_for_test": {"wrapped": 5}}
    assert State.deserialize(s.serialize())["special_field_for_test"] == 5


def test_field_serde_without_kwargs_is_rejected():
    with pytest.raises(ValueError, match=r"must accept \*\*kwargs"):
        register_field_serde("f", lambda v: {"v": v}, lambda v, **kw: v)


def test_field_serializer_returning_non_dict_fails_naming_the_field():
    register_field_serde("bad_field_for_test", lambda v, **kw: v, lambda v, **kw: v)
    with pytest.raises(ValueError, match="bad_field_for_test"):
        State({"bad_field_for_test": 1}).serialize()


def test_state_pickles_with_values():
    s = State({"a": [1, 2]}).append(a=3)
    assert pickle.loads(pickle.dumps(s)) == {"a": [1, 2, 3]}


# --- commit: cheap appends that stay immutable -------------------------------------------------


def _step(prev: State, returned: State, n: int = 0) -> State:
    return _commit(prev, returned, {"__PRIOR_STEP": "act", "__SEQUENCE_ID": n})


def test_commit_extends_the_list_in_place_when_nobody_else_holds_it():
    s = _step(State(), State().update(xs=[]))
    ids = set()
    for i in range(5):
        s = _step(s, s.append(xs=i), i)
        ids.add(id(s["xs"]))
    assert len(ids) == 1
    assert s["xs"] == [0, 1, 2, 3, 4]


def test_commit_never_mutates_a_list_a_user_still_holds():
    s = _step(State(), State().update(xs=[1]))
    held = s["xs"]
    s2 = _step(s, s.append(xs=2))
    assert held == [1]
    assert s2["xs"] == [1, 2]


def test_previous_state_still_reads_its_own_values_after_in_place_commit():
    s = _step(State(), State().update(xs=[1]))
    s2 = _step(s, s.append(xs=2))
    s3 = _step(s2, s2.append(xs=3))
    assert s["xs"] == [1]
    assert s2["xs"] == [1, 2]
    assert s3["xs"] == [1, 2, 3]


def test_two_branches_from_one_state_do_not_see_each_other():
    s = _step(State(), State().update(xs=[1]))
    a = _step(s, s.append(xs="a"))
    b = _step(s, s.append(xs="b"))
    assert a["xs"] == [1, "a"]
    assert b["xs"] == [1, "b"]
    assert s["xs"] == [1]


def test_commit_keeps_previous_internal_keys_and_drops_returned_ones():
    prev = State({"a": 1, "__SEQUENCE_ID": 4, "__custom": "keep"})
    returned = prev.update(a=2, __custom="ignored")
    new = _commit(prev, returned, {"__PRIOR_STEP": "x"})
    assert new == {"a": 2, "__SEQUENCE_ID": 4, "__custom": "keep", "__PRIOR_STEP": "x"}


def test_commit_propagates_deletions():
    prev = State({"a": 1, "b": 2})
    assert _commit(prev, prev.wipe(delete=["b"]), {}) == {"a": 1}


def test_commit_of_an_unrelated_state_merges_by_the_burr_rule():
    prev = State({"a": 1, "b": 2, "__SEQUENCE_ID": 0})
    new = _commit(prev, State({"a": 5}), {"__PRIOR_STEP": "x"})
    assert new == {"a": 5, "__SEQUENCE_ID": 0, "__PRIOR_STEP": "x"}
