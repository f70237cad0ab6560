"""Typed state with pydantic (burr.integrations.pydantic): state.data, @action.pydantic, errors."""

import logging

import pydantic
from _compat import Out, step_triple

from burr.core import ApplicationBuilder, State, action
from burr.integrations.pydantic import PydanticTypingSystem

logging.disable(logging.CRITICAL)
out = Out()


class Model(pydantic.BaseModel):
    count: int = 0
    words: list = []
    note: str | None = None


@action.pydantic(reads=["count"], writes=["count", "note"])
def bump(state: Model, by: int = 1) -> Model:
    state.count += by
    state.note = f"bumped {by}"
    return state


@action(reads=["count"], writes=["words"])
def plain(state: State) -> State:
    return state.append(words=state["count"])


app = (
    ApplicationBuilder()
    .with_actions(bump=bump, plain=plain)
    .with_transitions(("bump", "plain"), ("plain", "bump"))
    .with_typing(PydanticTypingSystem(Model))
    .with_state(Model(count=1))
    .with_entrypoint("bump")
    .build()
)
out("initial", [type(app.state.data).__name__, app.state.data.count])
out("step1", step_triple(app.step(inputs={"by": 2})))
out("step2", step_triple(app.step()))
out("data", app.state.data.model_dump())
out("inputs", [sorted(x) for x in bump.action_function.optional_and_required_inputs])
out.raises("state_before_typing", lambda: ApplicationBuilder().with_state(Model()), "typing system")
out.raises("bad_reads", lambda: action.pydantic(reads=["nope"], writes=[])(lambda state: state), "")


def bad_keys():
    @action.pydantic(reads=["nope"], writes=["count"])
    def f(state: Model) -> Model:
        return state

    return f


out.raises("unknown_field", bad_keys, "not present in the model")
out.dump()
