"""Map/reduce inside an action: run sub-graphs over many states (or many actions) and reduce the results.

Each branch runs as its own child application, linked to the parent step (``with_spawning_parent``),
inheriting the parent's tracker and persister by default. Beyond Apache Burr:

- child app ids are scoped to the invocation of the map step, so a retried or crash-resumed step
  skips the branches that already finished, while forks, replays and loop iterations run anew;
- ``max_concurrency`` and ``on_branch_failure`` ("fail_fast" or "collect") on every parallel action;
- ``StreamingMapStates`` & co. stream every branch's intermediate results, tagged with the branch;
- the default executor is a shared, I/O-sized thread pool (see ``DefaultParallelExecutor``).
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Callable, Union

from burr.core._parallel_child import (
    CASCADE,
    _application_class,
    _call_behavior,
    _cascade_adapter,
    _Invocation,
    _stable_app_id_hash,
    _user_inputs,
    _without_internal,
    ainvocation_key,
    as_async_adapters,
    child_app_id,
    finished_state,
    invocation_key,
    resolve_adapters,
)
from burr.core._parallel_exec import (
    BranchOutcome,
    DefaultParallelExecutor,
    FailurePolicy,
    _note,
    _start_executor,
    default_parallel_executor_factory,
    is_default_factory,
    run_async,
    run_executor,
    run_threads_default,
    validate_policy,
)
from burr.core.action import Action, SingleStepAction, create_action
from burr.core.state import State

if TYPE_CHECKING:
    from burr.core.application import Application, ApplicationContext
    from burr.core.graph import Graph

logger = logging.getLogger(__name__)

__all__ = [
    "RunnableGraph",
    "SubGraphTask",
    "TaskBasedParallelAction",
    "MapActionsAndStates",
    "MapActions",
    "MapStates",
    "PassThroughMapActionsAndStates",
    "StreamingMapActionsAndStates",
    "StreamingMapActions",
    "StreamingMapStates",
    "map_reduce_action",
    "SubgraphType",
    "DefaultParallelExecutor",
    "default_parallel_executor_factory",
    "_cascade_adapter",
    "_stable_app_id_hash",
]

Emit = Callable[[str, Any], None]


@dataclasses.dataclass
class RunnableGraph:
    """A sub-graph a branch runs: the graph, where it starts, and where it stops."""

    graph: Graph
    entrypoint: str
    halt_after: list[str]

    @staticmethod
    def create(from_: SubgraphType) -> RunnableGraph:
        """A RunnableGraph as is, or a one-action graph from an (named) Action or an ``@action`` function."""
        if isinstance(from_, RunnableGraph):
            return from_
        from burr.core.graph import Graph

        if isinstance(from_, Action):
            if from_.name is None:
                raise ValueError(
                    f"Action {from_!r} has no name, so it cannot run as a branch. Name it first, e.g. "
                    "`my_action.with_name('step')`, or pass a RunnableGraph."
                )
            action = from_
        elif hasattr(from_, "action_function"):
            action = create_action(from_, from_.__name__)  # type: ignore[union-attr]
        else:
            raise ValueError(
                f"Cannot run {from_!r} as a branch: pass an Action with a name, a function decorated "
                "with @action/@streaming_action, or a RunnableGraph(graph, entrypoint, halt_after)."
            )
        return RunnableGraph(
            graph=Graph(actions=[action], transitions=[]), entrypoint=action.name, halt_after=[action.name]
        )


SubgraphType = Union[Action, Callable[..., Any], RunnableGraph]


@dataclasses.dataclass
class SubGraphTask:
    """One branch: run ``graph`` from ``state`` as child app ``application_id`` and return its final State."""

    graph: RunnableGraph
    inputs: dict[str, Any]
    state: State[Any]
    application_id: str
    tracker: Any = None
    state_persister: Any = None
    state_initializer: Any = None

    def _adapters(self, parent_context: ApplicationContext) -> tuple[Any, Any, Any]:
        return self.tracker, self.state_persister, self.state_initializer

    def _builder(self, parent_context: ApplicationContext, adapters: tuple[Any, Any, Any]) -> Any:
        from burr.core.application import ApplicationBuilder

        tracker, persister, initializer = adapters
        builder: Any = (
            ApplicationBuilder()
            .with_graph(self.graph.graph)
            .with_spawning_parent(
                parent_context.app_id, parent_context.sequence_id, parent_context.partition_key
            )
            .with_identifiers(app_id=self.application_id, partition_key=parent_context.partition_key)
        )
        factory = parent_context.parallel_executor_factory
        if not is_default_factory(factory):
            builder = builder.with_parallel_executor(factory)
        if tracker is not None:
            builder = builder.with_tracker(tracker)
        if persister is not None:
            builder = builder.with_state_persister(persister)
        if initializer is not None:
            return builder.initialize_from(
                initializer,
                resume_at_next_action=True,
                default_state=self.state.get_all(),
                default_entrypoint=self.graph.entrypoint,
            )
        return builder.with_entrypoint(self.graph.entrypoint).with_state(self.state)

    def _direct_app(self, parent_context: ApplicationContext) -> Application[Any]:
        # No tracker, persister or initializer: nothing can observe the builder, so skip it and
        # reuse the prebuilt graph (the per-branch cost of a wide fan-out lives here).
        from burr.common.types import ParentPointer
        from burr.core.application import Application

        factory = parent_context.parallel_executor_factory
        return Application(
            graph=self.graph.graph,
            state=self.state,
            partition_key=parent_context.partition_key,
            uid=self.application_id,
            entrypoint=self.graph.entrypoint,
            spawning_parent_pointer=ParentPointer(
                app_id=parent_context.app_id,
                partition_key=parent_context.partition_key,
                sequence_id=parent_context.sequence_id,
            ),
            parallel_executor_factory=None if is_default_factory(factory) else factory,
        )

    def _finished(self, initializer: Any, partition_key: str | None) -> State[Any] | None:
        if initializer is None or initializer.is_async():
            return None
        try:
            record = initializer.load(partition_key, self.application_id, None)
        except Exception:
            return None
        return finished_state(record, self.graph.halt_after)

    def run(self, parent_context: ApplicationContext) -> State[Any]:
        """Run the branch as a child application; returns its final State (internal keys included)."""
        return self._run(parent_context, None)

    def _run(self, parent_context: ApplicationContext, emit: Emit | None) -> State[Any]:
        adapters = self._adapters(parent_context)
        done = self._finished(adapters[2], parent_context.partition_key)
        if done is not None:
            if emit is not None:
                emit("__resumed__", None)
            return done
        if adapters == (None, None, None):
            app = self._direct_app(parent_context)
        else:
            app = self._builder(parent_context, adapters).build()
        inputs = _user_inputs(self.inputs)
        if emit is None:
            _, _, state = app.run(halt_after=self.graph.halt_after, inputs=inputs)
            return state
        for action, container in app.stream_iterate(halt_after=self.graph.halt_after, inputs=inputs):
            for item in container:
                emit(action.name, item)
            container.get()
        return app.state

    async def arun(self, parent_context: ApplicationContext) -> State[Any]:
        """``run`` for async parents (``abuild``/``arun``; sync persisters are wrapped to fit)."""
        return await self._arun(parent_context, None)

    async def _arun(self, parent_context: ApplicationContext, emit: Emit | None) -> State[Any]:
        adapters = self._adapters(parent_context)
        tracker, persister, initializer = adapters
        if initializer is not None:
            if initializer.is_async():
                try:
                    record = await initializer.load(parent_context.partition_key, self.application_id, None)
                except Exception:
                    record = None
                done = finished_state(record, self.graph.halt_after)
            else:
                done = self._finished(initializer, parent_context.partition_key)
            if done is not None:
                if emit is not None:
                    emit("__resumed__", None)
                return done
        inputs = _user_inputs(self.inputs)
        if adapters == (None, None, None):
            app = self._direct_app(parent_context)
        else:
            # A sync persister cannot go through abuild(); wrap it instead of running the branch
            # synchronously (Apache Burr's fallback, which cannot run async actions).
            persister, initializer = as_async_adapters(persister, initializer)
            app = await self._builder(parent_context, (tracker, persister, initializer)).abuild()
        if emit is None:
            _, _, state = await app.arun(halt_after=self.graph.halt_after, inputs=inputs)
            return state
        async for action, container in app.astream_iterate(halt_after=self.graph.halt_after, inputs=inputs):
            async for item in container:
                emit(action.name, item)
            await container.get()
        return app.state


@dataclasses.dataclass
class _MapTask(SubGraphTask):
    """A task whose tracker/persister are resolved where it runs (copies made in the worker thread)."""

    key: str = ""
    behaviors: tuple[Any, Any, Any] = (CASCADE, CASCADE, CASCADE)
    shared: _Invocation | None = None

    def _adapters(self, parent_context: ApplicationContext) -> tuple[Any, Any, Any]:
        return resolve_adapters(*self.behaviors, parent_context)

    def _run(self, parent_context: ApplicationContext, emit: Emit | None) -> State[Any]:
        shared = self.shared
        if emit is not None or shared is None or not shared.bare:
            return super()._run(parent_context, emit)
        graph = self.graph
        app = _application_class()(
            graph=graph.graph,
            state=self.state,
            partition_key=parent_context.partition_key,
            uid=self.application_id,
            entrypoint=graph.entrypoint,
            spawning_parent_pointer=shared.pointer,
            parallel_executor_factory=shared.factory,
        )
        return app.run(halt_after=graph.halt_after, inputs=shared.inputs)[2]  # type: ignore[no-any-return]


def _key_of(task: SubGraphTask, index: int) -> str:
    return task.key if isinstance(task, _MapTask) else str(index)


def _branch_note(action: Action, task: SubGraphTask, index: int) -> str:
    return (
        f"Raised in parallel branch {_key_of(task, index)} (child app id {task.application_id}) of action "
        f"'{action.name}'. Fix the branch, or set on_branch_failure = 'collect' on the action to reduce "
        "the branches that succeeded and report the failures in the step result."
    )


class TaskBasedParallelAction(SingleStepAction):
    """Fan out ``tasks()`` (each a :class:`SubGraphTask`), run them in parallel, ``reduce()`` the results.

    Class attributes (ours): ``max_concurrency`` (None = no limit beyond the executor's) and
    ``on_branch_failure``: "fail_fast" (default; raise the failing branch's error, naming it) or
    "collect" (reduce the branches that succeeded; failures are listed in the step result under
    ``failed_branches``).
    """

    max_concurrency: int | None = None
    on_branch_failure: FailurePolicy = "fail_fast"

    def __init__(self) -> None:
        super().__init__()

    @property
    def inputs(self) -> Union[list[str], tuple[list[str], list[str]]]:
        return ["__context"]

    @abc.abstractmethod
    def tasks(
        self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]
    ) -> Union[Generator[SubGraphTask, None, None], AsyncGenerator[SubGraphTask, None]]:
        """Yield the branches to run (state here has no internal ``__`` keys)."""

    @abc.abstractmethod
    def reduce(self, state: State[Any], states: Any) -> Any:
        """Combine the branches' final states (in task order) into the new state."""

    def is_async(self) -> bool:
        return False

    # -- shared plumbing -----------------------------------------------------------------------

    def _context(self, run_kwargs: dict[str, Any]) -> ApplicationContext:
        context = run_kwargs.get("__context")
        if context is None:
            raise ValueError(
                f"This action requires a context to run: '{self.name}' needs the injected `__context`. "
                "Run it inside an Application (step/run/stream_result); if you overrode `inputs`, "
                "keep '__context' in it (e.g. `return super().inputs + ['my_input']`)."
            )
        return context

    def _policy(self) -> tuple[int | None, bool]:
        validate_policy(self.max_concurrency, self.on_branch_failure, f"Action '{self.name}'")
        return self.max_concurrency, self.on_branch_failure == "fail_fast"

    def _settle(
        self, tasks: list[SubGraphTask], outcomes: list[BranchOutcome], fail_fast: bool
    ) -> tuple[list[State[Any]], list[dict[str, Any]]]:
        failures = [o for o in outcomes if o.error is not None]
        if failures and fail_fast:
            first = failures[0]
            assert first.error is not None
            _note(first.error, _branch_note(self, tasks[first.index], first.index))
            raise first.error
        failed = [
            {
                "branch": _key_of(tasks[o.index], o.index),
                "app_id": tasks[o.index].application_id,
                "error": f"{type(o.error).__name__}: {o.error}",
            }
            for o in failures
        ]
        for f in failed:
            logger.warning(
                "Action '%s': branch %s (app id %s) failed: %s",
                self.name,
                f["branch"],
                f["app_id"],
                f["error"],
            )
        return [o.value for o in outcomes if o.error is None and o.ran], failed

    def _finish(
        self, state: State[Any], new_state: Any, failed: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], State[Any]]:
        if not isinstance(new_state, State):
            raise ValueError(
                f"reduce() of action '{self.name}' returned {type(new_state).__name__}; it must return "
                "a State (e.g. `return state.update(results=[s['y'] for s in states])`)."
            )
        undeclared = sorted(
            k for k in new_state if k not in state and k not in self.writes and not k.startswith("__")
        )
        if undeclared:
            raise ValueError(
                f"Action {self.name} attempted to write to keys {undeclared} that it did not declare. It "
                f"declared: ({self.writes})! Its reduce() added them: add them to `writes`, or stop "
                "reduce() from writing them."
            )
        return ({"failed_branches": failed} if failed else {}), new_state

    def _run_sync(
        self,
        tasks: list[SubGraphTask],
        context: ApplicationContext,
        emit: Callable[[int, str, Any], None] | None = None,
    ) -> list[BranchOutcome]:
        max_concurrency, fail_fast = self._policy()
        factory = context.parallel_executor_factory
        if emit is not None:

            def call(i: int) -> State[Any]:
                return tasks[i]._run(context, lambda name, item: emit(i, name, item))

        else:

            def call(i: int) -> State[Any]:
                return tasks[i]._run(context, None)

        indices = list(range(len(tasks)))
        if is_default_factory(factory):
            return run_threads_default(indices, call, max_concurrency=max_concurrency, fail_fast=fail_fast)
        executor = _start_executor(self, factory)
        with executor:
            try:
                return run_executor(
                    tasks,
                    _run_task_remote,
                    executor,
                    max_concurrency=max_concurrency,
                    fail_fast=fail_fast,
                    args=(context,),
                )
            except Exception as e:
                _note(
                    e,
                    f"The parallel executor of action '{self.name}' failed to run its branches; check the executor passed to with_parallel_executor.",
                )
                raise

    # -- execution -----------------------------------------------------------------------------

    def run_and_update(self, state: State[Any], **run_kwargs: Any) -> Any:
        context = self._context(run_kwargs)
        user_state = _without_internal(state)
        if self.is_async():
            return self._arun_and_update(user_state, context, run_kwargs)
        tasks = self.tasks(user_state, context, run_kwargs)
        if isinstance(tasks, AsyncIterable):
            raise ValueError(
                f"Action '{self.name}' produced its branches asynchronously: override is_async() to "
                "return True and run the application with astep/arun."
            )
        task_list = list(tasks)
        outcomes = self._run_sync(task_list, context)
        states, failed = self._settle(task_list, outcomes, self._policy()[1])
        return self._finish(user_state, self.reduce(user_state, (s for s in states)), failed)

    async def _arun_and_update(
        self, state: State[Any], context: ApplicationContext, run_kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], State[Any]]:
        max_concurrency, fail_fast = self._policy()
        tasks = self.tasks(state, context, run_kwargs)
        realized, outcomes = await run_async(
            tasks, lambda t: t._arun(context, None), max_concurrency=max_concurrency, fail_fast=fail_fast
        )
        states, failed = self._settle(realized, outcomes, fail_fast)
        return self._finish(state, await _reduce_async(self, state, states), failed)


