"""Graph and GraphBuilder: validation messages, next-node selection, tags, rendering."""

from __future__ import annotations

import functools
import pathlib
from typing import Any

import pytest

from burr.core.action import Action, Condition, Result, action, default, expr, when
from burr.core.graph import Graph, GraphBuilder, Transition
from burr.core.state import State


@action(reads=["count"], writes=["count"], tags=["math"])
def counter(state: State) -> State:
    return state.update(count=state.get("count", 0) + 1)


@action(reads=[], writes=["prompt"])
def ask(state: State, prompt: str, temperature: float = 0.1) -> State:
    return state.update(prompt=prompt)


class Noop(Action):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return []

    def run(self, state: State, **run_kwargs: Any) -> dict[str, Any]:
        return {}

    def update(self, result: dict[str, Any], state: State) -> State:
        return state


def _loop_graph() -> Graph:
    return (
        GraphBuilder()
        .with_actions(counter, result=Result("count"))
        .with_transitions(("counter", "counter", expr("count < 3")), ("counter", "result"))
        .build()
    )


# ------------------------------------------------------------------------------------------------
# with_actions
# ------------------------------------------------------------------------------------------------


def test_with_actions_names_positional_functions_by_their_name() -> None:
    assert [a.name for a in GraphBuilder().with_actions(counter).build().actions] == ["counter"]


def test_with_actions_accepts_named_action_positionally() -> None:
    graph = GraphBuilder().with_actions(Noop().with_name("n")).build()
    assert graph.get_action("n").name == "n"


def test_with_actions_positional_unnamed_action_errors() -> None:
    with pytest.raises(ValueError, match="must have a name set"):
        GraphBuilder().with_actions(Noop())


def test_with_actions_positional_non_action_errors() -> None:
    with pytest.raises(ValueError, match="as a positional argument, which is not an action"):
        GraphBuilder().with_actions(42)


def test_with_actions_positional_action_class_suggests_instantiating() -> None:
    with pytest.raises(ValueError, match=r"instantiate it, e.g. with_actions\(my_name=Noop\(\)\)"):
        GraphBuilder().with_actions(Noop)


def test_with_actions_positional_partial_errors() -> None:
    def fn(state: State, x: int) -> State:
        return state

    with pytest.raises(ValueError, match="not an action"):
        GraphBuilder().with_actions(functools.partial(fn, x=1))


def test_with_actions_positional_undecorated_function_errors() -> None:
    def plain(state: State) -> State:
        return state

    with pytest.raises(ValueError, match="is not a valid action. Have you decorated it"):
        GraphBuilder().with_actions(plain)


def test_with_actions_keyword_naming_already_named_action_errors() -> None:
    with pytest.raises(ValueError, match="already set to a -- cannot set name to b"):
        GraphBuilder().with_actions(b=Noop().with_name("a"))


def test_with_actions_accepts_bound_function() -> None:
    graph = GraphBuilder().with_actions(ask.bind(prompt="hi")).build()  # type: ignore[attr-defined]
    assert graph.get_action("ask").inputs == ([], ["temperature"])


# ------------------------------------------------------------------------------------------------
# with_transitions
# ------------------------------------------------------------------------------------------------


def test_two_tuple_transition_uses_default() -> None:
    builder = GraphBuilder().with_transitions(("a", "b"))
    assert builder.transitions == [("a", "b", default)]


def test_list_source_fans_in() -> None:
    builder = GraphBuilder().with_transitions((["a", "b"], "c", when(x=1)))
    assert [(f, t) for f, t, _ in builder.transitions] == [("a", "c"), ("b", "c")]


def test_non_string_source_errors() -> None:
    with pytest.raises(ValueError, match="Transition source must be a string, not"):
        GraphBuilder().with_transitions((counter, "b"))


def test_non_string_target_errors() -> None:
    with pytest.raises(ValueError, match="Transition target must be a string, not"):
        GraphBuilder().with_transitions(("a", 1))


def test_malformed_transition_errors() -> None:
    with pytest.raises(ValueError, match=r"must be a tuple \(from, to\)"):
        GraphBuilder().with_transitions(("a",))


