"""Delta checkpoints: what our durable persisters write per step and how they read it back.

Every backend stores rows with Apache Burr's columns (partition_key, app_id, sequence_id, position,
status, state, created_at) plus two nullable ones:

* ``format_version``: NULL for a row Apache Burr wrote (``state`` is the full state JSON), 1 for ours.
* ``snapshot_sequence_id``: NULL for a snapshot (``state`` is the full state JSON, exactly Apache
  Burr's shape); for a delta, the sequence id of the snapshot its chain starts at. ``state`` then
  holds a JSON list of records (see ``burr.core._delta``) to replay on the previous row's state.

One application's rows form a single linear history (saves are compare-and-set), so the state of
step N is: the snapshot row S = N's ``snapshot_sequence_id``, then every delta row with
S < sequence_id <= N, in order. ``Checkpointer`` decides, per save, between a delta and a snapshot
and keeps, per (partition_key, app_id), the head it last saved or loaded.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
from typing import Any

from burr.core import _delta, serde
from burr.core.state import FIELD_SERIALIZATION, State, _snapshot_base, deserialize_field

FORMAT_VERSION = 1
DEFAULT_SNAPSHOT_EVERY = 2000
# fixed cost of reading one more delta row, in bytes of JSON that take as long to parse
ROW_COST = 256
DEFAULT_SNAPSHOT_RATIO = 8.0
_LOADED_CACHE_SIZE = 16

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclasses.dataclass
class Head:
    """The last step this persister saved or loaded for one application."""

    vid: int | None  # burr.core._delta.state_id of that State (the next delta's base)
    seq: int
    snap_seq: int  # the snapshot its chain starts at
    chain_len: int  # deltas since that snapshot
    chain_bytes: int
    snap_bytes: int


@dataclasses.dataclass
class Row:
    """One step, encoded for a backend to write."""

    partition_key: str
    app_id: str
    sequence_id: int
    position: str
    status: str
    payload: str
    snapshot_seq: int | None  # None: a snapshot row
    # compare-and-set window: the stored head must lie in [low, high] (-1 = no rows)
    head_low: int
    head_high: int

    def params(self) -> tuple[Any, ...]:
        return (
            self.partition_key,
            self.app_id,
            self.sequence_id,
            self.position,
            self.status,
            self.payload,
            FORMAT_VERSION,
            self.snapshot_seq,
        )


@dataclasses.dataclass
class StoredRow:
    """A row as read back (ascending by sequence id in a chain)."""

    sequence_id: int
    payload: Any  # JSON text, or already-parsed JSON (PostgreSQL JSONB)
    format_version: int | None
    snapshot_seq: int | None
    position: str | None = None


def conflict_message(pk: str, app_id: str, seq: int, stored: int | None, expected: int | None) -> str:
    ahead = "has no steps" if stored is None else f"is already at step {stored}"
    if expected is None:
        why = f"this persister had not loaded this app, so it expected no stored step at or after {seq}"
    else:
        why = f"this persister last loaded or saved step {expected}"
    return (
        f"Cannot save step {seq} of app '{app_id}' (partition key {pk!r}): the stored history {ahead}, "
        f"but {why}. Another worker is running (or ran) this application and got ahead; this step "
        "was not saved. Reload it with ApplicationBuilder.initialize_from(...) to continue from the "
        "latest stored step, or fork it (fork_from_app_id=...) to keep both histories."
    )


class Checkpointer:
    """Chooses delta vs snapshot per save and decodes chains. Thread-safe."""

    def __init__(
        self,
        serde_kwargs: dict[str, Any] | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        snapshot_ratio: float = DEFAULT_SNAPSHOT_RATIO,
    ) -> None:
        if snapshot_every < 1:
            raise ValueError(
                f"snapshot_every must be >= 1 (got {snapshot_every}); 1 stores a full snapshot every step."
            )
        self.serde_kwargs = dict(serde_kwargs or {})
        self.snapshot_every = snapshot_every
        self.snapshot_ratio = snapshot_ratio
        self.heads: dict[tuple[str, str], Head] = {}
        # serialized state of recently loaded steps: lets the first save after a resume be a delta
        # even when the builder derived a new State from the loaded one
        self._loaded: collections.OrderedDict[tuple[str, str], tuple[int, dict[str, Any]]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    # -- saving --------------------------------------------------------------------------------

    def prepare(
        self, pk: str, app_id: str, seq: int, position: str, state: State[Any], status: str
    ) -> tuple[Row, Head]:
        """Encode one step; returns the row and the head to ``commit`` once it is stored."""
        key = (pk, app_id)
        with self._lock:
            head = self.heads.get(key)
            loaded = self._loaded.pop(key, None)
        records: list[dict[str, Any]] | None = None
        if (
            head is not None
            and head.chain_len < self.snapshot_every
            # a state this small loads fastest from a single snapshot row
            and head.snap_bytes > ROW_COST
            # the rows alone would already cost more to replay than the snapshot: don't encode a delta
            and (head.chain_len + 1) * ROW_COST <= self.snapshot_ratio * head.snap_bytes
        ):
            ops = _delta.step_ops(state, head.vid)
            if ops is not None:
                records = _delta.encode(ops, state, **self.serde_kwargs)
            elif loaded is not None and loaded[0] == head.seq:
                records = _diff(loaded[1], state.serialize(**self.serde_kwargs))
        payload = None
        if records is not None and head is not None:
            payload = _dumps(_compact(records, seq, position))
            replay_cost = head.chain_bytes + len(payload) + (head.chain_len + 1) * ROW_COST
            if replay_cost > self.snapshot_ratio * head.snap_bytes:
                payload = None  # replaying the deltas would cost more than reading a new snapshot
        if payload is not None and head is not None:
            row = Row(
                pk, app_id, seq, position, status, payload, head.snap_seq, head.seq, min(head.seq, seq - 1)
            )
            new_head = Head(
                _delta.state_id(state),
                seq,
                head.snap_seq,
                head.chain_len + 1,
                head.chain_bytes + len(payload),
                head.snap_bytes,
            )
        else:
            payload = snapshot_payload(state, self.serde_kwargs)
            # an empty window (low > high) when seq does not move past the known head: always a conflict
            low, high = (head.seq, min(head.seq, seq - 1)) if head is not None else (-1, seq - 1)
            row = Row(pk, app_id, seq, position, status, payload, None, low, high)
            new_head = Head(_delta.state_id(state), seq, seq, 0, 0, len(payload))
        return row, new_head

    def commit(self, row: Row, head: Head) -> None:
        with self._lock:
            self.heads[(row.partition_key, row.app_id)] = head

    def forget(self, pk: str, app_id: str) -> None:
        """Drop what we know of an app (after a conflict or a delete): the next save is a snapshot."""
        with self._lock:
            self.heads.pop((pk, app_id), None)
            self._loaded.pop((pk, app_id), None)

    def __getstate__(self) -> tuple[dict[str, Any], int, float]:
        # a copy in another process knows no heads: its first save per app is a snapshot
        return self.serde_kwargs, self.snapshot_every, self.snapshot_ratio

    def __setstate__(self, config: tuple[dict[str, Any], int, float]) -> None:
        Checkpointer.__init__(self, *config)

    def expected_head(self, pk: str, app_id: str) -> int | None:
        head = self.heads.get((pk, app_id))
        return None if head is None else head.seq

    # -- loading -------------------------------------------------------------------------------

    def decode(self, pk: str, app_id: str, chain: list[StoredRow]) -> State[Any]:
        """The State of the last row of ``chain`` (a snapshot followed by its deltas, ascending)."""
        target = chain[-1]
        for row in chain:
            if row.format_version is not None and row.format_version > FORMAT_VERSION:
                raise _data_error(
                    pk,
                    app_id,
                    target.sequence_id,
                    f"row {row.sequence_id} was written in storage format {row.format_version} by a newer "
                    f"burr (this one reads up to format {FORMAT_VERSION}). Upgrade burr to load it",
                )
        if chain[0].snapshot_seq is not None:
            raise _data_error(
                pk,
                app_id,
                target.sequence_id,
                f"the snapshot (step {chain[0].snapshot_seq}) that delta row {chain[0].sequence_id} builds on "
                "is missing",
            )
        values = _parse_all(pk, app_id, target.sequence_id, chain)
        serialized: dict[str, Any] = {}
        chain_bytes = snap_bytes = chain_len = 0
        snap_seq = chain[0].sequence_id
        for row, value in zip(chain, values):
            size = len(row.payload) if isinstance(row.payload, (str, bytes)) else 0
            if row.snapshot_seq is None:
                if not isinstance(value, dict):
                    raise _data_error(
                        pk,
                        app_id,
                        target.sequence_id,
                        f"row {row.sequence_id} should hold a state object but holds a {type(value).__name__}",
                    )
                serialized = value
                snap_bytes, chain_bytes, chain_len, snap_seq = size, 0, 0, row.sequence_id
                continue
            if not isinstance(value, list):
                raise _data_error(
                    pk,
                    app_id,
                    target.sequence_id,
                    f"delta row {row.sequence_id} should hold a list of changes but holds a {type(value).__name__}",
                )
            try:
                _apply(serialized, value, row.sequence_id, row.position)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
                raise _data_error(
                    pk, app_id, target.sequence_id, f"delta row {row.sequence_id} cannot be applied ({e})"
                ) from e
            chain_bytes += size
            chain_len += 1
        # Plain JSON deserializes to itself: skip the recursive walk unless a row holds a serde tag.
        tagged = any(not isinstance(row.payload, str) or serde.KEY in row.payload for row in chain)
        return self._finish(
            pk,
            app_id,
            target.sequence_id,
            serialized,
            tagged,
            Head(0, target.sequence_id, snap_seq, chain_len, chain_bytes, snap_bytes),
        )

    def decode_bulk(
        self,
        pk: str,
        app_id: str,
        seq: int,
        position: str,
        text: str,
        count: int,
        snap_seq: int,
        snap_bytes: int,
    ) -> State[Any] | None:
        """The State of step ``seq`` from its whole chain in one JSON array text (snapshot first,
        target last; ``count`` rows the caller checked form a plain chain starting at ``snap_seq``).

        One ``json.loads`` and one loop for the whole chain, instead of a parse and a call per row.
        None when the text cannot be replayed: decode the rows one by one with ``decode`` instead,
        which raises the error naming the culprit row and key.
        """
        try:
            values = json.loads(text)
        except ValueError:
            return None
        # a length mismatch: the aggregate was truncated (MySQL's group_concat_max_len)
        if type(values) is not list or len(values) != count or type(values[0]) is not dict:
            return None
        serialized: dict[str, Any] = values[0]
        try:
            _apply_rows(serialized, values, 1, count - 1)
            if count > 1:
                last = values[-1]
                if type(last) is not list:
                    return None
                _apply(serialized, last, seq, position)
        except Exception:
            return None
        if serialized.get("__SEQUENCE_ID") is _UNKNOWN or serialized.get("__PRIOR_STEP") is _UNKNOWN:
            return None  # an "r" record of a row before the target survived: its position is needed
        # the payloads, less the brackets and commas around them
        chain_bytes = max(len(text) - 1 - count - snap_bytes, 0) if count > 1 else 0
        head = Head(0, seq, snap_seq, count - 1, chain_bytes, snap_bytes)
        return self._finish(pk, app_id, seq, serialized, serde.KEY in text, head)

    def _finish(
        self, pk: str, app_id: str, seq: int, serialized: dict[str, Any], tagged: bool, head: Head
    ) -> State[Any]:
        fields: dict[str, Any] = {}
        for k, v in serialized.items():
            if not tagged and k not in FIELD_SERIALIZATION:
                fields[k] = v
                continue
            try:
                fields[k] = deserialize_field(k, v, **self.serde_kwargs)
            except Exception as e:
                raise _data_error(pk, app_id, seq, f"state key '{k}' could not be read: {e}") from e
        state = _snapshot_base(State(fields))
        head.vid = _delta.state_id(state)
        with self._lock:
            self.heads[(pk, app_id)] = head
            self._loaded[(pk, app_id)] = (seq, serialized)
            while len(self._loaded) > _LOADED_CACHE_SIZE:
                self._loaded.popitem(last=False)
        return state


def snapshot_payload(state: State[Any], serde_kwargs: dict[str, Any]) -> str:
    """The JSON a snapshot row stores for ``state``."""
    return _dumps(state.serialize(**serde_kwargs))


def rebuild_snapshot(pk: str, app_id: str, chain: list[StoredRow], serde_kwargs: dict[str, Any]) -> str:
    """The snapshot payload of the last row of ``chain`` (prune turns a delta row into one)."""
    return snapshot_payload(Checkpointer(serde_kwargs).decode(pk, app_id, chain), serde_kwargs)


def join_chain(payloads: list[str]) -> str:
    """``"[" + ",".join(payloads) + "]"`` without copying the (large) joined text twice."""
    parts = list(payloads)
    parts[0] = "[" + parts[0]
    parts[-1] = parts[-1] + "]"
    return ",".join(parts)


def _parse_all(pk: str, app_id: str, seq: int, chain: list[StoredRow]) -> list[Any]:
    """Parse every row's JSON; one ``json.loads`` for the whole chain when possible (much faster)."""
    payloads = [row.payload for row in chain]
    if len(payloads) == 1 and isinstance(payloads[0], str):
        try:
            return [json.loads(payloads[0])]
        except ValueError:
            pass  # reported below
    elif all(isinstance(p, str) for p in payloads):
        try:
            values = json.loads("[" + ",".join(payloads) + "]")
            if len(values) == len(chain):
                return values  # type: ignore[no-any-return]
        except ValueError:
            pass  # find the culprit row below
    out = []
    for row in chain:
        value = row.payload
        if isinstance(value, (str, bytes, bytearray)):
            try:
                value = json.loads(value)
            except ValueError as e:
                raise _data_error(pk, app_id, seq, f"row {row.sequence_id} is not valid JSON ({e})") from e
        out.append(value)
    return out


