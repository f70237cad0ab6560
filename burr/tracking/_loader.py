"""The loading half of ``LocalTrackingClient``: state from tracking data (ours or Apache Burr's)."""

from __future__ import annotations

import datetime
import os
import warnings
from typing import Any

from burr.core.persistence import BaseStateLoader, PersistedStateData
from burr.core.state import State
from burr.system import IS_WINDOWS
from burr.tracking._writer import WRITER
from burr.tracking.common import logs

DEFAULT_STORAGE_DIR = "~/.burr"
LOG_FILENAME = logs.LOG_FILENAME
METADATA_FILENAME = logs.METADATA_FILENAME
_SEQ = logs.SEQUENCE_ID_KEY


def _check_app_id(app_id: Any) -> str:
    bad = (
        not isinstance(app_id, str)
        or app_id in ("", ".", "..")
        or "/" in app_id
        or "\\" in app_id
        or "\x00" in app_id
        or (os.altsep is not None and os.altsep in app_id)
        or (IS_WINDOWS and ":" in app_id)
    )
    if bad:
        raise ValueError(
            f"App id {app_id!r} cannot be tracked: the local tracker stores each app in a directory named "
            "after its id, so it must be a non-empty string without '/', '\\', NUL, and not '.' or '..'. "
            "Pass another app id to ApplicationBuilder.with_identifiers(app_id=...)."
        )
    return app_id


class TrackingLoader(BaseStateLoader):
    """``BaseStateLoader`` over a tracking project directory (``self.storage_dir``)."""

    project_id: str
    storage_dir: str
    serde_kwargs: dict[str, Any]

    @classmethod
    def get_storage_path(cls, project: str, storage_dir: str = DEFAULT_STORAGE_DIR) -> str:
        return os.path.join(os.path.expanduser(storage_dir), project)

    def _log_path(self, app_id: str) -> str:
        return os.path.join(self.storage_dir, _check_app_id(app_id), LOG_FILENAME)

    def load(
        self,
        partition_key: str | None,
        app_id: str | None,
        sequence_id: int | None = None,
        **kwargs: Any,
    ) -> PersistedStateData | None:
        """The state after step ``sequence_id`` (None: the last step) of ``app_id``, from its log.

        Returns None when the app has no log (or no step yet). Raises ``ValueError`` when a
        sequence id is requested that the log does not contain. Internal ``__`` keys are dropped
        (so ``initialize_from`` starts at ``default_entrypoint`` unless ``resume_at_next_action``).
        """
        if app_id is None:
            return None
        path = self._log_path(app_id)
        WRITER.flush()
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return None
        result = logs.read_log(path)
        for w in result.warnings:
            warnings.warn(w, stacklevel=2)
        found = logs.state_at(result.records, sequence_id)
        if found is None:
            if sequence_id is None:
                return None
            raise ValueError(
                f"Sequence number {sequence_id} not found for {self.project_id}/{app_id}: its log at {path} "
                "has no completed step with that id. Pass one of the logged sequence ids, or None for the latest."
            )
        serialized, entry = found
        cleaned = {k: v for k, v in serialized.items() if not k.startswith("__")}
        state = State.deserialize(cleaned, **self.serde_kwargs)
        seq = entry.get("sequence_id")
        state = state.update(**{_SEQ: seq})
        created = datetime.datetime.fromtimestamp(os.path.getctime(path), datetime.timezone.utc).isoformat()
        return PersistedStateData(
            partition_key=partition_key,  # type: ignore[typeddict-item]
            app_id=app_id,
            sequence_id=seq,  # type: ignore[typeddict-item]
            position=str(entry.get("action")),
            state=state,
            created_at=created,
            status="failed" if entry.get("exception") else "completed",
        )

    def list_app_ids(self, partition_key: str | None = None, **kwargs: Any) -> list[str]:
        """App ids tracked in this project, most recently written first.

        With a partition key, only apps whose metadata has that key (None lists every app).
        """
        WRITER.flush()
        try:
            entries = list(os.scandir(self.storage_dir))
        except OSError:
            return []
        found: list[tuple[float, str]] = []
        for entry in entries:
            if not entry.is_dir():
                continue
            log = os.path.join(entry.path, LOG_FILENAME)
            meta_path = os.path.join(entry.path, METADATA_FILENAME)
            if not (os.path.exists(log) or os.path.exists(meta_path)):
                continue
            if (
                partition_key is not None
                and logs.read_metadata(entry.path).get("partition_key") != partition_key
            ):
                continue
            try:
                mtime = os.path.getmtime(log if os.path.exists(log) else meta_path)
            except OSError:
                mtime = 0.0
            found.append((mtime, entry.name))
        found.sort(key=lambda x: (-x[0], x[1]))
        return [name for _, name in found]

    @classmethod
    def app_log_exists(cls, project: str, app_id: str, storage_dir: str = DEFAULT_STORAGE_DIR) -> bool:
        """True when the app has a non-empty log."""
        WRITER.flush()
        path = os.path.join(cls.get_storage_path(project, storage_dir), _check_app_id(app_id), LOG_FILENAME)
        return os.path.exists(path) and os.path.getsize(path) > 0

    @classmethod
    def load_state(
        cls, project: str, app_id: str, sequence_id: int = -1, storage_dir: str = DEFAULT_STORAGE_DIR
    ) -> tuple[dict[str, Any], str]:
        """Deprecated: ``(serialized_state, action_name)`` of a step (-1: the last). Use ``load``."""
        warnings.warn(
            "LocalTrackingClient.load_state is deprecated; use LocalTrackingClient(project).load(...).",
            DeprecationWarning,
            stacklevel=2,
        )
        WRITER.flush()
        path = os.path.join(cls.get_storage_path(project, storage_dir), _check_app_id(app_id), LOG_FILENAME)
        if not os.path.exists(path):
            raise ValueError(f"No tracking log for app {app_id!r} in project {project!r} (looked at {path}).")
        records = logs.read_log(path).records
        found = logs.state_at(records, None if sequence_id == -1 else sequence_id)
        if found is None:
            raise ValueError(f"Sequence number {sequence_id} not found for {project}/{app_id}.")
        return found[0], str(found[1].get("action"))
