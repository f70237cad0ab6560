"""Small shared types."""

from __future__ import annotations

import abc
import dataclasses
from typing import Any


@dataclasses.dataclass
class ParentPointer:
    """Where an application came from: the app, partition and step it was forked or spawned at."""

    app_id: str | None
    partition_key: str | None
    sequence_id: int | None


class BaseCopyable(abc.ABC):
    """Something an application can hand a copy of to its children (trackers, persisters)."""

    @abc.abstractmethod
    def copy(self) -> Any: ...