def _data_error(pk: str, app_id: str, seq: int, why: str) -> Exception:
    from burr.core.persistence import PersistedDataError

    return PersistedDataError(
        f"Cannot load step {seq} of app '{app_id}' (partition key {pk!r}): {why}. Nothing in the store was "
        f"changed; load an earlier step (sequence_id=...) or fork from one to continue."
    )


# Delta rows store compact records (about 100 bytes per step less than ``_delta``'s dicts):
#   ["s", key, value]  set            ["a", key, item]   append       ["e", key, [items]] extend
#   ["i", key, by]     increment      ["d", key]         delete
#   ["r"]              __SEQUENCE_ID = the row's sequence_id, __PRIOR_STEP = the row's position
_SHORT = {"set": "s", "append": "a", "extend": "e", "increment": "i", "delete": "d"}
_FIELD = {"set": "value", "append": "value", "extend": "values", "increment": "by"}


def _compact(records: list[dict[str, Any]], seq: int, position: str) -> list[list[Any]]:
    out: list[list[Any]] = []
    internal = 0
    for r in records:
        op, key = r["op"], r["key"]
        if op == "set" and (
            (key == "__SEQUENCE_ID" and r["value"] == seq and type(r["value"]) is int)
            or (key == "__PRIOR_STEP" and r["value"] == position)
        ):
            internal += 1
            continue
        out.append([_SHORT[op], key] if op == "delete" else [_SHORT[op], key, r[_FIELD[op]]])
    if internal == 2:
        out.append(["r"])
    elif internal:  # only one of the two matched: store it explicitly
        out.extend(
            ["s", k, v]
            for k, v in (("__SEQUENCE_ID", seq), ("__PRIOR_STEP", position))
            if any(r["op"] == "set" and r["key"] == k for r in records)
        )
    return out


