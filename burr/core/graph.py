"""The state machine: actions, the transitions between them, and the builder that validates both."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from burr.core.action import Action, Condition, FunctionBasedAction, create_action, default
from burr.core.policies import current_error, is_exception_condition
from burr.core.validation import BASE_ERROR_MESSAGE

if TYPE_CHECKING:
    import graphviz

logger = logging.getLogger(__name__)

ERROR_EDGE_COLOR = "#d62728"  # exception transitions, in visualize() and to_mermaid()

TransitionSource = Union[str, list[str]]
TransitionTuple = Union[tuple[TransitionSource, str], tuple[TransitionSource, str, Condition]]


@dataclasses.dataclass
class Transition:
    """An edge: after ``from_`` runs, go to ``to`` if ``condition`` holds."""

    from_: Action
    to: Action
    condition: Condition


def _as_condition(condition: Any) -> Condition:
    """``condition`` itself, or a Condition delegating to a duck-typed object's ``run``."""
    if isinstance(condition, Condition):
        return condition
    run = condition.run
    return Condition(
        [], lambda state: bool(run(state)[Condition.KEY]), name=getattr(condition, "name", repr(condition))
    )


@dataclasses.dataclass
class Graph:
    """Actions and transitions. Immutable by convention: lookups are precomputed at construction."""

    actions: list[Action]
    transitions: list[Transition]

    def __post_init__(self) -> None:
        self._action_map: dict[str, Action] = {a.name: a for a in self.actions}
        # source name -> [(target action, condition)] in declaration order: what the engine walks.
        self._adjacency: dict[str, list[tuple[Action, Condition]]] = {}
        for t in self.transitions:
            self._adjacency.setdefault(t.from_.name, []).append((t.to, _as_condition(t.condition)))
        self._tag_map: dict[str, list[Action]] = {}
        for a in self.actions:
            for tag in a.tags:
                self._tag_map.setdefault(tag, []).append(a)

    # -- lookups -------------------------------------------------------------------------------

    def outgoing(self, action_name: str) -> list[tuple[Action, Condition]]:
        """``(target, condition)`` pairs leaving ``action_name``, in declaration order."""
        return self._adjacency.get(action_name, [])

    def get_next_node(
        self, prior_step: str | None, state: Mapping[str, Any], entrypoint: str
    ) -> Action | None:
        """The entrypoint when nothing ran yet, else the target of the first transition that holds."""
        if prior_step is None:
            return self.get_action(entrypoint)
        failed = current_error(state) is not None  # then only on_exception transitions apply
        for target, condition in self._adjacency.get(prior_step, ()):
            if is_exception_condition(condition) != failed:
                continue
            if condition._always_true or condition._evaluate(state):
                return target
        return None

    def get_action(self, action_name: str) -> Action:
        try:
            return self._action_map[action_name]
        except KeyError:
            raise ValueError(
                BASE_ERROR_MESSAGE + f"Action: {action_name} not found in graph. Actions are: "
                f"{list(self._action_map)}. Check the spelling or add it with with_actions({action_name}=...)."
            ) from None

    def get_actions_by_tag(self, tag: str) -> list[Action]:
        try:
            return self._tag_map[tag]
        except KeyError:
            raise ValueError(
                BASE_ERROR_MESSAGE + f"Tag: {tag} not found in graph. Tags are: {sorted(self._tag_map)}. "
                "Tag actions with @action(..., tags=[...]) (or an Action's `tags` property)."
            ) from None

    def unreachable_actions(self, entrypoint: str) -> set[str]:
        """Names of actions no transition path from ``entrypoint`` can reach.

        Transitions declared after a ``default`` one from the same source are never taken, so
        they do not count (``on_exception`` ones always do: they are checked separately).
        """
        seen = {entrypoint}
        stack = [entrypoint]
        while stack:
            for target in self.possible_targets(stack.pop()):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return set(self._action_map) - seen

    def possible_targets(self, action_name: str) -> list[str]:
        """Names of the actions a transition out of ``action_name`` can actually lead to."""
        out: list[str] = []
        defaulted = False
        for target, condition in self._adjacency.get(action_name, ()):
            if is_exception_condition(condition):
                out.append(target.name)
            elif not defaulted:
                out.append(target.name)
                defaulted = condition._always_true
        return out

    # -- rendering -----------------------------------------------------------------------------

    def _input_names(self, action: Action) -> list[str]:
        required, optional = action.optional_and_required_inputs
        return sorted(i for i in required | optional if not i.startswith("__"))

    def visualize(
        self,
        output_file_path: str | pathlib.Path | None = None,
        include_conditions: bool = False,
        include_state: bool = False,
        view: bool = False,
        engine: str = "graphviz",
        write_dot: bool = False,
        **engine_kwargs: Any,
    ) -> graphviz.Digraph | None:
        """Render with graphviz (``pip install "burr[graphviz]"``); returns the ``Digraph``.

        With ``output_file_path`` the image is written there (format from its suffix, png by
        default); ``write_dot``/``view`` also write the DOT source next to it (path minus suffix).
        Dict-valued ``engine_kwargs`` are merged into ``graph_attr``/``node_attr``/``edge_attr``.
        Returns None (and logs) when the graphviz package is not installed.
        """
        if engine != "graphviz":
            raise ValueError(f"Engine {engine!r} is not supported; the only engine is 'graphviz'.")
        try:
            import graphviz
        except ModuleNotFoundError:
            logger.warning(
                "graphviz is not installed, so the graph was not drawn. Install it with "
                'pip install "burr[graphviz]" (and the `dot` binary), or use Graph.to_mermaid().'
            )
            return None
        digraph_attr: dict[str, Any] = {
            "graph_attr": {"rankdir": "TB", "ranksep": "0.4", "fontname": "Helvetica"},
            "node_attr": {
                "fontname": "Helvetica",
                "margin": "0.15",
                "fillcolor": "#b4d8e4",
                "style": "filled",
            },
            "edge_attr": {"fontname": "Helvetica"},
        }
        for key, value in engine_kwargs.items():
            if isinstance(value, dict):
                digraph_attr.setdefault(key, {}).update(value)
            else:
                digraph_attr[key] = value
        digraph = graphviz.Digraph(**digraph_attr)
        for action in self.actions:
            label = action.name
            if include_state:
                label = f"{action.name}({', '.join(action.reads)}): {', '.join(action.writes)}"
            digraph.node(action.name, label=label, shape="box", style="rounded,filled")
            for input_ in self._input_names(action):
                input_node = f"input__{input_}"
                digraph.node(input_node, label=f"input: {input_}", shape="rect", style="dashed")
                digraph.edge(input_node, action.name)
        for t in self.transitions:
            if is_exception_condition(t.condition):  # error edges: always labelled, red
                digraph.edge(
                    t.from_.name,
                    t.to.name,
                    label=t.condition.name,
                    style="dashed",
                    color=ERROR_EDGE_COLOR,
                    fontcolor=ERROR_EDGE_COLOR,
                )
                continue
            is_default = t.condition is default
            digraph.edge(
                t.from_.name,
                t.to.name,
                label=t.condition.name if include_conditions and not is_default else None,
                style="solid" if is_default else "dashed",
            )
        if output_file_path is not None:
            path = pathlib.Path(output_file_path)
            fmt = path.suffix.lstrip(".") or engine_kwargs.get("format") or "png"
            if write_dot or view:
                digraph.render(str(path.with_suffix("")), format=fmt, view=view)
            else:
                # A suffix-less path ("statemachine", format="png") gets the format as its suffix,
                # as rendering with graphviz would name it.
                image_path = path if path.suffix else path.with_name(f"{path.name}.{fmt}")
                image_path.write_bytes(digraph.pipe(format=fmt))
        return digraph

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        digraph = self.visualize(include_conditions=True)
        if digraph is None:
            return {"text/plain": self.to_mermaid(include_conditions=True)}
        return digraph._repr_mimebundle_(include=include, exclude=exclude, **kwargs)  # type: ignore[no-any-return]

    def to_mermaid(self, include_conditions: bool = False) -> str:
        """The graph as Mermaid ``flowchart`` text (no dependencies; paste into Markdown/GitHub).

        Default transitions are solid arrows, conditional ones dashed (labelled with the
        condition when ``include_conditions``); error edges (``on_exception``) are red and always
        labelled; runtime inputs are dashed stadium nodes.
        """

        def quote(text: str) -> str:
            return '"' + text.replace('"', "#quot;") + '"'

        ids = {a.name: f"a{i}" for i, a in enumerate(self.actions)}
        lines = ["flowchart TD"]
        lines.extend(f"    {ids[a.name]}[{quote(a.name)}]" for a in self.actions)
        input_ids: dict[str, str] = {}
        links = 0  # mermaid styles edges by their index among all links
        error_links: list[int] = []
        for action in self.actions:
            for input_ in self._input_names(action):
                if input_ not in input_ids:
                    input_ids[input_] = f"i{len(input_ids)}"
                    lines.append(f"    {input_ids[input_]}([{quote('input: ' + input_)}])")
                lines.append(f"    {input_ids[input_]} -.-> {ids[action.name]}")
                links += 1
        for t in self.transitions:
            src, dst = ids[t.from_.name], ids[t.to.name]
            links += 1
            if is_exception_condition(t.condition):
                lines.append(f"    {src} -.->|{quote(t.condition.name)}| {dst}")
                error_links.append(links - 1)
            elif t.condition is default:
                lines.append(f"    {src} --> {dst}")
            elif include_conditions:
                lines.append(f"    {src} -.->|{quote(t.condition.name)}| {dst}")
            else:
                lines.append(f"    {src} -.-> {dst}")
        if error_links:
            indices = ",".join(str(i) for i in error_links)
            lines.append(f"    linkStyle {indices} stroke:{ERROR_EDGE_COLOR},color:{ERROR_EDGE_COLOR}")
        return "\n".join(lines) + "\n"