async def _reduce_async(action: TaskBasedParallelAction, state: State[Any], states: list[State[Any]]) -> Any:
    async def agen() -> AsyncGenerator[State[Any], None]:
        for s in states:
            yield s

    reduce = action.reduce
    if inspect.iscoroutinefunction(reduce):
        return await reduce(state, agen())
    out = reduce(state, (s for s in states))
    return await out if inspect.isawaitable(out) else out


def _run_task_remote(task: SubGraphTask, context: ApplicationContext) -> State[Any]:
    """What other executors (Ray, process pools) run: importable, so it pickles by reference."""
    return task._run(context, None)


class MapActionsAndStates(TaskBasedParallelAction):
    """Run every action from ``actions()`` on every state from ``states()`` (actions outer, states inner)."""

    @abc.abstractmethod
    def actions(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        """Yield the sub-graphs (Action, @action function or RunnableGraph) to run."""

    @abc.abstractmethod
    def states(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        """Yield the States to run each sub-graph on."""

    def tracker(self, **kwargs: Any) -> Any:
        """The children's tracker: "cascade" (a copy of the parent's; default), None, or a tracker."""
        return CASCADE

    def state_persister(self, **kwargs: Any) -> Any:
        """The children's persister: "cascade" (default), None, or a persister."""
        return CASCADE

    def state_initializer(self, **kwargs: Any) -> Any:
        """The children's initializer (lets finished branches be skipped on resume): "cascade", None, or one."""
        return CASCADE

    def _call_actions(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        return self.actions(state, context, inputs)

    def _behaviors(self, context: ApplicationContext) -> tuple[Any, Any, Any]:
        return (
            _call_behavior(self.tracker, context),
            _call_behavior(self.state_persister, context),
            _call_behavior(self.state_initializer, context),
        )

    def tasks(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        if self.is_async():
            return self._atasks(state, context, inputs)
        return self._tasks(state, context, inputs, invocation_key(context, self.name))

    def _tasks(
        self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any], invocation: str
    ) -> Generator[SubGraphTask, None, None]:
        behaviors = self._behaviors(context)
        shared = _Invocation(behaviors, inputs, context)
        for i, sub in enumerate(_sync_iter(self, self._call_actions(state, context, inputs), "actions")):
            graph = RunnableGraph.create(sub)
            for j, branch_state in enumerate(_sync_iter(self, self.states(state, context, inputs), "states")):
                key = f"{i}-{j}"
                yield _MapTask(
                    graph=graph,
                    inputs=inputs,
                    state=branch_state,
                    application_id=child_app_id(invocation, key),
                    key=key,
                    behaviors=behaviors,
                    shared=shared,
                )

    async def _atasks(
        self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]
    ) -> AsyncGenerator[SubGraphTask, None]:
        invocation = await ainvocation_key(context, self.name)
        behaviors = self._behaviors(context)
        shared = _Invocation(behaviors, inputs, context)
        i = 0
        async for sub in _any_iter(self._call_actions(state, context, inputs)):
            graph = RunnableGraph.create(sub)
            j = 0
            async for branch_state in _any_iter(self.states(state, context, inputs)):
                key = f"{i}-{j}"
                yield _MapTask(
                    graph=graph,
                    inputs=inputs,
                    state=branch_state,
                    application_id=child_app_id(invocation, key),
                    key=key,
                    behaviors=behaviors,
                    shared=shared,
                )
                j += 1
            i += 1


def _sync_iter(action: Action, items: Any, what: str) -> Iterable[Any]:
    if isinstance(items, (AsyncIterable,)) or inspect.iscoroutine(items):
        raise ValueError(
            f"{what}() of action '{action.name}' is asynchronous: override is_async() to return True "
            "and run the application with astep/arun."
        )
    if isinstance(items, (State, RunnableGraph, Action)) or hasattr(items, "action_function"):
        return [items]
    return items  # type: ignore[no-any-return]


async def _any_iter(items: Any) -> AsyncGenerator[Any, None]:
    if inspect.iscoroutine(items):
        items = await items
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
        return
    if isinstance(items, (State, RunnableGraph, Action)) or hasattr(items, "action_function"):
        yield items
        return
    for item in items:
        yield item


class MapActions(MapActionsAndStates):
    """Run several sub-graphs on one state (``state()``, by default the input state)."""

    @abc.abstractmethod
    def actions(self, state: State[Any], inputs: dict[str, Any], context: ApplicationContext) -> Any:  # type: ignore[override]
        """Yield the sub-graphs. NB: called positionally as (state, context, inputs), as Apache Burr does."""

    def state(self, state: State[Any], inputs: dict[str, Any]) -> State[Any]:
        """The state every sub-graph starts from (default: the input state)."""
        return state

    def states(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        yield self.state(state, inputs)


class MapStates(MapActionsAndStates):
    """Run one sub-graph (``action()``) on many states (``states()``)."""

    @abc.abstractmethod
    def action(self, state: State[Any], inputs: dict[str, Any]) -> SubgraphType:
        """The sub-graph every branch runs (Action, @action function or RunnableGraph)."""

    def actions(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        yield self.action(state, inputs)


class PassThroughMapActionsAndStates(MapActionsAndStates):
    """What ``map_reduce_action`` builds: actions, states and reducer passed in as values."""

    def __init__(
        self,
        action: Union[SubgraphType, list[SubgraphType], Callable[..., Any]],
        state: Union[State[Any], Callable[..., Any]],
        reducer: Callable[[State[Any], Any], State[Any]],
        reads: list[str],
        writes: list[str],
        inputs: list[str],
        max_concurrency: int | None = None,
        on_branch_failure: FailurePolicy = "fail_fast",
    ) -> None:
        super().__init__()
        self._action = action
        self._state = state
        self._reducer = reducer
        self._reads = list(reads)
        self._writes = list(writes)
        self._inputs = list(inputs)
        self.max_concurrency = max_concurrency
        self.on_branch_failure = on_branch_failure
        validate_policy(max_concurrency, on_branch_failure, "map_reduce_action")

    def actions(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        a = self._action
        if isinstance(a, (RunnableGraph, Action)) or hasattr(a, "action_function"):
            return [a]
        if isinstance(a, list):
            return a
        if callable(a):
            return a(state, context, inputs)
        raise ValueError(
            f"map_reduce_action: `action` must be a sub-graph, a list of them, or a function "
            f"(state, context, inputs) -> generator of them; got {a!r}."
        )

    def states(self, state: State[Any], context: ApplicationContext, inputs: dict[str, Any]) -> Any:
        if isinstance(self._state, State):
            return [self._state]
        return self._state(state, context, inputs)

    def reduce(self, state: State[Any], states: Any) -> Any:
        return self._reducer(state, states)

    @property
    def reads(self) -> list[str]:
        return self._reads

    @property
    def writes(self) -> list[str]:
        return self._writes

    @property
    def inputs(self) -> Union[list[str], tuple[list[str], list[str]]]:
        return ["__context", *self._inputs]


def map_reduce_action(
    action: Union[SubgraphType, list[SubgraphType], Callable[..., Any]],
    reads: list[str],
    writes: list[str],
    state: Union[State[Any], Callable[..., Any]],
    inputs: list[str],
    reducer: Callable[[State[Any], Any], State[Any]],
    max_concurrency: int | None = None,
    on_branch_failure: FailurePolicy = "fail_fast",
) -> PassThroughMapActionsAndStates:
    """(Experimental) a map/reduce action from values: sub-graph(s), states and a reducer."""
    return PassThroughMapActionsAndStates(
        action=action,
        state=state,
        reducer=reducer,
        reads=reads,
        writes=writes,
        inputs=inputs,
        max_concurrency=max_concurrency,
        on_branch_failure=on_branch_failure,
    )


from burr.core._parallel_stream import (  # noqa: E402 -- the streaming variants build on the classes above
    StreamingMapActions,
    StreamingMapActionsAndStates,
    StreamingMapStates,
)
