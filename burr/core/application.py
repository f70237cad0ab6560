"""``Application``: runs a graph of actions over an immutable ``State``, one step at a time.

The step logic lives in ``burr.core._engine`` (decide, run, commit); the methods here are thin
drivers: ``step``/``astep``, ``iterate``/``aiterate``, ``run``/``arun`` and the streaming ones in
``burr.core._stream_drivers``. Hooks fire in the same order, with the same arguments, whichever
driver runs. ``ApplicationBuilder`` lives in ``burr.core._builder`` and is re-exported here.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from burr.core import _checks
from burr.core import _engine as engine
from burr.core._engine import PRIOR_STEP, SEQUENCE_ID, ActionMeta
from burr.core.action import Action
from burr.core.graph import Graph
from burr.core.policies import INTERRUPT_KEY, PendingInterrupt
from burr.core.state import State
from burr.lifecycle.base import ExecuteMethod
from burr.lifecycle.internal import LifecycleAdapterSet
from burr.visibility.tracing import TracerFactory

if TYPE_CHECKING:
    from burr.common.types import ParentPointer
    from burr.core._streaming import AsyncStreamingResultContainer, StreamingResultContainer

logger = logging.getLogger(__name__)

StateType = TypeVar("StateType")

__all__ = [
    "PRIOR_STEP",
    "SEQUENCE_ID",
    "Application",
    "ApplicationBuilder",
    "ApplicationContext",
    "ApplicationGraph",
    "ApplicationIdentifiers",
]


@dataclasses.dataclass
class ApplicationIdentifiers:
    """Which application, partition and step we are at."""

    app_id: str
    partition_key: str | None
    sequence_id: int | None


# Holds an ApplicationContext, or (app, action_name, sequence_id) that becomes one on demand: a
# step sets it for the action's duration without paying for a dataclass it may never need.
_application_context: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "burr_application_context", default=None
)


@dataclasses.dataclass
class ApplicationContext(ApplicationIdentifiers):
    """What an action can know about the application running it (inject it as ``__context``)."""

    tracker: Any
    parallel_executor_factory: Any
    state_initializer: Any
    state_persister: Any
    action_name: str | None

    @staticmethod
    def get() -> ApplicationContext | None:
        """The context of the step running now, or None outside a step."""
        value = _application_context.get()
        if type(value) is tuple:
            app, action_name, sequence_id = value
            return app._make_context(action_name, sequence_id)  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]

    def __enter__(self) -> ApplicationContext:
        tokens = self.__dict__.setdefault("_tokens", [])
        tokens.append(_application_context.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        # Fix #17: restore the enclosing context (Apache Burr cleared it to None).
        token = self.__dict__["_tokens"].pop()
        try:
            _application_context.reset(token)
        except ValueError:
            _application_context.set(token.old_value if token.old_value is not token.MISSING else None)


@dataclasses.dataclass
class ApplicationGraph(Graph):
    """The application's graph plus its entrypoint action."""

    entrypoint: Action


# uid -> the public method that is running (execute-call hooks fire only for the outermost call).
_execute_calls: contextvars.ContextVar[dict[str, ExecuteMethod] | None] = contextvars.ContextVar(
    "burr_execute_calls", default=None
)

_TRACE_HOOKS = ("pre_start_span", "post_end_span", "do_log_attributes")


class _Hooks:
    """Which hooks any adapter implements, so a step skips dispatch for the rest."""

    __slots__ = (
        "pre_step",
        "post_step",
        "exec",
        "transition",
        "trace",
        "stream",
        "any_async",
        "async_names",
        "pre_step_fns",
        "post_step_fns",
        "transition_fns",
    )

    def __init__(self, adapters: LifecycleAdapterSet) -> None:
        names = set(adapters.sync_hooks) | set(adapters.async_hooks)
        self.async_names = set(adapters.async_hooks)
        self.pre_step = "pre_run_step" in names
        self.post_step = "post_run_step" in names
        self.exec = "pre_run_execute_call" in names or "post_run_execute_call" in names
        self.transition = "post_transition_evaluation" in adapters.sync_hooks
        self.trace = any(n in names for n in _TRACE_HOOKS)
        self.stream = any(n in names for n in ("pre_start_stream", "post_stream_item", "post_end_stream"))
        self.any_async = bool(adapters.async_hooks)
        # bound sync hook methods, called directly by the sync step loop (no kwargs re-packing)
        self.pre_step_fns = tuple(adapters.sync_hooks.get("pre_run_step", ()))
        self.post_step_fns = tuple(adapters.sync_hooks.get("post_run_step", ()))
        self.transition_fns = tuple(adapters.sync_hooks.get("post_transition_evaluation", ()))


