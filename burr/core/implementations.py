"""Ready-made actions."""

from __future__ import annotations

from typing import Any

from burr.core.action import Action
from burr.core.state import State


class Placeholder(Action):
    """Stands in for an action not written yet: the graph builds and renders, running it raises."""

    def __init__(self, reads: list[str], writes: list[str]) -> None:
        super().__init__()
        self._reads = list(reads)
        self._writes = list(writes)

    @property
    def reads(self) -> list[str]:
        return self._reads

    @property
    def writes(self) -> list[str]:
        return self._writes

    def run(self, state: State[Any], **run_kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError(
            f"Action {self.name} is a Placeholder: replace it with a real action (an @action "
            "function or an Action subclass) before running it."
        )

    def update(self, result: dict[str, Any], state: State[Any]) -> State[Any]:
        raise NotImplementedError(
            f"Action {self.name} is a Placeholder: replace it with a real action before running it."
        )
