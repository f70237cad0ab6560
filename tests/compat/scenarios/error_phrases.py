"""Error types and the key phrases of Apache Burr 0.43's messages (spec section 3).

Our messages are longer and clearer by design; each must still contain Apache Burr's key phrase(s).
"""

import asyncio
import logging

from _compat import Out

from burr.core import Action, ApplicationBuilder, State, action, when
from burr.core.action import Result, create_action, streaming_action
from burr.core.graph import GraphBuilder
from burr.core.persistence import AsyncInMemoryPersister, InMemoryPersister, SQLitePersister
from burr.tracking import LocalTrackingClient

logging.disable(logging.CRITICAL)


@action(reads=["n"], writes=["n"])
def inc(state, x: int):
    return state.update(n=state["n"] + x)


@action(reads=[], writes=["q"])
def noq(state):
    return state


class Undecl(Action):
    reads = []
    writes = ["a"]

    def run(self, state):
        return {}

    def update(self, r, s):
        return s.update(a=1, b=2)


class NonDict(Action):
    reads = []
    writes = []

    def run(self, state):
        return 1

    def update(self, r, s):
        return s


class ARun(Action):
    reads = []
    writes = []

    async def run(self, state):
        return {}

    def update(self, r, s):
        return s


@streaming_action(reads=[], writes=["x"])
def badyield(state):
    yield 1


@streaming_action(reads=[], writes=["x"])
def nostate(state):
    yield {"a": 1}, None


@streaming_action(reads=[], writes=["x"])
def syncstream(state):
    yield {"a": 1}, state.update(x=1)


def B(**a):
    return ApplicationBuilder().with_actions(**a)


