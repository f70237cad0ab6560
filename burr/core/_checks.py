"""Build-time graph checks from reads and writes (warnings; errors with ``with_strict_checks()``).

- an action reads a state key that neither the initial state nor any action that can run before it
  writes (a transition condition reading such a key is reported too);
- actions no transition path reaches;
- (at run time) a ``halt_before``/``halt_after`` action the next action can never lead to.

It also holds the run-time loop guard (``ApplicationBuilder.with_max_steps``).

The analysis is a may-be-written dataflow over the graph: a key is available at an action if the
initial state has it or some action on *some* path to it writes it. So a warning means "this can
never work", not "this might fail on one path".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable

from burr.core.policies import (
    ERROR_KEY,
    INTERRUPT_KEY,
    GraphCheckError,
    MaxStepsExceededError,
    is_exception_condition,
)

if TYPE_CHECKING:
    from burr.core.graph import Graph

logger = logging.getLogger("burr.core.application")

_ALWAYS_AVAILABLE = frozenset({INTERRUPT_KEY})


def _edges(graph: Graph, name: str) -> list[tuple[str, Any]]:
    """Out-edges that can be taken: normal ones after an always-true one never are; error ones always."""
    out = []
    defaulted = False
    for target, condition in graph.outgoing(name):
        if is_exception_condition(condition):
            out.append((target.name, condition))
        elif not defaulted:
            out.append((target.name, condition))
            defaulted = condition._always_true
    return out


def reachable(graph: Graph, roots: Iterable[str]) -> set[str]:
    """Names of the actions reachable from ``roots`` (the roots included)."""
    seen = set(roots)
    stack = list(seen)
    while stack:
        for target, _ in _edges(graph, stack.pop()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _writes(graph: Graph, name: str) -> set[str]:
    action = graph.get_action(name)
    writes = set(action.writes)
    if any(is_exception_condition(c) for _, c in graph.outgoing(name)):
        writes.add(ERROR_KEY)
    return writes


def _available(graph: Graph, roots: Iterable[str], initial: set[str]) -> dict[str, set[str]]:
    """Per reachable action: the keys that may be in state when it starts."""
    avail: dict[str, set[str]] = {r: set(initial) for r in roots}
    stack = list(avail)
    while stack:
        name = stack.pop()
        after = avail[name] | _writes(graph, name)
        for target, _ in _edges(graph, name):
            known = avail.get(target)
            if known is None:
                avail[target] = set(after)
                stack.append(target)
            elif not after <= known:
                known |= after
                stack.append(target)
    return avail


def graph_problems(graph: Graph, roots: list[str], state_keys: Iterable[str]) -> list[str]:
    """Human-readable problems found in ``graph`` when starting at ``roots`` with ``state_keys``."""
    problems: list[str] = []
    names = [a.name for a in graph.actions]
    seen = reachable(graph, roots)
    unreachable = [n for n in names if n not in seen]
    if unreachable:
        problems.append(
            f"Actions {unreachable} can never run: no transition path leads to them from `{roots[0]}`. Add a "
            "transition into them or remove them."
        )
    initial = set(state_keys) | _ALWAYS_AVAILABLE
    avail = _available(graph, roots, initial)
    for name in names:
        if name not in avail:
            continue
        action = graph.get_action(name)
        missing = [k for k in action.reads if not k.startswith("__") and k not in avail[name]]
        if missing:
            problems.append(
                f"Action `{name}` reads {missing}, but neither the initial state nor any action that can run "
                f"before it writes {'it' if len(missing) == 1 else 'them'}. Add "
                f"{'it' if len(missing) == 1 else 'them'} to with_state(...) or to the `writes` of an earlier "
                "action."
            )
        after = avail[name] | _writes(graph, name)
        for target, condition in _edges(graph, name):
            optional = set(getattr(condition, "optional_keys", ()) or ())
            cmissing = [k for k in condition.reads if k not in after and k not in optional]
            if cmissing:
                problems.append(
                    f"Transition `{name}` -> `{target}` ({condition.name}) reads {cmissing}, which nothing "
                    f"before it writes. Initialise {'it' if len(cmissing) == 1 else 'them'} with "
                    "with_state(...) or write it in an action that runs earlier."
                )
    return problems


def report(problems: list[str], strict: bool) -> None:
    """Warn about each problem, or raise them all at once when ``strict``."""
    if not problems:
        return
    if strict:
        raise GraphCheckError(
            "The application graph has problems (strict checks are on; remove with_strict_checks() to only "
            "warn):\n- " + "\n- ".join(problems)
        )
    for problem in problems:
        logger.warning(problem)


def unreachable_halts(graph: Graph, start: str, halts: Iterable[str]) -> list[str]:
    """The halt names ``start`` (the next action) can never lead to."""
    seen = reachable(graph, [start])
    return sorted({h for h in halts if h not in seen})


def check_halts(graph: Graph, start: str, halts: list[str], strict: bool) -> bool:
    """Report when ``start`` can reach none of ``halts``; True when some halt is reachable (cacheable).

    Listing halts that only some paths reach is normal (e.g. every human-input step of a graph), so
    only a call that can stop at none of them is reported.
    """
    unreachable = unreachable_halts(graph, start, halts)
    if not halts or len(unreachable) < len(set(halts)):
        return True
    report(
        [
            f"Halt {unreachable} can never be reached: no transition path leads from the next action "
            f"`{start}` to {'it' if len(unreachable) == 1 else 'any of them'}, so this call will only stop when "
            "the graph runs out of transitions (or never). Check halt_before/halt_after and the transitions."
        ],
        strict,
    )
    return False


def loop_guard(app: Any, limit: int, method: str, hb: Any, ha: Any) -> Callable[[], None]:
    """Call before each step of one run/iterate call: raises ``MaxStepsExceededError`` past ``limit``."""
    count = [0]

    def guard() -> None:
        if count[0] >= limit:
            nxt = app._next_meta()
            raise MaxStepsExceededError(
                f"Application `{app.uid}` took {limit} steps in one {method}() call without halting "
                f"(halt_before={sorted(hb)}, halt_after={sorted(ha)}); the next action would be "
                f"`{nxt.name if nxt is not None else None}`. This looks like a loop that never reaches a halt: "
                "check the transitions, or raise the limit with ApplicationBuilder().with_max_steps(n)."
            )
        count[0] += 1

    return guard