class Application(Generic[StateType]):
    """A built application. Create one with ``ApplicationBuilder``."""

    def __init__(
        self,
        graph: Graph,
        state: State[Any],
        partition_key: str | None,
        uid: str,
        entrypoint: str,
        sequence_id: int | None = None,
        adapter_set: LifecycleAdapterSet | None = None,
        builder: Any = None,
        fork_parent_pointer: ParentPointer | None = None,
        spawning_parent_pointer: ParentPointer | None = None,
        tracker: Any = None,
        parallel_executor_factory: Callable[[], Any] | None = None,
        state_persister: Any = None,
        state_initializer: Any = None,
    ) -> None:
        if sequence_id is not None:
            state = state.update(**{SEQUENCE_ID: sequence_id})
        self._state: State[Any] = state
        self._uid = uid
        self._partition_key = partition_key
        self.entrypoint = entrypoint
        self._adapter_set = adapter_set if adapter_set is not None else LifecycleAdapterSet()
        self._builder = builder
        self._is_async_app = bool(getattr(builder, "is_async", False))
        self._parent_pointer = fork_parent_pointer
        self._spawning_parent_pointer = spawning_parent_pointer
        self._tracker = tracker
        self._parallel_executor_factory = parallel_executor_factory
        self._state_persister = state_persister
        self._state_initializer = state_initializer
        self._metas = engine.compile_graph(graph)
        if entrypoint not in self._metas:
            raise ValueError(
                f"Entrypoint: {entrypoint} not found in actions. Please add using with_actions({entrypoint}=...). "
                f"Actions are: {sorted(self._metas)}."
            )
        self._entry_meta = self._metas[entrypoint]
        self._graph = ApplicationGraph(
            actions=graph.actions, transitions=graph.transitions, entrypoint=graph.get_action(entrypoint)
        )
        self._hooks = _Hooks(self._adapter_set)
        # one call frame less per hook event (the step loop's main overhead when hooks exist)
        self._fire = self._adapter_set.call_all_lifecycle_hooks_sync  # type: ignore[method-assign,assignment]
        self._max_steps: int | None = None
        self._consumed_answer: str | None = None  # an interrupt's answer, delivered once per call
        self._strict = False
        self._halts_checked: set[tuple[str, tuple[str, ...]]] = set()
        self._warned_async_hooks = False
        # next-action cache: transitions are evaluated once per committed state
        self._next_for: State[Any] | None = None
        self._next_val: ActionMeta | None = None
        self._adapter_set.call_all_lifecycle_hooks_sync(
            "post_application_create",
            app_id=self._uid,
            partition_key=self._partition_key,
            state=self._state,
            application_graph=self._graph,
            parent_pointer=self._parent_pointer,
            spawning_parent_pointer=self._spawning_parent_pointer,
        )

    # ------------------------------------------------------------------------------------------
    # properties
    # ------------------------------------------------------------------------------------------

    @property
    def state(self) -> State[StateType]:
        return self._state

    @property
    def graph(self) -> ApplicationGraph:
        return self._graph

    @property
    def sequence_id(self) -> int | None:
        """The id of the last step run (None before the first step)."""
        return self._state.get(SEQUENCE_ID)  # type: ignore[no-any-return]

    @property
    def uid(self) -> str:
        return self._uid

    @property
    def partition_key(self) -> str | None:
        return self._partition_key

    @property
    def builder(self) -> Any:
        return self._builder

    @property
    def parent_pointer(self) -> ParentPointer | None:
        """Where this application was forked from (None if it was not)."""
        return self._parent_pointer

    @property
    def spawning_parent_pointer(self) -> ParentPointer | None:
        """The application (and step) that spawned this one, if any."""
        return self._spawning_parent_pointer

    @property
    def context(self) -> ApplicationContext:
        """The context the next action would run with."""
        nxt = self._next_meta()
        return self._make_context(nxt.name if nxt is not None else None, self.sequence_id)

    def _make_context(self, action_name: str | None, sequence_id: int | None) -> ApplicationContext:
        return ApplicationContext(
            app_id=self._uid,
            partition_key=self._partition_key,
            sequence_id=sequence_id,
            tracker=self._tracker,
            parallel_executor_factory=self._parallel_executor_factory,
            state_initializer=self._state_initializer,
            state_persister=self._state_persister,
            action_name=action_name,
        )

    # ------------------------------------------------------------------------------------------
    # navigation
    # ------------------------------------------------------------------------------------------

    def _next_meta(self) -> ActionMeta | None:
        state = self._state
        if self._next_for is state:
            return self._next_val
        nxt = engine.decide(self._metas, self._entry_meta, state)
        self._next_for = state
        self._next_val = nxt
        return nxt

    def get_next_action(self) -> Action | None:
        """The action the next step will run, or None if the graph has nowhere to go."""
        nxt = self._next_meta()
        return nxt.action if nxt is not None else None

    def has_next_action(self) -> bool:
        return self._next_meta() is not None

    def update_state(self, new_state: State[StateType]) -> None:
        """Replace the state wholesale (internal keys included or not, as given)."""
        self._state = new_state

    def reset_to_entrypoint(self) -> None:
        """Forget the prior step (and any pending interrupt), so the next step runs the entrypoint."""
        self._state = self._state.wipe(delete=[PRIOR_STEP, INTERRUPT_KEY])

    @property
    def pending_interrupt(self) -> PendingInterrupt | None:
        """What a paused application waits for (see ``burr.core.policies.Interrupt``), else None."""
        return PendingInterrupt.from_state(self._state)

    def _configure(self, policies: dict[str, Any], max_steps: int | None, strict: bool) -> None:
        """Failure-handling settings from the builder (see ``burr.core.policies``)."""
        engine.set_policies(self._metas, policies)
        self._max_steps = max_steps
        self._strict = strict

    def visualize(self, *args: Any, **kwargs: Any) -> Any:
        """Render the graph (see ``Graph.visualize``)."""
        return self._graph.visualize(*args, **kwargs)

    def validate_correct_async_use(self) -> None:
        """Raise if this app was built with ``abuild()`` (it must then run with the async methods)."""
        if self._is_async_app:
            raise ValueError(
                "The application was build with .abuild() which needs to be executed in an asynchronous run. "
                "Use astep()/aiterate()/arun()/astream_result()/astream_iterate(), or build with .build()."
            )
        if self._hooks.any_async and not self._warned_async_hooks:
            self._warned_async_hooks = True
            logger.warning(
                "Application %s has async hooks (%s); they do not run under the sync methods. Use the async "
                "methods (astep/arun/...) to run them.",
                self._uid,
                sorted(self._hooks.async_names),
            )

    # ------------------------------------------------------------------------------------------
    # hooks
    # ------------------------------------------------------------------------------------------

    def _fire(self, name: str, **kwargs: Any) -> None:
        self._adapter_set.call_all_lifecycle_hooks_sync(name, **kwargs)

    async def _afire(self, name: str, **kwargs: Any) -> None:
        await self._adapter_set.call_all_lifecycle_hooks_sync_and_async(name, **kwargs)

    def _exec_mark(self, method: ExecuteMethod) -> contextvars.Token[Any] | None:
        """Mark this app busy with ``method``; None if an outer call already did (no hooks then)."""
        active = _execute_calls.get()
        if active is not None and self._uid in active:
            return None
        marked = dict(active) if active else {}
        marked[self._uid] = method
        return _execute_calls.set(marked)

    def _exec_unmark(self, token: contextvars.Token[Any]) -> None:
        try:
            _execute_calls.reset(token)
        except ValueError:  # resumed in another context (e.g. a generator moved between tasks)
            active = dict(_execute_calls.get() or {})
            active.pop(self._uid, None)
            _execute_calls.set(active)

    def _exec_yield(self, token: contextvars.Token[Any] | None) -> contextvars.Token[Any] | None:
        """Unmark before a generator entry point yields (see ``iterate``); returns the spent token: None."""
        if token is not None:
            self._exec_unmark(token)
        return None

    def _exec_resume(self, owner: bool, method: ExecuteMethod) -> contextvars.Token[Any] | None:
        """Mark again when a generator entry point resumes (only if it owns the call)."""
        return self._exec_mark(method) if owner else None

    def _exec_kwargs(self, method: ExecuteMethod) -> dict[str, Any]:
        return dict(app_id=self._uid, partition_key=self._partition_key, state=self._state, method=method)

    @staticmethod
    def _reported(exc: BaseException | None) -> BaseException | None:
        return None if isinstance(exc, GeneratorExit) else exc

    def _call(self, method: ExecuteMethod, fn: Callable[..., Any], *args: Any) -> Any:
        if not self._hooks.exec:
            return fn(*args)
        token = self._exec_mark(method)
        if token is None:
            return fn(*args)
        exc: BaseException | None = None
        try:
            self._fire("pre_run_execute_call", **self._exec_kwargs(method))
            return fn(*args)
        except BaseException as e:
            exc = e
            raise
        finally:
            try:
                self._fire("post_run_execute_call", exception=exc, **self._exec_kwargs(method))
            finally:
                self._exec_unmark(token)

    async def _acall(self, method: ExecuteMethod, fn: Callable[..., Any], *args: Any) -> Any:
        if not self._hooks.exec:
            return await fn(*args)
        token = self._exec_mark(method)
        if token is None:
            return await fn(*args)
        exc: BaseException | None = None
        try:
            await self._afire("pre_run_execute_call", **self._exec_kwargs(method))
            return await fn(*args)
        except BaseException as e:
            exc = e
            raise
        finally:
            try:
                await self._afire("post_run_execute_call", exception=exc, **self._exec_kwargs(method))
            finally:
                self._exec_unmark(token)

    def _injector(self, meta: ActionMeta, seq: int) -> Callable[[str], Any]:
        def inject(name: str) -> Any:
            if name == "__context":
                return self._make_context(meta.name, seq)
            return TracerFactory(meta.name, seq, self._uid, self._partition_key, self._adapter_set)

        return inject

    def _inputs(self, meta: ActionMeta, inputs: dict[str, Any] | None, seq: int) -> dict[str, Any]:
        if self._consumed_answer is not None and inputs and self._consumed_answer in inputs:
            inputs = {k: v for k, v in inputs.items() if k != self._consumed_answer}
        if not inputs and not meta.inject and not meta.required:
            return {}
        return engine.process_inputs(meta, inputs, self._injector(meta, seq) if meta.inject else _no_inject)

    def _process_inputs(self, inputs: dict[str, Any], action: Action) -> dict[str, Any]:
        """The inputs ``action`` would get at the next sequence id (declared ones, plus injected)."""
        meta = self._metas.get(action.name) or ActionMeta(action)
        return self._inputs(meta, inputs, engine.next_sequence_id(self._state))

    def _tracer_for(self, meta: ActionMeta, processed: dict[str, Any], seq: int) -> TracerFactory | None:
        """The factory ``@trace`` uses during the action: the injected one, else a fresh one if anyone listens."""
        tracer = processed.get("__tracer")
        if tracer is None and self._hooks.trace:
            tracer = TracerFactory(meta.name, seq, self._uid, self._partition_key, self._adapter_set)
        return tracer

    def _step_kwargs(self, meta: ActionMeta, seq: int, state: State[Any], attempt: int = 1) -> dict[str, Any]:
        return dict(
            app_id=self._uid,
            partition_key=self._partition_key,
            sequence_id=seq,
            state=state,
            action=meta.action,
            attempt=attempt,
        )

    def _log_failure(self, meta: ActionMeta, state: State[Any], inputs: dict[str, Any]) -> None:
        shown_state = {k: (repr(v)[:200]) for k, v in state.items() if not k.startswith("__")}
        shown_inputs = {k: repr(v)[:200] for k, v in inputs.items() if not k.startswith("__")}
        logger.exception(
            "Action `%s` (app %s, sequence id %s) raised. State (values truncated): %s. Inputs: %s.",
            meta.name,
            self._uid,
            state.get(SEQUENCE_ID),
            shown_state,
            shown_inputs,
        )

    def _after_step(self, meta: ActionMeta, seq: int) -> None:
        """Decide the next action now and report the decision to transition hooks."""
        state = self._state
        try:
            nxt, evaluated = engine.decide_recorded(self._metas, self._entry_meta, state)
        except Exception:  # raised again, where Apache Burr raises it: at the next decision
            return
        self._next_for, self._next_val = state, nxt
        next_name = nxt.name if nxt is not None else None
        for hook in self._hooks.transition_fns:
            hook(
                app_id=self._uid,
                partition_key=self._partition_key,
                sequence_id=seq,
                from_action=meta.name,
                evaluated=evaluated,
                next_action=next_name,
            )

    # ------------------------------------------------------------------------------------------
    # step / astep
    # ------------------------------------------------------------------------------------------

    def step(
        self, inputs: dict[str, Any] | None = None
    ) -> tuple[Action, dict[str, Any], State[StateType]] | None:
        """Run the next action. Returns ``(action, result, new_state)``, or None at the end of the graph."""
        if self._is_async_app or self._hooks.any_async:
            self.validate_correct_async_use()
        self._consumed_answer = None
        if self._hooks.exec:
            out = self._call(ExecuteMethod.step, self._step, inputs)
        else:
            out = _step_drivers.step_sync(self, inputs)
        return None if out is None else (out[0].action, out[1], out[2])

    async def astep(
        self, inputs: dict[str, Any] | None = None
    ) -> tuple[Action, dict[str, Any], State[StateType]] | None:
        """``step`` for async applications and actions (sync actions run in place)."""
        self._consumed_answer = None
        if self._hooks.exec:
            out = await self._acall(ExecuteMethod.astep, self._astep, inputs)
        else:
            out = await _step_drivers.step_async(self, inputs)
        return None if out is None else (out[0].action, out[1], out[2])

    def _step(self, inputs: dict[str, Any] | None) -> tuple[ActionMeta, Any, State[Any]] | None:
        return _step_drivers.step_sync(self, inputs)

    async def _astep(self, inputs: dict[str, Any] | None) -> tuple[ActionMeta, Any, State[Any]] | None:
        return await _step_drivers.step_async(self, inputs)

    # ------------------------------------------------------------------------------------------
    # iterate / run
    # ------------------------------------------------------------------------------------------

    def _process_control_flow_params(
        self,
        halt_before: list[str] | None = None,
        halt_after: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> tuple[list[str], list[str], dict[str, Any]]:
        """Expand ``@tag:`` entries and check halt names; returns ``(halt_before, halt_after, inputs)``."""
        if halt_before is None and halt_after is None:
            logger.warning(
                "No halt termination specified -- this has the possibility of running forever! Pass "
                "halt_after=[...] and/or halt_before=[...]."
            )
        expanded: list[list[str]] = []
        for names in (halt_before or [], halt_after or []):
            if isinstance(names, str):  # a lone name: treat as [name] rather than as characters
                names = [names]
            out: list[str] = []
            for name in names:
                if name.startswith("@tag:"):
                    out.extend(a.name for a in self._graph.get_actions_by_tag(name[len("@tag:") :]))
                else:
                    out.append(name)
            expanded.append(out)
        unknown = {n for names in expanded for n in names if n not in self._metas}
        if unknown:
            raise ValueError(
                f"Halt conditions {sorted(unknown)} are not registered actions. Valid actions are: "
                f"{sorted(self._metas)}. Tags are written `@tag:<tag>`."
            )
        if inputs:
            engine.check_reserved_inputs(inputs)
        self._consumed_answer = None
        if expanded[0] or expanded[1]:
            self._check_halts(expanded[0] + expanded[1])
        return expanded[0], expanded[1], inputs if inputs is not None else {}

    def _check_halts(self, halts: list[str]) -> None:
        """Warn (raise with strict checks) about halts the next action can never lead to."""
        nxt = self._next_meta()
        key = (nxt.name if nxt is not None else "", tuple(halts))
        if nxt is None or key in self._halts_checked:
            return
        if _checks.check_halts(self._graph, nxt.name, halts, self._strict):
            self._halts_checked.add(key)

    def _loop_guard(self, method: str, hb: Any, ha: Any) -> Callable[[], None] | None:
        """A callable to call before each step of one call; raises past ``with_max_steps``."""
        return None if self._max_steps is None else _checks.loop_guard(self, self._max_steps, method, hb, ha)

    def _halt(
        self, ran: tuple[ActionMeta, Any, State[Any]], halt_before: Any, halt_after: Any
    ) -> tuple[Action | None, Any, State[Any]] | None:
        """The run's return value if it should stop after ``ran`` (or it paused), else None."""
        if INTERRUPT_KEY in self._state._d:
            return ran[0].action, None, self._state
        nxt = self._next_meta()
        if nxt is not None and nxt.name in halt_before:
            return nxt.action, None, self._state
        if ran[0].name in halt_after:
            return ran[0].action, ran[1], self._state
        return None

    def _ended(self, ran: tuple[ActionMeta, Any, State[Any]] | None) -> tuple[Action | None, Any, State[Any]]:
        logger.warning(
            "Application %s ran out of transitions before any halt_before/halt_after action was reached: "
            "returning the last action run (undefined behavior in Apache Burr).",
            self._uid,
        )
        if ran is None:
            return None, None, self._state
        return ran[0].action, ran[1], self._state

    def iterate(
        self,
        *,
        halt_before: list[str] | None = None,
        halt_after: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> Generator[
        tuple[Action, dict[str, Any], State[StateType]], None, tuple[Action | None, Any, State[StateType]]
    ]:
        """Yield ``(action, result, state)`` per step until a halt; returns what ``run`` would."""
        self.validate_correct_async_use()
        hb, ha, inputs = self._process_control_flow_params(halt_before, halt_after, inputs)
        token = self._exec_mark(ExecuteMethod.iterate) if self._hooks.exec else None
        owner = token is not None
        exc: BaseException | None = None
        try:
            if owner:
                self._fire("pre_run_execute_call", **self._exec_kwargs(ExecuteMethod.iterate))
            hb_set, ha_set = set(hb), set(ha)
            ran = None
            step_sync = _step_drivers.step_sync
            guard = self._loop_guard("iterate", hb, ha)
            while self._next_meta() is not None:
                if guard is not None:
                    guard()
                ran = step_sync(self, inputs)
                assert ran is not None
                if owner:
                    # Release the app while suspended: the mark lives in the caller's context, and
                    # calls made between two next()s must fire their own execute-call hooks.
                    token = self._exec_yield(token)
                    try:
                        yield ran[0].action, ran[1], ran[2]
                    finally:
                        token = self._exec_resume(owner, ExecuteMethod.iterate)
                else:
                    yield ran[0].action, ran[1], ran[2]
                halted = self._halt(ran, hb_set, ha_set)
                if halted is not None:
                    return halted
            return self._ended(ran)
        except BaseException as e:
            exc = e
            raise
        finally:
            if owner:
                try:
                    self._fire(
                        "post_run_execute_call",
                        exception=self._reported(exc),
                        **self._exec_kwargs(ExecuteMethod.iterate),
                    )
                finally:
                    if token is not None:
                        self._exec_unmark(token)

    async def aiterate(
        self,
        *,
        halt_before: list[str] | None = None,
        halt_after: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> AsyncGenerator[tuple[Action, dict[str, Any], State[StateType]], None]:
        """Async ``iterate`` (async generators cannot return a value; use ``arun`` for it)."""
        hb, ha, inputs = self._process_control_flow_params(halt_before, halt_after, inputs)
        token = self._exec_mark(ExecuteMethod.aiterate) if self._hooks.exec else None
        owner = token is not None
        exc: BaseException | None = None
        try:
            if owner:
                await self._afire("pre_run_execute_call", **self._exec_kwargs(ExecuteMethod.aiterate))
            hb_set, ha_set = set(hb), set(ha)
            guard = self._loop_guard("aiterate", hb, ha)
            while self._next_meta() is not None:
                if guard is not None:
                    guard()
                ran = await _step_drivers.step_async(self, inputs)
                assert ran is not None
                token = self._exec_yield(token)  # as in iterate
                try:
                    yield ran[0].action, ran[1], ran[2]
                finally:
                    token = self._exec_resume(owner, ExecuteMethod.aiterate)
                if self._halt(ran, hb_set, ha_set) is not None:
                    return
        except BaseException as e:
            exc = e
            raise
        finally:
            if owner:
                try:
                    await self._afire(
                        "post_run_execute_call",
                        exception=self._reported(exc),
                        **self._exec_kwargs(ExecuteMethod.aiterate),
                    )
                finally:
                    if token is not None:
                        self._exec_unmark(token)

    def run(
        self,
        *,
        halt_before: list[str] | None = None,
        halt_after: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> tuple[Action | None, dict[str, Any] | None, State[StateType]]:
        """Step until a halt. Returns ``(action, result, state)``: the action halted before (result None)
        or after, or the last action run if the graph ended first."""
        self.validate_correct_async_use()
        hb, ha, inputs = self._process_control_flow_params(halt_before, halt_after, inputs)
        return self._call(ExecuteMethod.run, self._run, set(hb), set(ha), inputs)  # type: ignore[no-any-return]

    def _run(
        self, hb: set[str], ha: set[str], inputs: dict[str, Any]
    ) -> tuple[Action | None, Any, State[Any]]:
        ran = None
        step_sync = _step_drivers.step_sync
        guard = self._loop_guard("run", hb, ha)
        nxt = self._next_meta()
        while nxt is not None:
            if guard is not None:
                guard()
            ran = step_sync(self, inputs)
            assert ran is not None
            # _halt, inlined: this loop is the per-step overhead of run()
            state = self._state
            if INTERRUPT_KEY in state._d:
                return ran[0].action, None, state
            if self._next_for is state:
                nxt = self._next_val
            else:  # = self._next_meta(), inlined
                nxt = self._next_val = engine.decide(self._metas, self._entry_meta, state)
                self._next_for = state
            if nxt is not None and nxt.name in hb:
                return nxt.action, None, state
            if ran[0].name in ha:
                return ran[0].action, ran[1], state
        return self._ended(ran)

    async def arun(
        self,
        *,
        halt_before: list[str] | None = None,
        halt_after: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> tuple[Action | None, dict[str, Any] | None, State[StateType]]:
        """Async ``run``."""
        hb, ha, inputs = self._process_control_flow_params(halt_before, halt_after, inputs)
        return await self._acall(ExecuteMethod.arun, self._arun, set(hb), set(ha), inputs)  # type: ignore[no-any-return]

    async def _arun(
        self, hb: set[str], ha: set[str], inputs: dict[str, Any]
    ) -> tuple[Action | None, Any, State[Any]]:
        ran = None
        step_async = _step_drivers.step_async
        guard = self._loop_guard("arun", hb, ha)
        nxt = self._next_meta()
        while nxt is not None:
            if guard is not None:
                guard()
            ran = await step_async(self, inputs)
            assert ran is not None
            state = self._state  # _halt, inlined (as in _run)
            if INTERRUPT_KEY in state._d:
                return ran[0].action, None, state
            nxt = self._next_val if self._next_for is state else self._next_meta()
            if nxt is not None and nxt.name in hb:
                return nxt.action, None, state
            if ran[0].name in ha:
                return ran[0].action, ran[1], state
        return self._ended(ran)

    # ------------------------------------------------------------------------------------------
    # streaming (see burr.core._stream_drivers)
    # ------------------------------------------------------------------------------------------

    def stream_result(
        self,
        halt_after: list[str],
        halt_before: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> tuple[Action, StreamingResultContainer[Any, Any]]:
        """Run to the first ``halt_after`` action and stream it: ``(action, container)``."""
        return _stream_drivers.stream_result(self, halt_after, halt_before, inputs)

    async def astream_result(
        self,
        halt_after: list[str],
        halt_before: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> tuple[Action, AsyncStreamingResultContainer[Any, Any]]:
        """Async ``stream_result`` (the streamed action must be async)."""
        return await _stream_drivers.astream_result(self, halt_after, halt_before, inputs)

    def stream_iterate(
        self,
        halt_after: list[str] | None = None,
        halt_before: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> Generator[tuple[Action, StreamingResultContainer[Any, Any]], None, None]:
        """Yield ``(action, container)`` for every step until a halt; each stream completes before the next step."""
        return _stream_drivers.stream_iterate(self, halt_after, halt_before, inputs)

    def astream_iterate(
        self,
        halt_after: list[str] | None = None,
        halt_before: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> AsyncGenerator[tuple[Action, AsyncStreamingResultContainer[Any, Any]], None]:
        """Async ``stream_iterate``."""
        return _stream_drivers.astream_iterate(self, halt_after, halt_before, inputs)


def _no_inject(name: str) -> Any:  # pragma: no cover -- only called when an action declares injectables
    raise AssertionError(name)


from burr.core import _step_drivers, _stream_drivers  # noqa: E402
from burr.core._builder import ApplicationBuilder  # noqa: E402

ApplicationBuilder.__module__ = __name__