class _Unknown:
    """The value an "r" record of a row before the target sets (that row's position was not read)."""


_UNKNOWN = _Unknown()


def _apply_rows(serialized: dict[str, Any], rows: list[Any], start: int, stop: int) -> None:
    """Apply the delta rows ``rows[start:stop]``: ``_apply`` without a call per row or record.

    An "r" record (which needs its row's position) leaves ``_UNKNOWN`` in the two keys it sets.
    """
    setdefault = serialized.setdefault
    key: Any = None  # the key of the last append, and its list's append (while nothing else touched it)
    append: Any = None
    r_pending = False
    for records in rows[start:stop]:
        if type(records) is not list:
            raise TypeError(f"a delta row holds a {type(records).__name__}")
        for r in records:
            op = r[0]
            if op == "r":
                r_pending = True
            elif op == "a" and r[1] == key:
                append(r[2])
            elif op == "a" and r[1] not in _R_KEYS:
                key = r[1]
                append = setdefault(key, []).append
                append(r[2])
            else:
                key = None
                if r_pending and r[1] in _R_KEYS:
                    serialized["__SEQUENCE_ID"] = serialized["__PRIOR_STEP"] = _UNKNOWN
                    r_pending = False
                _apply(serialized, [r], 0, "")
    if r_pending:
        serialized["__SEQUENCE_ID"] = serialized["__PRIOR_STEP"] = _UNKNOWN