def test_non_condition_errors() -> None:
    with pytest.raises(ValueError, match="which is not a Condition"):
        GraphBuilder().with_transitions(("a", "b", lambda s: True))


# ------------------------------------------------------------------------------------------------
# build validation
# ------------------------------------------------------------------------------------------------


def test_build_without_actions_errors() -> None:
    with pytest.raises(ValueError, match="Must call `with_actions` before building application!"):
        GraphBuilder().build()


def test_build_with_empty_actions_errors() -> None:
    with pytest.raises(ValueError, match="Must have at least one action in the application!"):
        GraphBuilder().with_actions().build()


def test_build_duplicate_action_errors() -> None:
    with pytest.raises(ValueError, match="Action: counter is duplicated in the actions list"):
        GraphBuilder().with_actions(counter, counter=Noop()).build()


def test_build_unknown_source_errors() -> None:
    with pytest.raises(
        ValueError,
        match=r"Transition source: `nope` not found in actions! Please add to actions using with_actions\(nope=...\)",
    ):
        GraphBuilder().with_actions(counter).with_transitions(("nope", "counter")).build()


def test_build_unknown_target_errors() -> None:
    with pytest.raises(ValueError, match="Transition target: `nope` not found in actions!"):
        GraphBuilder().with_actions(counter).with_transitions(("counter", "nope")).build()


def test_build_two_defaults_from_one_source_errors() -> None:
    with pytest.raises(
        ValueError,
        match="Transition `counter` -> `r` is redundant -- a default transition has already been set for `counter`",
    ):
        (
            GraphBuilder()
            .with_actions(counter, r=Result("count"))
            .with_transitions(("counter", "counter"), ("counter", "r"))
            .build()
        )


def test_build_allows_conditions_after_default() -> None:
    graph = (
        GraphBuilder()
        .with_actions(counter, r=Result("count"))
        .with_transitions(("counter", "r"), ("counter", "counter", expr("count < 3")))
        .build()
    )
    assert len(graph.transitions) == 2


def test_build_twice_gives_independent_graphs() -> None:
    builder = GraphBuilder().with_actions(counter)
    first = builder.build()
    builder.with_actions(r=Result("count"))
    assert [a.name for a in first.actions] == ["counter"]


def test_with_graph_adds_actions_and_transitions() -> None:
    combined = GraphBuilder().with_graph(_loop_graph()).with_actions(extra=Noop()).build()
    assert [a.name for a in combined.actions] == ["counter", "result", "extra"]
    assert [(t.from_.name, t.to.name, t.condition.name) for t in combined.transitions] == [
        ("counter", "counter", "count < 3"),
        ("counter", "result", "default"),
    ]


def test_with_graph_name_clash_errors_at_build() -> None:
    with pytest.raises(ValueError, match="is duplicated"):
        GraphBuilder().with_graph(_loop_graph()).with_graph(_loop_graph()).build()


# ------------------------------------------------------------------------------------------------
# Graph lookups and next node
# ------------------------------------------------------------------------------------------------


def test_get_next_node_without_prior_step_is_entrypoint() -> None:
    assert _loop_graph().get_next_node(None, State(), "counter").name == "counter"  # type: ignore[union-attr]


def test_get_next_node_first_true_condition_wins_in_order() -> None:
    graph = _loop_graph()
    assert graph.get_next_node("counter", State({"count": 1}), "counter").name == "counter"  # type: ignore[union-attr]
    assert graph.get_next_node("counter", State({"count": 3}), "counter").name == "result"  # type: ignore[union-attr]


def test_get_next_node_none_when_no_transition() -> None:
    assert _loop_graph().get_next_node("result", State({"count": 3}), "counter") is None


def test_get_next_node_missing_condition_key_errors() -> None:
    with pytest.raises(ValueError, match="Missing keys in state required by condition"):
        _loop_graph().get_next_node("counter", State(), "counter")


def test_get_next_node_duck_typed_condition() -> None:
    class Duck:
        name = "duck"

        def run(self, state: State) -> dict[str, bool]:
            return {Condition.KEY: state["go"]}

    a, b = Noop().with_name("a"), Noop().with_name("b")
    graph = Graph(actions=[a, b], transitions=[Transition(a, b, Duck())])  # type: ignore[arg-type]
    assert graph.get_next_node("a", State({"go": True}), "a") is b
    assert graph.get_next_node("a", State({"go": False}), "a") is None


