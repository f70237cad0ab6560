"""Application: step/run/iterate semantics, sequence ids, halts, inputs, injection, errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from burr.core import Action, ApplicationBuilder, ApplicationContext, Result, State, action, default, expr
from burr.core.action import Input
from burr.core.application import PRIOR_STEP, SEQUENCE_ID, Application
from burr.core.graph import GraphBuilder
from burr.visibility.tracing import TracerFactory


@action(reads=["count"], writes=["count"])
def counter(state: State) -> State:
    return state.update(count=state["count"] + 1)


@action(reads=["count"], writes=[], tags=["final"])
def done(state: State) -> State:
    return state


def counter_app(limit: int = 3, **state: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions(("counter", "counter", expr(f"count < {limit}")), ("counter", "done", default))
        .with_state(count=0, **state)
        .with_entrypoint("counter")
        .build()
    )


# ---------------------------------------------------------------------------------------------
# step / sequence ids
# ---------------------------------------------------------------------------------------------


def test_step_returns_action_result_and_new_state() -> None:
    app = counter_app()
    act, result, state = app.step()
    assert (act.name, result, state["count"]) == ("counter", {}, 1)


def test_step_sets_prior_step_and_sequence_id() -> None:
    app = counter_app()
    app.step()
    app.step()
    assert (app.state[PRIOR_STEP], app.state[SEQUENCE_ID], app.sequence_id) == ("counter", 1, 1)


def test_sequence_id_is_none_before_first_step() -> None:
    assert counter_app().sequence_id is None


def test_with_identifiers_sequence_id_is_last_completed_step() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(counter=counter)
        .with_transitions(("counter", "counter"))
        .with_state(count=0)
        .with_entrypoint("counter")
        .with_identifiers(sequence_id=5)
        .build()
    )
    app.step()
    assert app.sequence_id == 6


def test_direct_application_with_sequence_id_zero_starts_at_one() -> None:
    graph = GraphBuilder().with_actions(counter=counter).with_transitions(("counter", "counter")).build()
    app = Application(
        graph=graph,
        state=State({"count": 0}),
        partition_key=None,
        uid="u",
        entrypoint="counter",
        sequence_id=0,
    )
    app.step()
    assert app.sequence_id == 1


def test_failing_step_consumes_a_sequence_id() -> None:
    @action(reads=[], writes=[])
    def boom(state: State) -> State:
        raise RuntimeError("boom")

    app = (
        ApplicationBuilder()
        .with_actions(boom=boom)
        .with_transitions(("boom", "boom"))
        .with_entrypoint("boom")
        .build()
    )
    with pytest.raises(RuntimeError, match="boom"):
        app.step()
    assert app.sequence_id == 0 and PRIOR_STEP not in app.state


def test_step_at_dead_end_returns_none() -> None:
    app = counter_app(limit=1)
    app.step()
    app.step()
    assert app.step() is None


def test_failing_action_is_logged_with_its_name(caplog: pytest.LogCaptureFixture) -> None:
    @action(reads=[], writes=[])
    def explode(state: State) -> State:
        raise KeyError("nope")

    app = (
        ApplicationBuilder()
        .with_actions(explode=explode)
        .with_transitions()
        .with_entrypoint("explode")
        .build()
    )
    with caplog.at_level(logging.ERROR), pytest.raises(KeyError):
        app.step()
    assert any("explode" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------------------
# run / iterate / halts
# ---------------------------------------------------------------------------------------------


def test_run_halt_after_returns_that_action_and_result() -> None:
    act, result, state = counter_app(limit=3).run(halt_after=["done"])
    assert (act.name, result, state["count"]) == ("done", {}, 3)


def test_run_halt_before_returns_next_action_and_none_result() -> None:
    act, result, state = counter_app(limit=3).run(halt_before=["done"])
    assert (act.name, result, state["count"], state[PRIOR_STEP]) == ("done", None, 3, "counter")


def test_halt_before_never_stops_the_first_step() -> None:
    app = counter_app(limit=5)
    act, result, state = app.run(halt_before=["counter"])
    assert (act.name, result, state["count"]) == ("counter", None, 1)


def test_run_on_graph_that_ends_returns_last_action() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(counter=counter)
        .with_transitions()
        .with_state(count=0)
        .with_entrypoint("counter")
        .build()
    )
    act, result, state = app.run()
    assert (act.name, result, state["count"]) == ("counter", {}, 1)


def test_halt_after_tag_expands_to_tagged_actions() -> None:
    act, _, _ = counter_app(limit=2).run(halt_after=["@tag:final"])
    assert act.name == "done"


def test_unknown_tag_raises() -> None:
    with pytest.raises(ValueError, match="Tag: nope not found in graph"):
        counter_app().run(halt_after=["@tag:nope"])


def test_unknown_halt_name_lists_valid_actions() -> None:
    with pytest.raises(ValueError, match=r"Halt conditions \['nope'\] are not registered actions.*counter"):
        counter_app().run(halt_after=["nope"])


def test_iterate_yields_each_step_and_returns_run_value() -> None:
    gen = counter_app(limit=2).iterate(halt_after=["done"])
    names = []
    try:
        while True:
            names.append(next(gen)[0].name)
    except StopIteration as stop:
        final = stop.value
    assert names == ["counter", "counter", "done"] and final[0].name == "done"


def test_iterate_validates_lazily() -> None:
    gen = counter_app().iterate(halt_after=["nope"])
    with pytest.raises(ValueError, match="not registered actions"):
        next(gen)


def test_no_halt_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        counter_app(limit=1).run()
    assert any("No halt termination specified" in r.getMessage() for r in caplog.records)


def test_transitions_are_checked_in_declaration_order() -> None:
    @action(reads=[], writes=["went"])
    def a(state: State) -> State:
        return state.update(went="a")

    @action(reads=[], writes=["went"])
    def b(state: State) -> State:
        return state.update(went="b")

    @action(reads=[], writes=["went"])
    def c(state: State) -> State:
        return state.update(went="c")

    app = (
        ApplicationBuilder()
        .with_actions(a=a, b=b, c=c)
        .with_transitions(("a", "c", expr("went == 'a'")), ("a", "b", default))
        .with_entrypoint("a")
        .build()
    )
    assert app.run(halt_after=["b", "c"])[0].name == "c"


# ---------------------------------------------------------------------------------------------
# inputs and injection
# ---------------------------------------------------------------------------------------------


def test_inputs_are_offered_to_every_step() -> None:
    seen: list[int] = []

    @action(reads=["count"], writes=["count"])
    def add(state: State, by: int) -> State:
        seen.append(by)
        return state.update(count=state["count"] + by)

    app = (
        ApplicationBuilder()
        .with_actions(add=add)
        .with_transitions(("add", "add", expr("count < 6")))
        .with_state(count=0)
        .with_entrypoint("add")
        .build()
    )
    app.run(inputs={"by": 2, "ignored": 1})
    assert seen == [2, 2, 2]


def test_missing_required_input_raises() -> None:
    @action(reads=[], writes=[])
    def needs(state: State, x: int) -> State:
        return state

    app = ApplicationBuilder().with_actions(needs=needs).with_transitions().with_entrypoint("needs").build()
    with pytest.raises(ValueError, match=r"Action needs is missing required inputs: \['x'\]"):
        app.step()


def test_double_underscore_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="Inputs starting with a double underscore"):
        counter_app().step(inputs={"__context": 1})


def test_optional_input_takes_default_when_missing() -> None:
    @action(reads=[], writes=["v"])
    def opt(state: State, v: int = 7) -> State:
        return state.update(v=v)

    app = ApplicationBuilder().with_actions(opt=opt).with_transitions().with_entrypoint("opt").build()
    assert app.step()[2]["v"] == 7


def test_context_is_injected_with_step_identifiers() -> None:
    seen: list[ApplicationContext] = []

    @action(reads=[], writes=[])
    def ctx(state: State, __context: ApplicationContext) -> State:
        seen.append(__context)
        return state

    app = (
        ApplicationBuilder()
        .with_actions(ctx=ctx)
        .with_transitions(("ctx", "ctx"))
        .with_identifiers(app_id="A", partition_key="P")
        .with_entrypoint("ctx")
        .build()
    )
    app.step()
    app.step()
    assert [(c.app_id, c.partition_key, c.sequence_id, c.action_name) for c in seen] == [
        ("A", "P", 0, "ctx"),
        ("A", "P", 1, "ctx"),
    ]


def test_tracer_is_injected_for_optional_parameter() -> None:
    seen: list[Any] = []

    @action(reads=[], writes=[])
    def traced(state: State, __tracer: TracerFactory = None) -> State:  # type: ignore[assignment]
        seen.append(__tracer)
        return state

    app = (
        ApplicationBuilder().with_actions(traced=traced).with_transitions().with_entrypoint("traced").build()
    )
    app.step()
    assert isinstance(seen[0], TracerFactory) and seen[0].action_sequence_id == 0


def test_context_get_inside_action_and_none_outside() -> None:
    seen: list[Any] = []

    @action(reads=[], writes=[])
    def look(state: State) -> State:
        seen.append(ApplicationContext.get())
        return state

    app = (
        ApplicationBuilder()
        .with_actions(look=look)
        .with_transitions()
        .with_entrypoint("look")
        .with_identifiers(app_id="X")
        .build()
    )
    app.step()
    assert seen[0].app_id == "X" and seen[0].action_name == "look" and ApplicationContext.get() is None


def test_class_action_gets_mangled_context() -> None:
    class WithContext(Action):
        @property
        def reads(self) -> list[str]:
            return []

        @property
        def writes(self) -> list[str]:
            return ["seq"]

        @property
        def inputs(self) -> list[str]:
            return ["__context"]

        def run(self, state: State, __context: ApplicationContext) -> dict:
            return {"seq": __context.sequence_id}

        def update(self, result: dict, state: State) -> State:
            return state.update(**result)

    app = ApplicationBuilder().with_actions(w=WithContext()).with_transitions().with_entrypoint("w").build()
    assert app.step()[2]["seq"] == 0


def test_context_manager_restores_previous_context() -> None:
    outer = ApplicationContext("a", None, 0, None, None, None, None, "x")
    inner = ApplicationContext("b", None, 0, None, None, None, None, "y")
    with outer:
        with inner:
            assert ApplicationContext.get() is inner
        assert ApplicationContext.get() is outer
    assert ApplicationContext.get() is None


# ---------------------------------------------------------------------------------------------
# validation errors
# ---------------------------------------------------------------------------------------------


def test_function_action_with_wrong_return_shape_raises() -> None:
    @action(reads=[], writes=[])
    def bad(state: State) -> Any:
        return {"not": "a state"}

    app = ApplicationBuilder().with_actions(bad=bad).with_transitions().with_entrypoint("bad").build()
    with pytest.raises(ValueError, match="Single step action: bad must return either"):
        app.step()


def test_async_function_action_under_sync_step_says_use_astep() -> None:
    @action(reads=[], writes=[])
    async def later(state: State) -> State:
        return state

    app = ApplicationBuilder().with_actions(later=later).with_transitions().with_entrypoint("later").build()
    with pytest.raises(ValueError, match="Cannot run async.*astep"):
        app.step()


def test_missing_declared_write_raises() -> None:
    @action(reads=[], writes=["x"])
    def forgot(state: State) -> State:
        return state

    app = (
        ApplicationBuilder().with_actions(forgot=forgot).with_transitions().with_entrypoint("forgot").build()
    )
    with pytest.raises(ValueError, match="State is missing write keys after running: forgot"):
        app.step()


def test_function_action_may_write_undeclared_keys() -> None:
    @action(reads=[], writes=[])
    def sneaky(state: State) -> State:
        return state.update(extra=1)

    app = (
        ApplicationBuilder().with_actions(sneaky=sneaky).with_transitions().with_entrypoint("sneaky").build()
    )
    assert app.step()[2]["extra"] == 1


class _Writer(Action):
    def __init__(self, result: Any, writes_key: str) -> None:
        super().__init__()
        self._result = result
        self._key = writes_key

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["declared"]

    def run(self, state: State, **kw: Any) -> Any:
        return self._result

    def update(self, result: dict, state: State) -> State:
        return state.update(**{self._key: 1})


def test_class_action_undeclared_write_raises() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(w=_Writer({}, "other"))
        .with_transitions()
        .with_entrypoint("w")
        .build()
    )
    with pytest.raises(
        ValueError, match=r"Action w attempted to write to keys \{'other'\} that it did not declare"
    ):
        app.step()


def test_class_action_non_dict_result_raises() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(w=_Writer(3, "declared"))
        .with_transitions()
        .with_entrypoint("w")
        .build()
    )
    with pytest.raises(ValueError, match="Action w returned a non-dict result"):
        app.step()


def test_two_step_action_gets_only_its_reads() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(r=Result("a"))
        .with_transitions()
        .with_state(a=1, b=2)
        .with_entrypoint("r")
        .build()
    )
    assert app.step()[1] == {"a": 1}


def test_deleted_keys_are_propagated() -> None:
    @action(reads=[], writes=[])
    def drop(state: State) -> State:
        return state.wipe(delete=["gone"])

    app = (
        ApplicationBuilder()
        .with_actions(drop=drop)
        .with_transitions()
        .with_state(gone=1, kept=2)
        .with_entrypoint("drop")
        .build()
    )
    state = app.step()[2]
    assert "gone" not in state and state["kept"] == 2


def test_input_action_writes_inputs() -> None:
    app = ApplicationBuilder().with_actions(i=Input("q")).with_transitions().with_entrypoint("i").build()
    assert app.step(inputs={"q": "hi"})[2]["q"] == "hi"


def test_condition_missing_key_raises() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions(("counter", "done", expr("missing > 1")))
        .with_state(count=0)
        .with_entrypoint("counter")
        .build()
    )
    app.step()
    with pytest.raises(ValueError, match="Missing keys in state required by condition"):
        app.step()


# ---------------------------------------------------------------------------------------------
# state manipulation
# ---------------------------------------------------------------------------------------------


def test_update_state_without_internal_keys_restarts_at_entrypoint() -> None:
    app = counter_app(limit=10)
    app.step()
    app.step()
    app.update_state(State({"count": 100}))
    act, _, state = app.step()
    assert (act.name, state["count"], app.sequence_id) == ("counter", 101, 0)


def test_reset_to_entrypoint_keeps_sequence_id() -> None:
    app = counter_app(limit=1)
    app.run(halt_after=["done"])
    app.reset_to_entrypoint()
    assert app.get_next_action().name == "counter" and app.sequence_id == 1


def test_has_next_action_is_false_at_end() -> None:
    app = counter_app(limit=1)
    app.run(halt_after=["done"])
    assert app.has_next_action() is False and app.get_next_action() is None


def test_context_property_names_next_action() -> None:
    app = counter_app()
    assert app.context.action_name == "counter" and app.context.sequence_id is None


# ---------------------------------------------------------------------------------------------
# O(1) appends through commit
# ---------------------------------------------------------------------------------------------


@action(reads=["history"], writes=["history"])
def chat(state: State, i: int) -> State:
    return state.append(history=i)


def chat_app() -> Any:
    return (
        ApplicationBuilder()
        .with_actions(chat=chat)
        .with_transitions(("chat", "chat"))
        .with_state(history=[])
        .with_entrypoint("chat")
        .build()
    )


def test_append_extends_the_same_list_across_committed_steps() -> None:
    app = chat_app()
    kept = app.step(inputs={"i": 0})[2]  # holding a State (not the list) keeps the old list alive
    first_id = id(kept["history"])
    for i in range(1, 5):
        app.step(inputs={"i": i})
    assert id(app.state["history"]) == first_id and app.state["history"] == [0, 1, 2, 3, 4]


def test_append_never_mutates_a_list_the_user_holds() -> None:
    app = chat_app()
    app.step(inputs={"i": 0})
    held = app.state["history"]
    app.step(inputs={"i": 1})
    assert held == [0] and app.state["history"] == [0, 1]


def test_old_states_keep_their_values_after_appends() -> None:
    app = chat_app()
    states = [app.step(inputs={"i": i})[2] for i in range(3)]
    assert [s["history"] for s in states] == [[0], [0, 1], [0, 1, 2]]


def test_iterate_loop_variable_does_not_defeat_in_place_append() -> None:
    app = chat_app()
    kept = app.step(inputs={"i": -1})[2]
    first_id = id(kept["history"])
    for _, _, state in app.iterate(halt_after=[], inputs={"i": 0}):
        if len(state["history"]) > 4:
            break
    assert id(app.state["history"]) == first_id and len(kept["history"]) == 1


def test_halt_after_accepts_a_lone_name() -> None:
    assert counter_app(limit=1).run(halt_after="done")[0].name == "done"  # type: ignore[arg-type]


def test_process_inputs_filters_and_injects() -> None:
    @action(reads=[], writes=[])
    def takes(state: State, x: int, __context: ApplicationContext) -> State:
        return state

    app = ApplicationBuilder().with_actions(takes=takes).with_transitions().with_entrypoint("takes").build()
    processed = app._process_inputs({"x": 1, "y": 2}, app.get_next_action())
    assert processed["x"] == 1 and "y" not in processed and processed["__context"].sequence_id == 0
