"""``ApplicationBuilder`` (re-exported from ``burr.core.application``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from burr.common.types import ParentPointer
from burr.core import _checks
from burr.core._engine import PRIOR_STEP
from burr.core.application import Application
from burr.core.graph import Graph, GraphBuilder
from burr.core.state import State
from burr.core.validation import BASE_ERROR_MESSAGE
from burr.lifecycle.internal import LifecycleAdapterSet

if TYPE_CHECKING:
    from burr.core.typing import TypingSystem

logger = logging.getLogger("burr.core.application")

StateType = TypeVar("StateType")


def _persistence() -> Any:
    from burr.core import persistence

    return persistence


def _is_async_obj(obj: Any) -> bool:
    try:
        return bool(obj.is_async())
    except Exception:
        return False


class ApplicationBuilder(Generic[StateType]):
    """Assembles an ``Application``: actions, transitions, state, identifiers, hooks, persistence."""

    def __init__(self) -> None:
        import uuid  # lazy: keeps `import burr.core` cheap (uuid pulls in platform)

        self.app_id: str = str(uuid.uuid4())
        self.partition_key: str | None = None
        self.sequence_id: int | None = None
        self.state: State[Any] | None = None
        self.start: str | None = None
        self.lifecycle_adapters: list[Any] = []
        self.tracker: Any = None
        self.graph_builder: GraphBuilder | None = None
        self.typing_system: TypingSystem[Any] | None = None
        self.parallel_executor_factory: Callable[[], Any] | None = None
        self.state_persister: Any = None
        self.persist_on_every: str = "step"
        self.initializer: Any = None
        self.resume_at_next_action: bool = True
        self.default_state: dict[str, Any] = {}
        self.default_entrypoint: str | None = None
        self.fork_from_app_id: str | None = None
        self.fork_from_partition_key: str | None = None
        self.fork_from_sequence_id: int | None = None
        self.override_state_values: dict[str, Any] | None = None
        self.spawn_from_app_id: str | None = None
        self.spawn_from_partition_key: str | None = None
        self.spawn_from_sequence_id: int | None = None
        self._is_async = False
        self.policy_defaults: dict[str, Any] = {}
        self.policies_by_action: dict[str, dict[str, Any]] = {}
        self.max_steps: int | None = None
        self.strict_checks = False

    @property
    def is_async(self) -> bool:
        """True once ``abuild()`` was called: the app then only runs with the async methods."""
        return self._is_async

    # ------------------------------------------------------------------------------------------
    # graph
    # ------------------------------------------------------------------------------------------

    def _graph(self) -> GraphBuilder:
        if self.graph_builder is None:
            self.graph_builder = GraphBuilder()
        return self.graph_builder

    def with_actions(self, *action_list: Any, **action_dict: Any) -> ApplicationBuilder[StateType]:
        """Add actions (``@action`` functions, named ``Action`` objects, or anything by keyword)."""
        self._graph().with_actions(*action_list, **action_dict)
        return self

    def with_transitions(self, *transitions: Any) -> ApplicationBuilder[StateType]:
        """Add ``(from, to)`` / ``(from, to, condition)`` transitions, checked in declaration order."""
        self._graph().with_transitions(*transitions)
        return self

    def with_graph(self, graph: Graph) -> ApplicationBuilder[StateType]:
        """Add a prebuilt graph's actions and transitions."""
        self._graph().with_graph(graph)
        return self

    def with_graphs(self, *graphs: Graph) -> ApplicationBuilder[StateType]:
        for graph in graphs:
            self.with_graph(graph)
        return self

    def with_entrypoint(self, action: str) -> ApplicationBuilder[StateType]:
        """The action the application starts at."""
        if self.initializer is not None:
            raise ValueError(
                BASE_ERROR_MESSAGE + "You cannot set the entrypoint if you are loading a persister using the "
                ".initialize_from() API: its default_entrypoint argument sets it (and a resumed app continues "
                "from where it left off)."
            )
        if self.start is not None:
            raise ValueError(
                BASE_ERROR_MESSAGE + f"The entrypoint is already set to `{self.start}`; with_entrypoint("
                f"`{action}`) cannot set it twice. Call with_entrypoint once."
            )
        self.start = action
        return self

    # ------------------------------------------------------------------------------------------
    # state & identity
    # ------------------------------------------------------------------------------------------

    def with_state(self, state: Any = None, **kwargs: Any) -> ApplicationBuilder[StateType]:
        """Initial state: keyword values (repeat calls merge), or one ``State``/typed object."""
        if self.initializer is not None:
            raise ValueError(
                BASE_ERROR_MESSAGE + "You cannot set state if you are loading state the .initialize_from() "
                "API. Pass default_state=... (used when nothing is loaded) or override_state_values=... to "
                "initialize_from instead."
            )
        if state is not None:
            if self.state is not None:
                raise ValueError(
                    BASE_ERROR_MESSAGE
                    + "State items have already been set -- you cannot use the type-based API "
                    "as well. Pass the State (or typed object) in the first with_state call, before any keyword "
                    "values."
                )
            if isinstance(state, State):
                self.state = state
            else:
                if self.typing_system is None:
                    raise ValueError(
                        BASE_ERROR_MESSAGE
                        + "You have not set a typing system, and you are passing in a typed "
                        f"state object ({type(state).__name__}). Call with_typing(...) (e.g. "
                        "PydanticTypingSystem(MyModel)) before with_state."
                    )
                self.state = self.typing_system.construct_state(state)
        if kwargs:
            self.state = (self.state if self.state is not None else State()).update(**kwargs)
        return self

    def with_typing(self, typing_system: TypingSystem[Any] | None) -> ApplicationBuilder[StateType]:
        if typing_system is not None:
            self.typing_system = typing_system
        return self

    def with_identifiers(
        self, app_id: str | None = None, partition_key: str | None = None, sequence_id: int | None = None
    ) -> ApplicationBuilder[StateType]:
        """App id, partition key and the id of the last completed step (only non-None values apply)."""
        if app_id is not None:
            self.app_id = app_id
        if partition_key is not None:
            self.partition_key = partition_key
        if sequence_id is not None:
            self.sequence_id = sequence_id
        return self

    def reset_to_entrypoint(self) -> None:
        """Forget any prior step in the builder's state."""
        if self.state is not None:
            self.state = self.state.wipe(delete=[PRIOR_STEP])

    # ------------------------------------------------------------------------------------------
    # hooks, tracking, persistence, execution
    # ------------------------------------------------------------------------------------------

    def with_hooks(self, *adapters: Any) -> ApplicationBuilder[StateType]:
        """Add lifecycle hooks (run in the order added)."""
        self.lifecycle_adapters.extend(adapters)
        return self

    def with_tracker(
        self,
        tracker: Any = "local",
        project: str = "default",
        params: dict[str, Any] | None = None,
        use_otel_tracing: bool = False,
    ) -> ApplicationBuilder[StateType]:
        """Track runs: ``"local"`` (writes ``~/.burr``, configure with ``params``) or a tracker object."""
        if tracker is None:
            return self
        if isinstance(tracker, str):
            if tracker != "local":
                raise ValueError(
                    f"Tracker {tracker}:{project} not supported. Use tracker='local' or pass a tracker object "
                    "(e.g. LocalTrackingClient(project=...))."
                )
            from burr.tracking import LocalTrackingClient

            instance: Any = LocalTrackingClient(project=project, **(params or {}))
        else:
            if params is not None:
                raise ValueError(
                    "Params are not supported for object-specified trackers: configure the tracker object "
                    "itself, or pass tracker='local' with params."
                )
            instance = tracker
        if use_otel_tracing:
            from burr.integrations.opentelemetry import OpenTelemetryTracker

            instance = OpenTelemetryTracker(burr_tracker=instance)
        self.lifecycle_adapters.append(instance)
        self.tracker = instance
        return self

    def with_state_persister(self, persister: Any, on_every: str = "step") -> ApplicationBuilder[StateType]:
        """Save state after steps (``on_every``: see ``PersisterHook``)."""
        check = getattr(_persistence(), "_check_on_every", None)
        if check is not None:
            check(on_every)
        self.state_persister = persister
        self.persist_on_every = on_every
        return self

    def initialize_from(
        self,
        initializer: Any,
        resume_at_next_action: bool,
        default_state: dict[str, Any],
        default_entrypoint: str,
        fork_from_app_id: str | None = None,
        fork_from_partition_key: str | None = None,
        fork_from_sequence_id: int | None = None,
        override_state_values: dict[str, Any] | None = None,
    ) -> ApplicationBuilder[StateType]:
        """Load state (and position) from a persister/tracker at build time; defaults when nothing is stored."""
        if self.state is not None or self.start is not None:
            raise ValueError(
                BASE_ERROR_MESSAGE
                + "Cannot call initialize_from if you have already set state or an entrypoint! "
                "Use default_state and default_entrypoint instead of with_state/with_entrypoint."
            )
        if fork_from_app_id is None and (
            fork_from_partition_key is not None or fork_from_sequence_id is not None
        ):
            raise ValueError(
                BASE_ERROR_MESSAGE
                + "If you set fork_from_partition_key or fork_from_sequence_id, you must also "
                "set fork_from_app_id (the app to fork from)."
            )
        self.initializer = initializer
        self.resume_at_next_action = resume_at_next_action
        self.default_state = default_state
        self.default_entrypoint = default_entrypoint
        self.start = default_entrypoint
        self.fork_from_app_id = fork_from_app_id
        self.fork_from_partition_key = fork_from_partition_key
        self.fork_from_sequence_id = fork_from_sequence_id
        self.override_state_values = override_state_values
        return self

    def with_spawning_parent(
        self, app_id: str | None, sequence_id: int | None, partition_key: str | None = None
    ) -> ApplicationBuilder[StateType]:
        """Record the application (and step) that spawned this one, for tracking links."""
        if app_id is not None:
            self.spawn_from_app_id = app_id
            self.spawn_from_sequence_id = sequence_id
            self.spawn_from_partition_key = partition_key
        return self

    def with_policies(self, *defaults: Any, **per_action: Any) -> ApplicationBuilder[StateType]:
        """Failure-handling policies (``RetryPolicy``/``TimeoutPolicy`` from ``burr.core.policies``).

        Positional policies apply to every action; ``action_name=policy`` (or a list of policies)
        to one. Per-action policies here win over ``@retry``/``@timeout`` on the action, which win
        over the positional defaults. Unknown action names fail at ``build()``.
        """
        from burr.core.policies import check_policy_list

        self.policy_defaults.update(check_policy_list("with_policies(...)", list(defaults)))
        for name, value in per_action.items():
            found = check_policy_list(f"with_policies({name}=...)", value)
            self.policies_by_action.setdefault(name, {}).update(found)
        return self

    def with_max_steps(self, max_steps: int | None) -> ApplicationBuilder[StateType]:
        """Loop guard: one run/iterate/stream call may take at most ``max_steps`` steps, then raises
        ``MaxStepsExceededError`` (None: no limit)."""
        if max_steps is not None and (
            not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1
        ):
            raise ValueError(
                f"with_max_steps({max_steps!r}): the limit must be an int >= 1 (steps per run/iterate call), or None "
                "for no limit."
            )
        self.max_steps = max_steps
        return self

    def with_strict_checks(self, strict: bool = True) -> ApplicationBuilder[StateType]:
        """Turn the graph checks' warnings (reads nothing writes, unreachable actions, unreachable halts)
        into ``GraphCheckError``s, at ``build()`` and at ``run()``."""
        self.strict_checks = bool(strict)
        return self

    def with_parallel_executor(self, executor_factory: Callable[[], Any]) -> ApplicationBuilder[StateType]:
        """A zero-argument factory of ``concurrent.futures.Executor`` for parallel actions."""
        if self.parallel_executor_factory is not None:
            raise ValueError(
                BASE_ERROR_MESSAGE
                + "You have already set an executor factory; with_parallel_executor can only "
                "be called once."
            )
        self.parallel_executor_factory = executor_factory
        return self

    # ------------------------------------------------------------------------------------------
    # build
    # ------------------------------------------------------------------------------------------

    def _check_app_id(self) -> None:
        if self.app_id is None:
            raise ValueError(
                "App ID was None. Set it with with_identifiers(app_id=...) or leave the default."
            )

    def _sync_persister_hook(self) -> Any:
        p = self.state_persister
        if p is None:
            return None
        persistence = _persistence()
        if isinstance(p, getattr(persistence, "AsyncBaseStateSaver", ())) or (
            isinstance(p, persistence.BaseStateSaver) and _is_async_obj(p)
        ):
            raise ValueError(
                "You are building the sync application, but have used an async persister. Build with "
                "`await builder.abuild()` and run with the async methods, or use a sync persister."
            )
        if isinstance(p, persistence.BaseStateSaver):
            try:
                ok = p.is_initialized()
            except NotImplementedError:
                ok = True
            if not ok:
                raise RuntimeError(
                    "RuntimeError: Uninitialized persister. Make sure to call .initialize() before passing it "
                    f"to the ApplicationBuilder ({type(p).__name__} has no table/storage yet)."
                )
            return persistence.PersisterHook(p, self.persist_on_every)
        return p

    async def _async_persister_hook(self) -> Any:
        p = self.state_persister
        if p is None:
            return None
        persistence = _persistence()
        if isinstance(p, persistence.BaseStateSaver) and not _is_async_obj(p):
            raise ValueError(
                "You are building the async application, but have used an sync persister. Use the async "
                "persister twin (e.g. AsyncSQLitePersister) or build with .build()."
            )
        if isinstance(p, persistence.AsyncBaseStateSaver):
            try:
                ok = await p.is_initialized()
            except NotImplementedError:
                ok = True
            if not ok:
                raise RuntimeError(
                    "RuntimeError: Uninitialized persister. Make sure to call .initialize() before passing it "
                    f"to the ApplicationBuilder ({type(p).__name__} has no table/storage yet)."
                )
            return persistence.PersisterHookAsync(p, self.persist_on_every)
        return p

    def _load_target(self) -> tuple[str | None, str | None, int | None]:
        if self.fork_from_app_id is not None:
            if self.fork_from_app_id == self.app_id:
                raise ValueError(
                    BASE_ERROR_MESSAGE + f"Cannot fork and save to the same app_id ({self.app_id}). Give the "
                    "fork a new app id with with_identifiers(app_id=...) (or leave it unset for a fresh uuid)."
                )
            return self.fork_from_partition_key, self.fork_from_app_id, self.fork_from_sequence_id
        return self.partition_key, self.app_id, self.sequence_id

    def _apply_loaded(
        self, loaded: Any, state: State[Any]
    ) -> tuple[State[Any], int | None, str, ParentPointer | None]:
        """``(state, sequence_id, entrypoint, fork_parent_pointer)`` after a load."""
        entrypoint = self.start
        assert entrypoint is not None
        forking = self.fork_from_app_id is not None
        if loaded is None:
            if forking:
                logger.warning(
                    "Asked to fork from app %s (partition %s, sequence id %s) but %s found nothing; starting "
                    "from default_state.",
                    self.fork_from_app_id,
                    self.fork_from_partition_key,
                    self.fork_from_sequence_id,
                    type(self.initializer).__name__,
                )
            return state.update(**self.default_state), None, entrypoint, None
        if loaded["state"] is None:
            raise ValueError(
                BASE_ERROR_MESSAGE + f"Error: {type(self.initializer).__name__} returned {loaded} for "
                f"partition_key:{loaded.get('partition_key')}, app_id:{loaded.get('app_id')}, "
                f"sequence_id:{loaded.get('sequence_id')}, but value for state was None! Loaders must return "
                "None when nothing is stored, or a record with a State."
            )
        state = loaded["state"]
        sequence_id = loaded["sequence_id"]
        parent = None
        if forking:  # fix #12: a plain resume is not a fork
            parent = ParentPointer(
                app_id=self.fork_from_app_id,
                partition_key=self.fork_from_partition_key,
                sequence_id=self.fork_from_sequence_id
                if self.fork_from_sequence_id is not None
                else sequence_id,
            )
        if self.resume_at_next_action:
            if loaded.get("status") == "completed" or _failure_was_routed(loaded):
                state = state.update(**{PRIOR_STEP: loaded["position"]})
            else:
                entrypoint = loaded["position"]
                state = state.wipe(delete=[PRIOR_STEP])
        if self.override_state_values:
            state = state.update(**self.override_state_values)
        return state, sequence_id, entrypoint, parent

    def _build_graph(self) -> Graph:
        if self.graph_builder is None:
            raise ValueError(
                BASE_ERROR_MESSAGE
                + "No graph constructs exist. You must call some combination of with_graph, "
                "with_entrypoint, with_actions, and with_transitions"
            )
        return self.graph_builder.build()

    def _finish(
        self,
        state: State[Any],
        sequence_id: int | None,
        entrypoint: str | None,
        fork_parent: ParentPointer | None,
        persister_hook: Any,
        is_async: bool,
    ) -> Application[StateType]:
        graph = self._build_graph()
        if entrypoint is None:
            raise ValueError(
                BASE_ERROR_MESSAGE + "Must call `with_entrypoint` before building application! Do so with "
                "ApplicationBuilder."
            )
        names = [a.name for a in graph.actions]
        if entrypoint not in names:
            raise ValueError(
                f"Entrypoint: {entrypoint} not found in actions. Please add using with_actions({entrypoint}=...). "
                f"Actions are: {names}."
            )
        policies = self._resolve_policies(graph)
        roots = [entrypoint] + [
            n for n in (self.start, state.get(PRIOR_STEP)) if n in names and n != entrypoint
        ]
        _checks.report(_checks.graph_problems(graph, roots, state.keys()), self.strict_checks)
        if self.typing_system is not None:
            state = state.with_typing_system(self.typing_system)
        else:
            from burr.core.typing import DictBasedTypingSystem

            state = state.with_typing_system(DictBasedTypingSystem())
        adapters = list(self.lifecycle_adapters)
        if persister_hook is not None:
            adapters.append(persister_hook)
        spawn = (
            ParentPointer(self.spawn_from_app_id, self.spawn_from_partition_key, self.spawn_from_sequence_id)
            if self.spawn_from_app_id is not None
            else None
        )
        app: Application[StateType] = Application(
            graph=graph,
            state=state,
            partition_key=self.partition_key,
            uid=self.app_id,
            entrypoint=entrypoint,
            sequence_id=sequence_id,
            adapter_set=LifecycleAdapterSet(*adapters),
            builder=self,
            fork_parent_pointer=fork_parent,
            spawning_parent_pointer=spawn,
            tracker=self.tracker,
            parallel_executor_factory=self.parallel_executor_factory or _default_executor_factory,
            state_persister=self.state_persister,
            state_initializer=self.initializer,
        )
        app._is_async_app = is_async
        app._configure(policies, self.max_steps, self.strict_checks)
        return app

    def _resolve_policies(self, graph: Graph) -> dict[str, Any]:
        from burr.core.policies import resolve

        names = {a.name for a in graph.actions}
        unknown = sorted(set(self.policies_by_action) - names)
        if unknown:
            raise ValueError(
                f"with_policies() names actions {unknown} that are not in the graph (actions: {sorted(names)}). "
                "Check the spelling: keywords are action names as given to with_actions."
            )
        out = {}
        for a in graph.actions:
            resolved = resolve(a, self.policy_defaults, self.policies_by_action)
            if resolved is not None:
                out[a.name] = resolved
        return out

    def build(self) -> Application[StateType]:
        """Validate everything and return the application (run it with the sync methods)."""
        self._check_app_id()
        state = self.state if self.state is not None else State()
        hook = self._sync_persister_hook()
        sequence_id, entrypoint, parent = self.sequence_id, self.start, None
        if self.initializer is not None:
            if isinstance(
                self.initializer, getattr(_persistence(), "AsyncBaseStateLoader", ())
            ) or _is_async_obj(self.initializer):
                raise ValueError(
                    "You are building the sync application, but have used an async initializer. Build with "
                    "`await builder.abuild()`, or use a sync loader."
                )
            loaded = self.initializer.load(*self._load_target())
            state, sequence_id, entrypoint, parent = self._apply_loaded(loaded, state)
        return self._finish(state, sequence_id, entrypoint, parent, hook, False)

    async def abuild(self) -> Application[StateType]:
        """Validate everything and return an application to run with the async methods."""
        self._is_async = True
        self._check_app_id()
        state = self.state if self.state is not None else State()
        hook = await self._async_persister_hook()
        sequence_id, entrypoint, parent = self.sequence_id, self.start, None
        if self.initializer is not None:
            persistence = _persistence()
            if isinstance(self.initializer, persistence.BaseStateLoader) and not _is_async_obj(
                self.initializer
            ):
                raise ValueError(
                    "You are building the async application, but have used an sync initializer. Use an async "
                    "loader (e.g. AsyncSQLitePersister) or build with .build()."
                )
            loaded = await self.initializer.load(*self._load_target())
            state, sequence_id, entrypoint, parent = self._apply_loaded(loaded, state)
        return self._finish(state, sequence_id, entrypoint, parent, hook, True)


def _failure_was_routed(loaded: Any) -> bool:
    """A step saved as failed whose error an ``on_exception`` transition handled: resume into the route."""
    from burr.core.policies import ERROR_KEY

    record = loaded["state"].get(ERROR_KEY)
    return (
        isinstance(record, dict)
        and record.get("sequence_id") == loaded.get("sequence_id")
        and record.get("action") == loaded.get("position")
    )


def _default_executor_factory() -> Any:
    # One shared pool sized for I/O-bound branches (Apache Burr's ThreadPoolExecutor() runs 8
    # blocking branches in waves on a 2-core machine); imported lazily to keep import time low.
    from burr.core._parallel_exec import default_parallel_executor_factory

    return default_parallel_executor_factory()