def test_outgoing_lists_targets_in_order() -> None:
    out = _loop_graph().outgoing("counter")
    assert [(target.name, cond.name) for target, cond in out] == [
        ("counter", "count < 3"),
        ("result", "default"),
    ]


def test_get_action_unknown_errors() -> None:
    with pytest.raises(
        ValueError, match=r"Action: zzz not found in graph. Actions are: \['counter', 'result'\]"
    ):
        _loop_graph().get_action("zzz")


def test_get_actions_by_tag() -> None:
    assert [a.name for a in _loop_graph().get_actions_by_tag("math")] == ["counter"]


def test_get_actions_by_unknown_tag_errors() -> None:
    with pytest.raises(ValueError, match=r"Tag: nope not found in graph. Tags are: \['math'\]"):
        _loop_graph().get_actions_by_tag("nope")


def test_unreachable_actions() -> None:
    graph = (
        GraphBuilder()
        .with_actions(counter, r=Result("count"), island=Noop(), shadowed=Noop())
        .with_transitions(("counter", "r"), ("counter", "shadowed", expr("count > 1")))
        .build()
    )
    assert graph.unreachable_actions("counter") == {"island", "shadowed"}


# ------------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------------


def test_to_mermaid_default_and_conditional_edges() -> None:
    assert _loop_graph().to_mermaid() == (
        'flowchart TD\n    a0["counter"]\n    a1["result"]\n    a0 -.-> a0\n    a0 --> a1\n'
    )


def test_to_mermaid_includes_conditions_and_inputs() -> None:
    graph = (
        GraphBuilder()
        .with_actions(ask, counter)
        .with_transitions(("ask", "counter", expr('prompt == "x"')))
        .build()
    )
    assert graph.to_mermaid(include_conditions=True) == (
        "flowchart TD\n"
        '    a0["ask"]\n'
        '    a1["counter"]\n'
        '    i0(["input: prompt"])\n'
        "    i0 -.-> a0\n"
        '    i1(["input: temperature"])\n'
        "    i1 -.-> a0\n"
        '    a0 -.->|"prompt == #quot;x#quot;"| a1\n'
    )


def test_visualize_returns_digraph_with_nodes_and_inputs() -> None:
    graph = GraphBuilder().with_actions(ask, counter).with_transitions(("ask", "counter")).build()
    dot = graph.visualize(include_conditions=True, include_state=True)
    assert dot is not None
    source = dot.source
    assert 'label="ask(): prompt"' in source
    assert 'label="input: prompt"' in source
    assert "input__prompt -> ask" in source


def test_visualize_conditional_edges_are_dashed_and_labelled() -> None:
    source = _loop_graph().visualize(include_conditions=True).source  # type: ignore[union-attr]
    assert 'counter -> counter [label="count < 3" style=dashed]' in source
    assert "counter -> result [style=solid]" in source


def test_visualize_engine_kwargs_merge() -> None:
    dot = _loop_graph().visualize(graph_attr={"rankdir": "LR"}, format="svg")
    assert dot is not None and dot.graph_attr["rankdir"] == "LR" and dot.format == "svg"


def test_visualize_writes_image_only(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "graph.png"
    _loop_graph().visualize(output_file_path=out)
    assert out.read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "graph").exists()


def test_visualize_path_without_suffix_uses_format(tmp_path: pathlib.Path) -> None:
    _loop_graph().visualize(output_file_path=tmp_path / "statemachine", format="svg")
    assert (tmp_path / "statemachine.svg").read_text().lstrip().startswith("<?xml")


def test_visualize_write_dot_writes_source_and_image(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "graph.svg"
    _loop_graph().visualize(output_file_path=out, write_dot=True)
    assert "digraph" in (tmp_path / "graph").read_text()
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith("<?xml")


def test_visualize_unknown_engine_errors() -> None:
    with pytest.raises(ValueError, match="not supported"):
        _loop_graph().visualize(engine="mermaid")


def test_repr_mimebundle_renders() -> None:
    bundle = _loop_graph()._repr_mimebundle_()
    assert any("svg" in k for k in bundle)