class GraphBuilder:
    """Collects actions and transitions; ``build()`` validates them into a ``Graph``."""

    def __init__(self) -> None:
        self.actions: list[Action] | None = None
        self.transitions: list[tuple[str, str, Condition]] = []

    def with_actions(self, *action_list: Any, **action_dict: Any) -> GraphBuilder:
        """Add actions: ``@action`` functions or named ``Action``s positionally, anything as ``name=...``."""
        if self.actions is None:
            self.actions = []
        for obj in action_list:
            if hasattr(obj, FunctionBasedAction.ACTION_FUNCTION) or inspect.isfunction(obj):
                name = getattr(obj, "__name__", None)
                if not isinstance(name, str):
                    raise ValueError(
                        f"with_actions() cannot name the positional action {obj!r}: it has no __name__. "
                        "Pass it by keyword instead: with_actions(my_name=...)."
                    )
                self.actions.append(create_action(obj, name))
            elif isinstance(obj, Action):
                if obj.name is None:
                    raise ValueError(
                        BASE_ERROR_MESSAGE + f"Action: {obj} must have a name set when passed positionally "
                        "to with_actions(). Pass it by keyword (with_actions(my_name=MyAction())) or "
                        "name it first (MyAction().with_name('my_name'))."
                    )
                self.actions.append(obj)
            else:
                hint = ""
                if isinstance(obj, type) and issubclass(obj, Action):
                    hint = f" It is an Action class: instantiate it, e.g. with_actions(my_name={obj.__name__}())."
                raise ValueError(
                    f"with_actions() got {obj!r} (a {type(obj).__name__}) as a positional argument, which is "
                    "not an action. Pass functions decorated with @action/@streaming_action, Action "
                    f"instances with a name set, or name anything by keyword: with_actions(my_name=...).{hint}"
                )
        for name, obj in action_dict.items():
            self.actions.append(create_action(obj, name))
        return self

    def with_transitions(self, *transitions: Any) -> GraphBuilder:
        """Add ``(from, to)`` or ``(from, to, condition)`` tuples; ``from`` may be a list of names."""
        for transition in transitions:
            if not isinstance(transition, (tuple, list)) or len(transition) not in (2, 3):
                raise ValueError(
                    f"Transition {transition!r} must be a tuple (from, to) or (from, to, condition), e.g. "
                    '("a", "b") or ("a", "b", expr("n > 1")).'
                )
            from_, to = transition[0], transition[1]
            condition = transition[2] if len(transition) == 3 else default
            if not isinstance(condition, Condition) and not callable(getattr(condition, "run", None)):
                raise ValueError(
                    f"Transition {from_!r} -> {to!r} has condition {condition!r} (a "
                    f"{type(condition).__name__}), which is not a Condition. Use when(...), expr(...), "
                    "default, or Condition(keys, resolver, name) for a Python function."
                )
            sources = from_ if isinstance(from_, list) else [from_]
            for source in sources:
                if not isinstance(source, str):
                    raise ValueError(
                        f"Transition source must be a string, not {source!r} (a {type(source).__name__}). "
                        "Use the action's name as given to with_actions."
                    )
            if not isinstance(to, str):
                raise ValueError(
                    f"Transition target must be a string, not {to!r} (a {type(to).__name__}). "
                    "Use the action's name as given to with_actions."
                )
            self.transitions.extend((source, to, condition) for source in sources)
        return self

    def with_graph(self, graph: Graph) -> GraphBuilder:
        """Add every action and transition of an existing graph."""
        if self.actions is None:
            self.actions = []
        self.actions.extend(graph.actions)
        self.transitions.extend((t.from_.name, t.to.name, t.condition) for t in graph.transitions)
        return self

    def build(self) -> Graph:
        """Validate and return the ``Graph``."""
        if self.actions is None:
            raise ValueError(
                BASE_ERROR_MESSAGE + "Must call `with_actions` before building application! Add actions "
                "with with_actions(name=action, ...) (or with_graph(graph))."
            )
        if not self.actions:
            raise ValueError(
                "Must have at least one action in the application! with_actions() was called with none."
            )
        action_map: dict[str, Action] = {}
        for a in self.actions:
            if a.name in action_map:
                raise ValueError(
                    f"Action: {a.name} is duplicated in the actions list. Each action needs a unique name "
                    "(check with_actions and every with_graph for a second action with this name)."
                )
            action_map[a.name] = a
        transitions = []
        has_default: set[str] = set()
        for from_, to, condition in self.transitions:
            for role, name in (("source", from_), ("target", to)):
                if name not in action_map:
                    raise ValueError(
                        f"Transition {role}: `{name}` not found in actions! Please add to actions using "
                        f"with_actions({name}=...). Known actions: {list(action_map)}."
                    )
            if getattr(condition, "name", None) == "default":
                if from_ in has_default:
                    raise ValueError(
                        f"Transition `{from_}` -> `{to}` is redundant -- a default transition has already "
                        f"been set for `{from_}`. Give this transition a condition or remove one of them."
                    )
                has_default.add(from_)
            transitions.append(Transition(from_=action_map[from_], to=action_map[to], condition=condition))
        return Graph(actions=list(self.actions), transitions=transitions)