_R_KEYS = ("__SEQUENCE_ID", "__PRIOR_STEP")


def _apply(serialized: dict[str, Any], records: list[Any], seq: int, position: str | None) -> None:
    for r in records:
        op = r[0]
        if op == "s":
            serialized[r[1]] = r[2]
        elif op == "a":
            serialized.setdefault(r[1], []).append(r[2])
        elif op == "e":
            serialized.setdefault(r[1], []).extend(r[2])
        elif op == "i":
            serialized[r[1]] = serialized.get(r[1], 0) + r[2]
        elif op == "d":
            serialized.pop(r[1], None)
        elif op == "r":
            if position is None:
                raise ValueError("a delta record refers to the row's position, which was not read")
            serialized["__SEQUENCE_ID"] = seq
            serialized["__PRIOR_STEP"] = position
        else:
            raise ValueError(f"unknown delta record {op!r} (written by a newer burr?)")


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Records turning serialized ``old`` into ``new`` (lists that grew become "extend")."""
    out: list[dict[str, Any]] = []
    for k, v in new.items():
        if k not in old:
            out.append({"op": "set", "key": k, "value": v})
            continue
        prev = old[k]
        if prev == v:
            continue
        if type(prev) is list and type(v) is list and len(v) > len(prev) and v[: len(prev)] == prev:
            out.append({"op": "extend", "key": k, "values": v[len(prev) :]})
        else:
            out.append({"op": "set", "key": k, "value": v})
    out.extend({"op": "delete", "key": k} for k in old if k not in new)
    return out