cases = {
    "no_graph": lambda: ApplicationBuilder().with_entrypoint("x").build(),
    "no_actions": lambda: ApplicationBuilder().with_actions().with_entrypoint("x").build(),
    "dup": lambda: (
        ApplicationBuilder()
        .with_graph(GraphBuilder().with_actions(r=Result("a")).build())
        .with_actions(r=Result("b"))
        .with_entrypoint("r")
        .build()
    ),
    "unnamed_positional": lambda: ApplicationBuilder().with_actions(Result("a")),
    "not_action": lambda: ApplicationBuilder().with_actions(x=lambda s: s),
    "rename": lambda: ApplicationBuilder().with_actions(y=Result("a").with_name("r")),
    "trans_target": lambda: B(r=Result("a")).with_transitions(("r", "zz")).with_entrypoint("r").build(),
    "trans_source": lambda: B(r=Result("a")).with_transitions(("zz", "r")).with_entrypoint("r").build(),
    "trans_nonstr": lambda: B(r=Result("a")).with_transitions((1, "r")).with_entrypoint("r").build(),
    "trans_nonstr_target": lambda: B(r=Result("a")).with_transitions(("r", 1)).with_entrypoint("r").build(),
    "redundant": lambda: (
        B(r=Result("a"), s=Result("a")).with_transitions(("r", "s"), ("r", "r")).with_entrypoint("r").build()
    ),
    "no_entry": lambda: B(r=Result("a")).build(),
    "unknown_entry": lambda: B(r=Result("a")).with_entrypoint("x").build(),
    "entry_twice": lambda: ApplicationBuilder().with_entrypoint("a").with_entrypoint("b"),
    "init_after_state": lambda: (
        ApplicationBuilder()
        .with_state(a=1)
        .initialize_from(
            InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="r"
        )
    ),
    "fork_pk_no_app": lambda: ApplicationBuilder().initialize_from(
        InMemoryPersister(),
        resume_at_next_action=True,
        default_state={},
        default_entrypoint="r",
        fork_from_partition_key="x",
    ),
    "tracker_str": lambda: ApplicationBuilder().with_tracker("s3", project="p"),
    "tracker_params": lambda: ApplicationBuilder().with_tracker(LocalTrackingClient("p"), params={"a": 1}),
    "async_persister_build": lambda: (
        B(r=Result("a")).with_entrypoint("r").with_state_persister(AsyncInMemoryPersister()).build()
    ),
    "sync_persister_abuild": lambda: asyncio.run(
        B(r=Result("a")).with_entrypoint("r").with_state_persister(InMemoryPersister()).abuild()
    ),
    "uninit_persister": lambda: (
        B(r=Result("a")).with_entrypoint("r").with_state_persister(SQLitePersister(":memory:")).build()
    ),
    "missing_input": lambda: B(i=inc).with_state(n=1).with_entrypoint("i").build().step(),
    "dunder_input": lambda: B(i=inc).with_state(n=1).with_entrypoint("i").build().step(inputs={"__x": 1}),
    "non_dict": lambda: B(i=NonDict()).with_entrypoint("i").build().step(),
    "fn_shape": lambda: B(i=action(reads=[], writes=[])(lambda state: 1)).with_entrypoint("i").build().step(),
    "missing_write": lambda: B(i=noq).with_entrypoint("i").build().step(),
    "undeclared": lambda: B(i=Undecl()).with_entrypoint("i").build().step(),
    "key_error": lambda: State({"a": 1})["b"],
    "async_class_sync": lambda: B(i=ARun()).with_entrypoint("i").build().step(),
    "abuild_sync": lambda: asyncio.run(B(r=Result("a")).with_entrypoint("r").abuild()).step(),
    "cond_missing": lambda: when(a=1).run(State()),
    "halt_unknown": lambda: B(r=Result("a")).with_entrypoint("r").build().run(halt_after=["zz"]),
    "tag_unknown": lambda: B(r=Result("a")).with_entrypoint("r").build().run(halt_after=["@tag:zz"]),
    "stream_no_next": lambda: (lambda app: (app.run(halt_after=["r"]), app.stream_result(halt_after=["r"])))(
        B(r=Result("a")).with_entrypoint("r").build()
    ),
    "stream_bad_yield": lambda: (
        B(s=badyield).with_entrypoint("s").build().stream_result(halt_after=["s"])[1].get()
    ),
    "stream_no_state": lambda: (
        B(s=nostate).with_entrypoint("s").build().stream_result(halt_after=["s"])[1].get()
    ),
    "astream_sync": lambda: asyncio.run(_astream()),
    "append": lambda: State({"a": 1}).append(a=1),
    "extend": lambda: State({"a": 1}).extend(a=[1]),
    "increment": lambda: State({"a": "x"}).increment(a=1),
    "project": lambda: LocalTrackingClient("bad name"),
    "or": lambda: when(a=1) | 1,
    "and": lambda: when(a=1) & 1,
    "on_every": lambda: ApplicationBuilder().with_state_persister(InMemoryPersister(), on_every="x"),
    "wipe_both": lambda: State().wipe(delete=["a"], keep=["b"]),
    "get_action": lambda: GraphBuilder().with_actions(r=Result("a")).build().get_action("zz"),
    "validate_inputs": lambda: inc.action_function.validate_inputs({}),
    "validate_inputs_extra": lambda: inc.action_function.validate_inputs({"x": 1, "y": 2}),
    "create_action": lambda: create_action(1, "x"),
    "with_name": lambda: Result("a").with_name("a").with_name("b"),
    "state_after_init": lambda: (
        ApplicationBuilder()
        .initialize_from(
            InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="r"
        )
        .with_state(a=1)
    ),
    "entry_after_init": lambda: (
        ApplicationBuilder()
        .initialize_from(
            InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="r"
        )
        .with_entrypoint("r")
    ),
    "typed_no_typing": lambda: ApplicationBuilder().with_state(object()),
    "state_obj_after_kwargs": lambda: ApplicationBuilder().with_state(a=1).with_state(State()),
    "executor_twice": lambda: (
        ApplicationBuilder().with_parallel_executor(lambda: None).with_parallel_executor(lambda: None)
    ),
    "subset_strict": lambda: State().subset("a", ignore_missing=False),
}


async def _astream():
    app = await B(s=syncstream).with_entrypoint("s").abuild()
    return await app.astream_result(halt_after=["s"])


