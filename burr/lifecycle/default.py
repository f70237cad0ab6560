"""Ready-made hooks: a JSONL step logger and a hook that slows steps down (for demos)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Literal

from burr.lifecycle.base import PostRunStepHook, PreRunStepHook

if TYPE_CHECKING:
    import datetime

    from burr.core.action import Action
    from burr.core.state import State


def safe_json(obj: Any) -> str:
    """``json.dumps`` that falls back to ``str`` for values JSON cannot encode."""
    import json  # lazy: keeps `import burr.core` cheap

    return json.dumps(obj, default=str)


class StateAndResultsFullLogger(PostRunStepHook, PreRunStepHook):
    """Appends one JSON line per step: ``{state, action, result, exception, start_time, end_time}``."""

    def __init__(
        self,
        jsonl_path: str,
        mode: Literal["append", "w"] = "append",
        json_dump: Callable[[dict[str, Any]], str] = safe_json,
    ) -> None:
        if not str(jsonl_path).endswith(".jsonl"):
            raise ValueError(
                f"jsonl_path must end with .jsonl, got {jsonl_path!r}: this logger writes one JSON object per line."
            )
        if mode not in ("append", "w"):
            raise ValueError(f"mode must be 'append' or 'w', got {mode!r}.")
        self.jsonl_path = jsonl_path
        self.mode = mode
        self.json_dump = json_dump
        self._file = open(jsonl_path, "a" if mode == "append" else "w")  # noqa: SIM115 -- lives with the hook
        self._start_time: datetime.datetime | None = None

    def pre_run_step(self, *, state: State[Any], action: Action, **future_kwargs: Any) -> None:
        import datetime  # lazy: keeps `import burr.core` cheap

        self._start_time = datetime.datetime.now()

    def post_run_step(
        self,
        *,
        state: State[Any],
        action: Action,
        result: dict[str, Any] | None,
        exception: Exception | None,
        **future_kwargs: Any,
    ) -> None:
        import datetime

        end_time = datetime.datetime.now()
        record = {
            "state": state.get_all(),
            "action": action.name,
            "result": result,
            "exception": str(exception),
            "start_time": self._start_time.isoformat() if self._start_time else None,
            "end_time": end_time.isoformat(),
        }
        self._file.write(self.json_dump(record) + "\n")
        self._file.flush()

    def __del__(self) -> None:
        f = getattr(self, "_file", None)
        if f is not None and not f.closed:
            f.close()


class SlowDownHook(PostRunStepHook, PreRunStepHook):
    """Sleeps before and after every step (useful to watch a demo in the UI)."""

    def __init__(self, pre_sleep_time: float = 0.5, post_sleep_time: float = 0.5) -> None:
        self.pre_sleep_time = pre_sleep_time
        self.post_sleep_time = post_sleep_time

    def pre_run_step(self, **future_kwargs: Any) -> None:
        time.sleep(self.pre_sleep_time)

    def post_run_step(self, **future_kwargs: Any) -> None:
        time.sleep(self.post_sleep_time)
