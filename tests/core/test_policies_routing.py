"""Exception transitions (routing, the error record, drawing), the loop guard and build-time checks."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from burr.core import ApplicationBuilder, State, action, default
from burr.core.persistence import SQLitePersister
from burr.core.policies import ERROR_KEY, GraphCheckError, MaxStepsExceededError, RetryPolicy, on_exception
from burr.tracking import LocalTrackingClient


class RateLimited(ConnectionError):
    pass


def failing(exc: Exception) -> Any:
    @action(reads=[], writes=["answer"])
    def call_llm(state: State) -> State:
        raise exc

    return call_llm


@action(reads=["last_error"], writes=["apology"])
def apologize(state: State) -> State:
    return state.update(apology=f"sorry: {state['last_error']['message']}")


@action(reads=[], writes=["waited"])
def back_off(state: State) -> State:
    return state.update(waited=True)


@action(reads=["answer"], writes=["shown"])
def show(state: State) -> State:
    return state.update(shown=state["answer"])


def routed_app(exc: Exception, **extra: Any) -> ApplicationBuilder:
    return (
        ApplicationBuilder()
        .with_actions(call_llm=failing(exc), apologize=apologize, back_off=back_off, show=show)
        .with_transitions(
            ("call_llm", "back_off", on_exception(RateLimited)),
            ("call_llm", "apologize", on_exception()),
            ("call_llm", "show", default),
        )
        .with_entrypoint("call_llm")
        .with_state(answer=None)
    )


def test_exception_transition_routes_by_exception_type() -> None:
    app = routed_app(RateLimited("429")).build()
    ran, _, state = app.run(halt_after=["back_off", "apologize", "show"])
    assert ran.name == "back_off" and state["waited"] is True


def test_exception_transition_falls_back_to_a_broader_route_in_order() -> None:
    app = routed_app(ValueError("bad json")).build()
    ran, _, state = app.run(halt_after=["back_off", "apologize", "show"])
    assert ran.name == "apologize" and state["apology"] == "sorry: bad json"


def test_the_next_action_gets_the_error_record_in_state() -> None:
    app = routed_app(ValueError("bad json")).build()
    _, _, state = app.run(halt_after=["apologize"])
    record = state[ERROR_KEY]
    assert (record["type"], record["action"], record["sequence_id"], record["attempts"]) == (
        "ValueError",
        "call_llm",
        0,
        1,
    )
    assert "bad json" in record["traceback"]


async def test_exception_transition_routes_async_actions() -> None:
    @action(reads=[], writes=["answer"])
    async def call_llm(state: State) -> State:
        raise RateLimited("429")

    app = (
        ApplicationBuilder()
        .with_actions(call_llm=call_llm, back_off=back_off)
        .with_transitions(("call_llm", "back_off", on_exception(RateLimited)))
        .with_entrypoint("call_llm")
        .build()
    )
    ran, _, state = await app.arun(halt_after=["back_off"])
    assert ran.name == "back_off" and state[ERROR_KEY]["type"].endswith("RateLimited")


def test_routing_happens_after_retries_run_out() -> None:
    app = routed_app(RateLimited("429")).with_policies(call_llm=RetryPolicy(3, initial_delay=0)).build()
    _, _, state = app.run(halt_after=["back_off"])
    assert state[ERROR_KEY]["attempts"] == 3


def test_an_exception_no_transition_handles_is_raised() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(call_llm=failing(KeyError("k")), back_off=back_off)
        .with_transitions(("call_llm", "back_off", on_exception(RateLimited)))
        .with_entrypoint("call_llm")
        .build()
    )
    with pytest.raises(KeyError):
        app.run(halt_after=["back_off"])
    assert ERROR_KEY not in app.state


def test_a_successful_step_never_takes_an_exception_transition() -> None:
    @action(reads=[], writes=["answer"])
    def call_llm(state: State) -> State:
        return state.update(answer="fine")

    app = (
        ApplicationBuilder()
        .with_actions(call_llm=call_llm, apologize=apologize, show=show)
        .with_transitions(("call_llm", "apologize", on_exception()), ("call_llm", "show"))
        .with_entrypoint("call_llm")
        .build()
    )
    ran, _, state = app.run(halt_after=["show", "apologize"])
    assert ran.name == "show" and state["shown"] == "fine"


def test_unhandled_failure_is_persisted_as_failed_before_raising(tmp_path: Any) -> None:
    persister = SQLitePersister(db_path=str(tmp_path / "p.db"), table_name="unhandled")
    persister.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(call_llm=failing(ValueError("boom")))
        .with_transitions()
        .with_entrypoint("call_llm")
        .with_state_persister(persister)
        .with_identifiers(app_id="u1")
        .build()
    )
    with pytest.raises(ValueError):
        app.run(halt_after=["call_llm"])
    loaded = persister.load(None, "u1")
    assert loaded is not None and (loaded["status"], loaded["position"]) == ("failed", "call_llm")


def test_a_routed_failure_resumes_into_the_error_route_after_reload(tmp_path: Any) -> None:
    persister = SQLitePersister(db_path=str(tmp_path / "p.db"), table_name="routed")
    persister.initialize()
    app = routed_app(ValueError("bad")).with_state_persister(persister).with_identifiers(app_id="r1").build()
    app.step()  # call_llm fails and is routed; stop before the handler runs
    reloaded = (
        ApplicationBuilder()
        .with_actions(call_llm=failing(ValueError("bad")), apologize=apologize, back_off=back_off, show=show)
        .with_transitions(
            ("call_llm", "back_off", on_exception(RateLimited)),
            ("call_llm", "apologize", on_exception()),
            ("call_llm", "show", default),
        )
        .initialize_from(
            persister, resume_at_next_action=True, default_state={}, default_entrypoint="call_llm"
        )
        .with_identifiers(app_id="r1")
        .build()
    )
    ran, _, state = reloaded.run(halt_after=["apologize"])
    assert ran.name == "apologize" and state["apology"] == "sorry: bad"


def test_error_edges_are_drawn_in_mermaid() -> None:
    text = routed_app(ValueError()).build().graph.to_mermaid()
    assert "on_exception(RateLimited)" in text and "on_exception(Exception)" in text
    assert "linkStyle" in text and "stroke:#d62728" in text


def test_error_edges_are_drawn_in_graphviz() -> None:
    pytest.importorskip("graphviz")
    dot = routed_app(ValueError()).build().visualize().source
    assert "on_exception(RateLimited)" in dot and "#d62728" in dot


def test_error_edges_are_in_the_tracker_graph(tmp_path: Any) -> None:
    tracker = LocalTrackingClient(project="policies", storage_dir=str(tmp_path))
    routed_app(ValueError()).with_tracker(tracker).with_identifiers(app_id="g1").build()
    tracker.flush()
    graph = json.loads((tmp_path / "policies" / "g1" / "graph.json").read_text())
    conditions = {(t["from_"], t["to"]): t["condition"] for t in graph["transitions"]}
    assert conditions[("call_llm", "back_off")] == "on_exception(RateLimited)"


# ---------------------------------------------------------------------------------------------
# loop guard
# ---------------------------------------------------------------------------------------------


@action(reads=["n"], writes=["n"])
def spin(state: State) -> State:
    return state.update(n=state["n"] + 1)


def spinning() -> ApplicationBuilder:
    return ApplicationBuilder().with_actions(spin).with_transitions(("spin", "spin")).with_entrypoint("spin")


def test_loop_guard_stops_a_run_that_takes_too_many_steps() -> None:
    app = spinning().with_state(n=0).with_max_steps(5).build()
    with pytest.raises(MaxStepsExceededError, match="5 steps"):
        app.run(halt_after=[])
    assert app.state["n"] == 5


async def test_loop_guard_stops_an_async_run() -> None:
    app = spinning().with_state(n=0).with_max_steps(3).build()
    with pytest.raises(MaxStepsExceededError):
        await app.arun(halt_after=[])
    assert app.state["n"] == 3


def test_loop_guard_counts_steps_per_call() -> None:
    @action(reads=["n"], writes=["n"])
    def count(state: State) -> State:
        return state.update(n=state["n"] + 1)

    app = (
        ApplicationBuilder()
        .with_actions(count, spin)
        .with_transitions(("count", "spin"), ("spin", "count"))
        .with_entrypoint("count")
        .with_state(n=0)
        .with_max_steps(2)
        .build()
    )
    app.run(halt_after=["spin"])
    app.run(halt_after=["spin"])
    assert app.state["n"] == 4


def test_loop_guard_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="with_max_steps"):
        spinning().with_max_steps(0)


# ---------------------------------------------------------------------------------------------
# build-time checks and bad policy input
# ---------------------------------------------------------------------------------------------


def reads_unwritten() -> ApplicationBuilder:
    return ApplicationBuilder().with_actions(show=show).with_transitions().with_entrypoint("show")


def test_build_warns_when_an_action_reads_a_key_nothing_writes(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING):
        reads_unwritten().build()
    assert "`show` reads ['answer']" in caplog.text


def test_build_does_not_warn_when_initial_state_provides_the_key(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING):
        reads_unwritten().with_state(answer=1).build()
    assert "reads" not in caplog.text


def test_strict_checks_turn_read_warnings_into_errors() -> None:
    with pytest.raises(GraphCheckError, match="`show` reads"):
        reads_unwritten().with_strict_checks().build()


def test_strict_checks_reject_unreachable_actions() -> None:
    builder = (
        ApplicationBuilder()
        .with_actions(spin, back_off=back_off)
        .with_transitions(("spin", "spin"))
        .with_entrypoint("spin")
        .with_state(n=0)
        .with_strict_checks()
    )
    with pytest.raises(GraphCheckError, match="back_off"):
        builder.build()


def test_error_record_counts_as_written_for_actions_behind_exception_edges(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING):
        routed_app(ValueError()).with_strict_checks().build()
    assert "last_error" not in caplog.text


def test_run_warns_about_a_halt_that_can_never_be_reached(caplog: Any) -> None:
    app = (
        ApplicationBuilder()
        .with_actions(back_off, spin)
        .with_transitions(("back_off", "spin"), ("spin", "spin"))
        .with_entrypoint("spin")
        .with_state(n=0)
        .with_max_steps(2)
        .build()
    )
    with caplog.at_level(logging.WARNING), pytest.raises(MaxStepsExceededError):
        app.run(halt_after=["back_off"])
    assert "halt" in caplog.text and "back_off" in caplog.text


def test_strict_run_rejects_a_halt_that_can_never_be_reached() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(back_off, spin)
        .with_transitions(("back_off", "spin"), ("spin", "spin"))
        .with_entrypoint("back_off")
        .with_state(n=0)
        .with_strict_checks()
        .build()
    )
    app.step()
    with pytest.raises(GraphCheckError, match="back_off"):
        app.run(halt_after=["back_off"])


@pytest.mark.parametrize(
    "kwargs, phrase",
    [({"nope": RetryPolicy()}, "nope"), ({"spin": "fast"}, "not a policy")],
)
def test_builder_policies_with_bad_input_fail_at_build(kwargs: dict, phrase: str) -> None:
    with pytest.raises(ValueError, match=phrase):
        spinning().with_state(n=0).with_policies(**kwargs).build()


def test_an_error_edge_declared_after_a_default_one_still_counts_as_reachable() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(call_llm=failing(ValueError("x")), show=show, apologize=apologize)
        .with_transitions(("call_llm", "show"), ("call_llm", "apologize", on_exception()))
        .with_entrypoint("call_llm")
        .with_state(answer=None)
        .with_strict_checks()
        .build()
    )
    ran, _, state = app.run(halt_after=["apologize", "show"])
    assert ran.name == "apologize" and state[ERROR_KEY]["message"] == "x"


def test_graph_get_next_node_follows_the_error_route_only_after_a_failure() -> None:
    graph = routed_app(ValueError()).build().graph
    failed = {ERROR_KEY: {"types": ["ValueError"], "sequence_id": 0, "action": "call_llm"}}
    after_failure = {**failed, "__SEQUENCE_ID": 0, "__PRIOR_STEP": "call_llm"}
    after_success = {"answer": "a", "__SEQUENCE_ID": 0, "__PRIOR_STEP": "call_llm"}
    assert graph.get_next_node("call_llm", State(after_failure), "call_llm").name == "apologize"
    assert graph.get_next_node("call_llm", State(after_success), "call_llm").name == "show"


def test_strict_run_accepts_halts_when_at_least_one_is_reachable() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(back_off, spin)
        .with_transitions(("back_off", "spin"), ("spin", "spin"))
        .with_entrypoint("back_off")
        .with_state(n=0)
        .with_strict_checks()
        .build()
    )
    app.step()
    action, _, _ = app.run(halt_after=["back_off", "spin"])  # back_off is unreachable, spin is not
    assert action.name == "spin"
