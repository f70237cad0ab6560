"""MapStates / MapActions / MapActionsAndStates / TaskBasedParallelAction (results, states, #31).

Child app ids are scoped differently on purpose (docs/migration.md, Parallelism), so they are
not compared.
"""

import asyncio
import logging

from _compat import Out, step_triple

from burr.core import ApplicationBuilder, ApplicationContext, GraphBuilder, State, action
from burr.core.action import Result
from burr.core.parallelism import (
    MapActions,
    MapActionsAndStates,
    MapStates,
    RunnableGraph,
    SubGraphTask,
    TaskBasedParallelAction,
)

logging.disable(logging.CRITICAL)
out = Out()


@action(reads=["x"], writes=["y"])
def square(state: State) -> State:
    return state.update(y=state["x"] ** 2)


@action(reads=["x"], writes=["y"])
def cube(state: State) -> State:
    return state.update(y=state["x"] ** 3)


@action(reads=["x"], writes=["y"])
async def asquare(state: State) -> State:
    return state.update(y=state["x"] ** 2)


seen = {}


class Squares(MapStates):
    def action(self, state: State, inputs: dict):
        return square

    def states(self, state: State, context: ApplicationContext, inputs: dict):
        seen["states.keys"] = sorted(state.keys())
        seen["states.context"] = type(context).__name__
        seen["states.inputs"] = dict(inputs)
        for x in state["xs"]:
            yield state.update(x=x)

    def reduce(self, state: State, states):
        states = list(states)
        seen["reduce.keys"] = sorted(state.keys())
        seen["reduce.child_keys"] = [sorted(s.keys()) for s in states]
        return state.update(ys=[s["y"] for s in states])

    @property
    def reads(self) -> list:
        return ["xs"]

    @property
    def writes(self) -> list:
        return ["ys"]


class Both(MapActions):
    def actions(self, state: State, inputs, context):
        # #31 (keep): declared (state, inputs, context) but called as (state, context, inputs)
        seen["actions.args"] = [type(inputs).__name__, type(context).__name__]
        return [square, cube]

    def state(self, state: State, inputs: dict):
        return state.update(x=3)

    def reduce(self, state: State, states):
        return state.update(both=[s["y"] for s in states])

    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["both"]


class Product(MapActionsAndStates):
    def actions(self, state, context, inputs):
        return [
            square,
            RunnableGraph(
                GraphBuilder().with_actions(cube=cube).build(), entrypoint="cube", halt_after=["cube"]
            ),
        ]

    def states(self, state, context, inputs):
        for x in [1, 2]:
            yield state.update(x=x)

    def reduce(self, state, states):
        return state.update(prod=[s["y"] for s in states])

    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["prod"]


class Tasks(TaskBasedParallelAction):
    def tasks(self, state, context, inputs):
        for i, x in enumerate([5, 6]):
            yield SubGraphTask(
                graph=RunnableGraph.create(square),
                inputs={},
                state=state.update(x=x),
                application_id=f"task-{i}",
            )

    def reduce(self, state, states):
        return state.update(tasks=[s["y"] for s in states])

    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return ["tasks"]


app = (
    ApplicationBuilder()
    .with_actions(
        sq=Squares(), both=Both(), prod=Product(), tasks=Tasks(), r=Result("ys", "both", "prod", "tasks")
    )
    .with_transitions(("sq", "both"), ("both", "prod"), ("prod", "tasks"), ("tasks", "r"))
    .with_state(xs=[1, 2, 3])
    .with_entrypoint("sq")
    .with_identifiers(app_id="parent")
    .build()
)
out("run", step_triple(app.run(halt_after=["r"], inputs={"unused": 1})))
out("seen", seen)
out("meta", [Squares().inputs, sorted(Squares().optional_and_required_inputs[0]), Squares().single_step])
out("task_ids", [t.application_id for t in Tasks().tasks(State({}), None, {})])


class ASquares(Squares):
    def action(self, state, inputs):
        return asquare

    def is_async(self) -> bool:
        return True

    async def reduce(self, state, states):
        return state.update(ys=[s["y"] async for s in states])


async def main():
    app = (
        await ApplicationBuilder()
        .with_actions(sq=ASquares())
        .with_state(xs=[4, 5])
        .with_entrypoint("sq")
        .abuild()
    )
    return await app.arun(halt_after=["sq"])


out("async.run", step_triple(asyncio.run(main())))
out.raises("no_context", lambda: Squares().run_and_update(State({"xs": [1]})), "requires a context")
out.dump()
