import json

from burr.core import _delta
from burr.core.state import State, _commit, _snapshot_base


def _step(prev: State, returned: State) -> State:
    return _commit(prev, returned, {"__PRIOR_STEP": "act"})


def test_step_ops_are_the_ops_of_the_step_only():
    s0 = State({"n": 0, "xs": []})
    s1 = _step(s0, s0.increment(n=1).append(xs="a"))
    s2 = _step(s1, s1.append(xs="b"))
    ops = _delta.step_ops(s2, _delta.state_id(s1))
    assert ops == [("append", "xs", "b"), ("set", "__PRIOR_STEP", "act")]


def test_step_ops_unknown_base_means_snapshot():
    s0 = State({"n": 0})
    s1 = _step(s0, s0.update(n=1))
    assert _delta.step_ops(s1, _delta.state_id(State())) is None
    assert _delta.step_ops(s1, None) is None


def test_encoded_deltas_replay_to_the_serialized_state():
    s0 = State({"n": 0, "xs": [], "gone": 1})
    snapshot = json.loads(json.dumps(s0.serialize()))
    s, prev = s0, s0
    for i in range(3):
        s = _step(prev, prev.increment(n=1).append(xs={"i": i}).update(t=(i,)).wipe(delete=["gone"]))
        records = _delta.encode(_delta.step_ops(s, _delta.state_id(prev)), s)
        _delta.apply_encoded(snapshot, json.loads(json.dumps(records)))
        prev = s
    assert snapshot == json.loads(json.dumps(s.serialize()))


def test_set_overridden_later_in_the_step_is_dropped():
    s0 = State({"a": 0})
    s1 = _step(s0, s0.update(a=1).update(a=2))
    records = _delta.encode(_delta.step_ops(s1, _delta.state_id(s0)), s1)
    assert [r for r in records if r["key"] == "a"] == [{"op": "set", "key": "a", "value": 2}]


def test_snapshot_base_makes_a_loaded_state_a_delta_base():
    loaded = _snapshot_base(State({"xs": [1]}))
    s1 = _step(loaded, loaded.append(xs=2))
    assert _delta.step_ops(s1, _delta.state_id(loaded)) == [("append", "xs", 2), ("set", "__PRIOR_STEP", "act")]