out = Out()
PHRASES = {
    "no_graph": ["No graph constructs exist"],
    "no_actions": ["Must have at least one action in the application!"],
    "dup": ["Action: r is duplicated in the actions list"],
    "unnamed_positional": ["must have a name set"],
    "not_action": ["is not a valid action. Have you decorated it with @action or @streaming_action?"],
    "rename": ["Name of r: a -> {} already set to r -- cannot set name to y"],
    "trans_target": [
        "Transition target: `zz` not found in actions! Please add to actions using with_actions(zz=...)"
    ],
    "trans_source": [
        "Transition source: `zz` not found in actions! Please add to actions using with_actions(zz=...)"
    ],
    "trans_nonstr": ["Transition source must be a string, not 1"],
    "trans_nonstr_target": ["Transition target must be a string, not 1"],
    "redundant": ["Transition `r` -> `r` is redundant -- a default transition has already been set for `r`"],
    "no_entry": ["Must call `with_entrypoint` before building application!"],
    "unknown_entry": ["Entrypoint: x not found in actions. Please add using with_actions(x=...)"],
    "entry_twice": ["You cannot set the entrypoint if you are loading a persister"],
    "init_after_state": ["Cannot call initialize_from if you have already set state or an entrypoint!"],
    "fork_pk_no_app": [
        "If you set fork_from_partition_key or fork_from_sequence_id, you must also set fork_from_app_id"
    ],
    "tracker_str": ["Tracker s3:p not supported"],
    "tracker_params": ["Params are not supported for object-specified trackers"],
    "async_persister_build": ["You are building the sync application, but have used an async persister"],
    "sync_persister_abuild": ["You are building the async application, but have used an sync persister"],
    "uninit_persister": ["Uninitialized persister. Make sure to call .initialize()"],
    "missing_input": ["Action i is missing required inputs", "Has inputs"],
    "dunder_input": [
        "Inputs starting with a double underscore",
        "are reserved for internal use/injected inputs",
    ],
    "non_dict": ["Action i returned a non-dict result: 1", "All results must be dictionaries"],
    "fn_shape": [
        "Single step action: i must return either *just* the newly updated State or a tuple of (result: dict, state: State)"
    ],
    "missing_write": [
        "State is missing write keys after running: i. Missing keys are: {'q'}. Has writes: ['q']"
    ],
    "undeclared": [
        "Action i attempted to write to keys {'b'} that it did not declare. It declared: (['a'])!"
    ],
    "key_error": ['Key "b" not found in state. Keys state knows about are:'],
    "async_class_sync": ["Cannot run async:", "in non-async context. Use astep()/aiterate()/arun() instead"],
    "abuild_sync": [
        "The application was build with .abuild() which needs to be executed in an asynchronous run"
    ],
    "cond_missing": ["Missing keys in state required by condition: condition: a=1"],
    "halt_unknown": ["are not registered actions"],
    "tag_unknown": ["Tag: zz not found in graph. Tags are:"],
    "stream_no_next": ["Cannot stream result -- no next action found! Prior action was: r"],
    "stream_bad_yield": ["Action s must yield a tuple of (result, state_update)"],
    "stream_no_state": [
        "Action s did not return a state update. For streaming actions, the last yield statement must be a tuple of (result, state_update)"
    ],
    "astream_sync": ["but is marked as streaming"],
    "append": ["Cannot append to non-appendable values"],
    "extend": ["Cannot extend non-extendable values"],
    "increment": ["Cannot increment non-integer values"],
    "project": ["Project: bad name is not valid."],
    "or": ["Cannot OR a Condition with 1"],
    "and": ["Cannot AND a Condition with 1"],
    "on_every": ["on_every", "not supported"],
    "wipe_both": ["You cannot specify both delete and keep"],
    "get_action": ["Action: zz not found in graph. Actions are:"],
    "validate_inputs": ["are invalid. Missing the following inputs: x."],
    "validate_inputs_extra": ["are invalid. Additional inputs: y"],
    "create_action": [
        "Object 1",
        "is not a valid action. Have you decorated it with @action or @streaming_action?",
    ],
    "with_name": ["Name of a: a -> {} already set to a -- cannot set name to b"],
    "state_after_init": ["You cannot set state if you are loading state"],
    "entry_after_init": [
        "You cannot set the entrypoint if you are loading a persister using the .initialize_from() API"
    ],
    "typed_no_typing": ["You have not set a typing system, and you are passing in a typed state object"],
    "state_obj_after_kwargs": [
        "State items have already been set -- you cannot use the type-based API as well"
    ],
    "executor_twice": ["You have already set an executor"],
    "subset_strict": ['Key "a" not found in state. Keys state knows about are:'],
}
for name, fn in cases.items():
    out.raises(name, fn, *PHRASES[name])
out.dump()
