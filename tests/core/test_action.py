"""Actions: decorators, class-based actions, Result/Input, inputs derivation and module importability."""

from __future__ import annotations

import asyncio
import importlib
import types
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest

from burr.core.action import (
    DEFAULT_SCHEMA,
    Action,
    AsyncStreamingAction,
    DefaultSchema,
    FunctionBasedAction,
    FunctionBasedStreamingAction,
    Input,
    Result,
    SingleStepAction,
    SingleStepStreamingAction,
    StreamingAction,
    action,
    bind,
    copy_func,
    create_action,
    derive_inputs_from_fn,
    injected_param_names,
    remap_injected_params,
    streaming_action,
    type_eraser,
)
from burr.core.implementations import Placeholder
from burr.core.state import State

# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


class Counter(Action):
    @property
    def reads(self) -> list[str]:
        return ["count"]

    @property
    def writes(self) -> list[str]:
        return ["count"]

    def run(self, state: State, **run_kwargs: Any) -> dict[str, Any]:
        return {"count": state["count"] + 1}

    def update(self, result: dict[str, Any], state: State) -> State:
        return state.update(**result)


class AsyncCounter(Counter):
    async def run(self, state: State, **run_kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return {"count": state["count"] + 1}


class Both(SingleStepAction):
    @property
    def reads(self) -> list[str]:
        return ["a"]

    @property
    def writes(self) -> list[str]:
        return ["b"]

    def run_and_update(self, state: State, **run_kwargs: Any) -> tuple[dict[str, Any], State]:
        return {"b": state["a"]}, state.update(b=state["a"])


class AsyncBoth(Both):
    async def run_and_update(self, state: State, **run_kwargs: Any) -> tuple[dict[str, Any], State]:  # type: ignore[override]
        return {"b": 1}, state.update(b=1)


class Streamer(StreamingAction):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["out"]

    def stream_run(self, state: State, **run_kwargs: Any) -> Generator[dict[str, Any], None, None]:
        for i in range(3):
            yield {"i": i}

    def update(self, result: dict[str, Any], state: State) -> State:
        return state.update(out=result["i"])


class AsyncStreamer(AsyncStreamingAction):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["out"]

    async def stream_run(self, state: State, **run_kwargs: Any) -> AsyncGenerator[dict[str, Any], None]:
        for i in range(3):
            yield {"i": i}

    def update(self, result: dict[str, Any], state: State) -> State:
        return state.update(out=result["i"])


class SingleStreamer(SingleStepStreamingAction):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["out"]

    def stream_run_and_update(self, state: State, **run_kwargs: Any) -> Any:
        yield {"tok": 1}, None
        yield {"out": 2}, state.update(out=2)


# ------------------------------------------------------------------------------------------------
# module importability (fix #30)
# ------------------------------------------------------------------------------------------------


def test_import_as_gives_the_module() -> None:
    import burr.core.action as m

    assert isinstance(m, types.ModuleType)
    assert m.Action is Action


def test_from_package_import_action_is_usable_as_decorator() -> None:
    from burr.core import action as action_from_package

    @action_from_package(reads=["x"], writes=["y"])
    def f(state: State) -> State:
        return state.update(y=1)

    assert isinstance(f.action_function, FunctionBasedAction)  # type: ignore[attr-defined]
    assert f.action_function.writes == ["y"]  # type: ignore[attr-defined]


def test_from_module_import_names() -> None:
    mod = importlib.import_module("burr.core.action")
    assert mod.action is action
    assert mod.streaming_action is streaming_action
    assert mod.Action is Action


def test_action_pydantic_attribute_exists_on_decorator_and_module() -> None:
    import burr.core.action as m

    assert callable(action.pydantic)  # type: ignore[attr-defined]
    assert callable(streaming_action.pydantic)  # type: ignore[attr-defined]
    assert m.pydantic is action.pydantic  # type: ignore[attr-defined]


def test_importing_action_module_does_not_import_pydantic() -> None:
    import subprocess
    import sys

    code = "import sys, burr.core.action, burr.core.graph; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------------------
# @action / @streaming_action
# ------------------------------------------------------------------------------------------------


def test_action_decorator_returns_same_function_object() -> None:
    def fn(state: State) -> State:
        return state

    decorated = action(reads=[], writes=[])(fn)
    assert decorated is fn


def test_action_decorated_function_stays_callable() -> None:
    @action(reads=["x"], writes=["x"])
    def inc(state: State, by: int = 1) -> State:
        return state.update(x=state["x"] + by)

    assert inc(State({"x": 1}), by=2)["x"] == 3


def test_action_function_carries_reads_writes_tags() -> None:
    @action(reads=["a"], writes=["b"], tags=["t1"])
    def fn(state: State) -> State:
        return state

    af = fn.action_function  # type: ignore[attr-defined]
    assert (af.reads, af.writes, af.tags, af.name) == (["a"], ["b"], ["t1"], None)
    assert af.single_step and not af.streaming
    assert af.schema is DEFAULT_SCHEMA


def test_function_action_run_and_update_passes_inputs() -> None:
    @action(reads=[], writes=["v"])
    def fn(state: State, v: int) -> tuple[dict[str, Any], State]:
        return {"v": v}, state.update(v=v)

    result, new_state = fn.action_function.run_and_update(State(), v=5)  # type: ignore[attr-defined]
    assert result == {"v": 5} and new_state["v"] == 5


def test_async_function_action_is_async() -> None:
    @action(reads=[], writes=[])
    async def fn(state: State) -> State:
        return state

    assert fn.action_function.is_async()  # type: ignore[attr-defined]


def test_sync_function_action_is_not_async() -> None:
    @action(reads=[], writes=[])
    def fn(state: State) -> State:
        return state

    assert not fn.action_function.is_async()  # type: ignore[attr-defined]


def test_streaming_action_returns_a_copy() -> None:
    def gen(state: State) -> Generator[tuple[dict[str, Any], State | None], None, None]:
        yield {"out": 1}, state.update(out=1)

    decorated = streaming_action(reads=[], writes=["out"])(gen)
    assert decorated is not gen
    assert not hasattr(gen, "action_function")
    assert isinstance(decorated.action_function, FunctionBasedStreamingAction)  # type: ignore[attr-defined]


def test_streaming_function_action_drains_to_final_result() -> None:
    @streaming_action(reads=[], writes=["out"])
    def gen(state: State) -> Generator[tuple[dict[str, Any], State | None], None, None]:
        yield {"tok": "a"}, None
        yield {"out": "a"}, state.update(out="a")

    af = gen.action_function  # type: ignore[attr-defined]
    assert af.streaming and af.single_step
    result, new_state = af.run_and_update(State())
    assert result == {"out": "a"} and new_state["out"] == "a"


def test_async_streaming_function_action_is_async() -> None:
    @streaming_action(reads=[], writes=["out"])
    async def gen(state: State) -> AsyncGenerator[tuple[dict[str, Any], State | None], None]:
        yield {"out": 1}, state.update(out=1)

    af = gen.action_function  # type: ignore[attr-defined]
    assert af.is_async()
    result, new_state = asyncio.run(af.run_and_update(State()))
    assert result == {"out": 1} and new_state["out"] == 1


def test_streaming_action_without_final_state_errors() -> None:
    @streaming_action(reads=[], writes=["out"])
    def gen(state: State) -> Generator[tuple[dict[str, Any], None], None, None]:
        yield {"tok": "a"}, None

    with pytest.raises(ValueError, match="did not return a state update"):
        gen.action_function.with_name("gen").run_and_update(State())  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------
# bind and inputs
# ------------------------------------------------------------------------------------------------


def test_bind_returns_copy_and_removes_bound_inputs() -> None:
    @action(reads=[], writes=[])
    def fn(state: State, bound_input: int, unbound_input: int) -> State:
        return state

    bound = fn.bind(bound_input=1)  # type: ignore[attr-defined]
    assert bound is not fn
    assert bound.action_function.inputs == (["unbound_input"], [])
    assert fn.action_function.inputs == (["bound_input", "unbound_input"], [])  # type: ignore[attr-defined]


def test_bind_with_defaults_splits_required_and_optional() -> None:
    @action(reads=[], writes=[])
    def fn(state: State, b: int, req: int, opt: int = 1) -> State:
        return state

    assert fn.bind(b=1).action_function.inputs == (["req"], ["opt"])  # type: ignore[attr-defined]


def test_bound_params_are_passed_when_running() -> None:
    @action(reads=[], writes=["s"])
    def fn(state: State, a: int, b: int) -> State:
        return state.update(s=a + b)

    new_state = fn.bind(a=10).action_function.run_and_update(State(), b=5)  # type: ignore[attr-defined]
    assert new_state["s"] == 15


def test_bind_twice_merges_params() -> None:
    @action(reads=[], writes=[])
    def fn(state: State, a: int, b: int, c: int) -> State:
        return state

    assert fn.bind(a=1).bind(b=2).action_function.inputs == (["c"], [])  # type: ignore[attr-defined]


def test_bind_on_streaming_action() -> None:
    @streaming_action(reads=[], writes=["out"])
    def gen(state: State, prefix: str, prompt: str) -> Any:
        yield {"out": prefix + prompt}, state.update(out=prefix + prompt)

    bound = gen.bind(prefix=">")  # type: ignore[attr-defined]
    assert bound.action_function.inputs == (["prompt"], [])
    assert bound.action_function.run_and_update(State(), prompt="x")[0] == {"out": ">x"}


def test_module_level_bind_function() -> None:
    @action(reads=[], writes=[])
    def fn(state: State, a: int) -> State:
        return state

    assert bind(fn, a=1).action_function.inputs == ([], [])  # type: ignore[attr-defined]


def test_derive_inputs_ignores_state_and_unknown_bound_names() -> None:
    def fn(state: State, a: int, b: int = 2, *args: Any, **kwargs: Any) -> State:
        return state

    assert derive_inputs_from_fn({"zzz": 1}, fn) == (["a"], ["b"])


def test_dunder_params_without_default_are_required_inputs() -> None:
    @action(reads=[], writes=[])
    def fn(state: State, __context: Any, __tracer: Any = None) -> State:
        return state

    af = fn.action_function  # type: ignore[attr-defined]
    assert af.inputs == (["__context"], ["__tracer"])
    assert af.optional_and_required_inputs == ({"__context"}, {"__tracer"})


def test_copy_func_copies_attributes_and_behaviour() -> None:
    def f(x: int, y: int = 2) -> int:
        return x + y

    f.marker = 1  # type: ignore[attr-defined]
    g = copy_func(f)
    assert g is not f and g(1) == 3 and g.marker == 1 and g.__name__ == "f"  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------
# undeclared reads scan (0.43)
# ------------------------------------------------------------------------------------------------


def test_undeclared_state_read_raises() -> None:
    with pytest.raises(ValueError, match=r"Action reads undeclared state keys: \['b'\]"):

        @action(reads=["a"], writes=["c"])
        def fn(state: State) -> State:
            return state.update(c=state["a"] + state["b"])


def test_undeclared_read_not_checked_without_state_annotation() -> None:
    @action(reads=["a"], writes=["c"])
    def fn(state):  # type: ignore[no-untyped-def]
        return state.update(c=state["b"])

    assert fn.action_function.reads == ["a"]


def test_undeclared_read_not_checked_with_empty_reads() -> None:
    @action(reads=[], writes=["c"])
    def fn(state: State) -> State:
        return state.update(c=state["b"])

    assert fn.action_function.reads == []  # type: ignore[attr-defined]


def test_reading_back_a_written_key_is_allowed() -> None:
    @action(reads=["a"], writes=["c"])
    def fn(state: State) -> State:
        state = state.update(c=state["a"])
        return state.update(c=state["c"] + 1)

    assert fn(State({"a": 1}))["c"] == 2


def test_nested_function_state_reads_are_ignored() -> None:
    @action(reads=["a"], writes=["c"])
    def fn(state: State) -> State:
        def helper(state: dict[str, int]) -> int:
            return state["other"]

        return state.update(c=helper({"other": state["a"]}))

    assert fn(State({"a": 4}))["c"] == 4


def test_undeclared_streaming_read_raises() -> None:
    with pytest.raises(ValueError, match="Action reads undeclared state keys"):

        @streaming_action(reads=["a"], writes=["c"])
        def gen(state: State) -> Any:
            yield {"c": state["zz"]}, state


# ------------------------------------------------------------------------------------------------
# create_action
# ------------------------------------------------------------------------------------------------


def test_create_action_names_function_action() -> None:
    @action(reads=[], writes=[])
    def fn(state: State) -> State:
        return state

    created = create_action(fn, "my_fn")
    assert created.name == "my_fn" and isinstance(created, FunctionBasedAction)
    assert fn.action_function.name is None  # type: ignore[attr-defined]


def test_create_action_names_class_action() -> None:
    created = create_action(Counter(), "counter")
    assert isinstance(created, Counter) and created.name == "counter"


def test_create_action_rejects_undecorated_function_with_hint() -> None:
    def plain(state: State) -> State:
        return state

    with pytest.raises(ValueError, match="is not a valid action. Have you decorated it") as e:
        create_action(plain, "plain")
    assert "@action(reads=[...], writes=[...])" in str(e.value)


def test_create_action_rejects_other_objects() -> None:
    with pytest.raises(ValueError, match="passed as action `x` is not a valid action"):
        create_action(42, "x")


# ------------------------------------------------------------------------------------------------
# class-based actions
# ------------------------------------------------------------------------------------------------


def test_with_name_returns_named_copy() -> None:
    a = Counter()
    named = a.with_name("c")
    assert named is not a and named.name == "c" and a.name is None


def test_with_name_twice_errors() -> None:
    with pytest.raises(
        ValueError, match="Name of c: count -> count already set to c -- cannot set name to d"
    ):
        Counter().with_name("c").with_name("d")


def test_action_repr() -> None:
    assert repr(Counter().with_name("c")) == "c: count -> count"
    assert repr(Result().with_name("r")) == "r: {} -> {}"


def test_action_defaults() -> None:
    a = Counter()
    assert (a.single_step, a.streaming, a.tags, a.inputs, a.input_schema()) == (False, False, [], [], None)
    assert a.schema is DEFAULT_SCHEMA


def test_action_without_super_init_has_no_name() -> None:
    class NoInit(Counter):
        def __init__(self) -> None:
            pass

    assert NoInit().name is None and NoInit().with_name("x").name == "x"


def test_class_action_get_source_is_class_source() -> None:
    assert "class Counter(Action)" in Counter().get_source()


def test_function_action_get_source_is_function_source() -> None:
    @action(reads=[], writes=[])
    def my_source_fn(state: State) -> State:
        return state

    assert "def my_source_fn" in my_source_fn.action_function.get_source()  # type: ignore[attr-defined]


def test_class_action_is_async_follows_run() -> None:
    assert not Counter().is_async()
    assert AsyncCounter().is_async()


def test_single_step_action_is_async_follows_run_and_update() -> None:
    assert Both().single_step and not Both().is_async()
    assert AsyncBoth().is_async()


def test_single_step_run_raises() -> None:
    with pytest.raises(ValueError, match="single-step action"):
        Both().run(State())


def test_streaming_action_run_returns_last_item() -> None:
    s = Streamer()
    assert s.streaming and s.run(State()) == {"i": 2}


def test_async_streaming_action_run_returns_last_item() -> None:
    s = AsyncStreamer()
    assert s.is_async() and asyncio.run(s.run(State())) == {"i": 2}


def test_single_step_streaming_action_run_and_update_drains() -> None:
    result, new_state = SingleStreamer().run_and_update(State())
    assert result == {"out": 2} and new_state["out"] == 2


def test_optional_and_required_inputs_from_tuple() -> None:
    class WithInputs(Counter):
        @property
        def inputs(self) -> tuple[list[str], list[str]]:
            return ["req"], ["opt"]

    assert WithInputs().optional_and_required_inputs == ({"req"}, {"opt"})


def test_validate_inputs_missing() -> None:
    with pytest.raises(ValueError, match="Missing the following inputs: a"):
        Input("a").with_name("i").validate_inputs({})


def test_validate_inputs_additional() -> None:
    with pytest.raises(ValueError, match="Additional inputs: b"):
        Input("a").with_name("i").validate_inputs({"a": 1, "b": 2})


def test_validate_inputs_ok() -> None:
    Input("a").with_name("i").validate_inputs({"a": 1})


def test_default_schema() -> None:
    assert DefaultSchema().intermediate_result_type() is dict
    with pytest.raises(NotImplementedError):
        DEFAULT_SCHEMA.state_input_type()
    with pytest.raises(NotImplementedError):
        DEFAULT_SCHEMA.state_output_type()


def test_type_eraser_returns_function_unchanged() -> None:
    def run(self: Any, state: State) -> dict[str, Any]:
        return {}

    assert type_eraser(run) is run


# ------------------------------------------------------------------------------------------------
# injected dunder params in class actions (fix #34)
# ------------------------------------------------------------------------------------------------


class WithContext(Action):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["ctx"]

    @property
    def inputs(self) -> list[str]:
        return ["__context"]

    def run(self, state: State, __context: Any) -> dict[str, Any]:
        return {"ctx": __context}

    def update(self, result: dict[str, Any], state: State) -> State:
        return state.update(**result)


class AsyncWithContext(SingleStepAction):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["ctx"]

    @property
    def inputs(self) -> tuple[list[str], list[str]]:
        return ["__context"], ["__tracer"]

    async def run_and_update(self, state: State, __context: Any, __tracer: Any = None) -> Any:  # type: ignore[override]
        return {"ctx": __context}, state.update(ctx=__context)


def test_injected_param_names_for_sync_class_run() -> None:
    assert injected_param_names(WithContext().run) == {"__context": "_WithContext__context"}


def test_remap_injected_params_calls_sync_run() -> None:
    a = WithContext()
    assert a.run(State(), **remap_injected_params(a.run, {"__context": "C"})) == {"ctx": "C"}


def test_remap_injected_params_calls_async_run_and_update() -> None:
    a = AsyncWithContext()
    kwargs = remap_injected_params(a.run_and_update, {"__context": "C", "__tracer": "T"})
    result, _ = asyncio.run(a.run_and_update(State(), **kwargs))
    assert result == {"ctx": "C"}


def test_remap_injected_params_is_identity_for_functions() -> None:
    def fn(state: State, __context: Any) -> State:
        return state

    kwargs = {"__context": 1}
    assert remap_injected_params(fn, kwargs) is kwargs


# ------------------------------------------------------------------------------------------------
# Result / Input / Placeholder
# ------------------------------------------------------------------------------------------------


def test_result_returns_present_fields_and_keeps_state() -> None:
    r = Result("a", "missing").with_name("r")
    state = State({"a": 1, "b": 2})
    assert r.reads == ["a", "missing"] and r.writes == []
    assert r.run(state) == {"a": 1}
    assert r.update({"a": 1}, state) is state


def test_input_writes_inputs_to_state() -> None:
    i = Input("x", "y").with_name("i")
    assert (i.reads, i.writes, i.inputs) == ([], ["x", "y"], ["x", "y"])
    result = i.run(State(), x=1, y=2)
    assert result == {"x": 1, "y": 2}
    assert i.update(result, State()).get_all() == {"x": 1, "y": 2}


def test_placeholder_raises_on_run() -> None:
    p = Placeholder(reads=["a"], writes=["b"]).with_name("todo")
    assert (p.reads, p.writes) == (["a"], ["b"])
    with pytest.raises(NotImplementedError, match="todo is a Placeholder"):
        p.run(State())
    with pytest.raises(NotImplementedError):
        p.update({}, State())


def test_streaming_result_containers_importable_from_action_module() -> None:
    from burr.core._streaming import AsyncStreamingResultContainer as Async
    from burr.core._streaming import StreamingResultContainer as Sync
    from burr.core.action import AsyncStreamingResultContainer, StreamingResultContainer

    assert (StreamingResultContainer, AsyncStreamingResultContainer) == (Sync, Async)


# ------------------------------------------------------------------------------------------------
# supporting modules: typing, validation, async_utils
# ------------------------------------------------------------------------------------------------


def test_dict_based_typing_system_round_trip() -> None:
    from burr.core.typing import DictBasedTypingSystem

    ts = DictBasedTypingSystem()
    state = ts.construct_state({"a": 1})
    assert state.typing_system is ts
    assert ts.construct_data(state) == {"a": 1}
    assert ts.state_type() is dict
    assert ts.state_pre_action_run_type(Counter(), None) is dict  # type: ignore[arg-type]
    assert ts.state_post_action_run_type(Counter(), None) is dict  # type: ignore[arg-type]


def test_assert_set_raises_with_method_name() -> None:
    from burr.core.validation import assert_set

    assert_set("x", "start", "with_entrypoint")
    with pytest.raises(ValueError, match="Must call `with_entrypoint` before building application!"):
        assert_set(None, "start", "with_entrypoint")


async def test_asyncify_generator_wraps_sync_and_async() -> None:
    from burr.common.async_utils import asyncify_generator

    async def agen() -> AsyncGenerator[int, None]:
        yield 1
        yield 2

    assert [i async for i in asyncify_generator(iter_sync())] == [1, 2]
    assert [i async for i in asyncify_generator(agen())] == [1, 2]


def iter_sync() -> Generator[int, None, None]:
    yield 1
    yield 2


async def test_arealize_collects_sync_async_and_single_items() -> None:
    from burr.common.async_utils import arealize

    async def agen() -> AsyncGenerator[int, None]:
        yield 3

    assert await arealize(iter_sync()) == [1, 2]
    assert await arealize(agen()) == [3]
    assert await arealize([4]) == [4]
    assert await arealize(5) == [5]


def test_create_action_with_action_class_suggests_instance() -> None:
    with pytest.raises(ValueError, match=r"is an Action class: pass an instance, Counter\(\)"):
        create_action(Counter, "c")
