"""Behaviour every durable sync backend shares (SQLite, PostgreSQL, MySQL, Redis)."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from persist_helpers import chat_states

from burr.core.persistence import StateConflictError
from burr.core.state import State, _commit


def save_all(p: Any, states: list[Any], app_id: str = "app", pk: str = "pk") -> None:
    for s in states:
        p.save(pk, app_id, s["__SEQUENCE_ID"], "chat", s, "completed")


def test_load_latest_returns_last_saved_step(persister: Any) -> None:
    states = chat_states(5)
    save_all(persister, states)
    loaded = persister.load("pk", "app")
    assert (loaded["sequence_id"], loaded["position"], loaded["status"]) == (4, "chat", "completed")
    assert dict(loaded["state"]) == dict(states[-1])


def test_every_step_loads_its_own_state(backend: Any) -> None:
    p = backend.make(snapshot_every=3)
    states = chat_states(12)
    save_all(p, states)
    reader = backend.make()
    for s in states:
        assert dict(reader.load("pk", "app", s["__SEQUENCE_ID"])["state"]) == dict(s)


def test_appends_are_stored_as_deltas(persister: Any) -> None:
    save_all(persister, chat_states(30))
    steps = persister.list_steps("pk", "app")
    assert [s.sequence_id for s in steps] == list(range(30))
    assert sum(not s.is_snapshot for s in steps) > 20


def test_snapshot_every_bounds_the_delta_chain(backend: Any) -> None:
    p = backend.make(snapshot_every=4)
    save_all(p, chat_states(20))
    run = 0
    longest = 0
    for s in p.list_steps("pk", "app"):
        run = 0 if s.is_snapshot else run + 1
        longest = max(longest, run)
    assert longest == 4


def test_missing_app_loads_none(persister: Any) -> None:
    assert persister.load("pk", "nope") is None


def test_missing_sequence_id_loads_none(persister: Any) -> None:
    save_all(persister, chat_states(2))
    assert persister.load("pk", "app", 7) is None


def test_none_partition_key_is_the_default_partition(persister: Any) -> None:
    s = chat_states(1)[0]
    persister.save(None, "app", 0, "chat", s, "completed")
    assert persister.load(None, "app")["partition_key"] == ""
    assert persister.load("", "app")["sequence_id"] == 0


def test_list_app_ids_lists_apps_of_the_partition(persister: Any) -> None:
    save_all(persister, chat_states(1), app_id="a")
    save_all(persister, chat_states(1), app_id="b")
    save_all(persister, chat_states(1), app_id="c", pk="other")
    assert sorted(persister.list_app_ids("pk")) == ["a", "b"]


def test_failed_status_round_trips(persister: Any) -> None:
    s = chat_states(1)[0]
    persister.save("pk", "app", 0, "chat", s, "failed")
    assert persister.load("pk", "app")["status"] == "failed"


def test_rich_values_round_trip(persister: Any) -> None:
    when = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)
    s = State({"when": when, "tags": {"a", "b"}, "pair": (1, 2), "raw": b"\x00\x01", "__SEQUENCE_ID": 0})
    persister.save("pk", "app", 0, "x", s, "completed")
    loaded = persister.load("pk", "app")["state"]
    assert (loaded["when"], loaded["tags"], loaded["pair"], loaded["raw"]) == (
        when,
        {"a", "b"},
        (1, 2),
        b"\x00\x01",
    )


def test_saving_a_step_another_writer_already_saved_conflicts(backend: Any) -> None:
    a, b = backend.make(), backend.make()
    states = chat_states(3)
    save_all(a, states[:2])
    b.load("pk", "app")
    a.save("pk", "app", 2, "chat", states[2], "completed")
    with pytest.raises(StateConflictError, match="app 'app'") as info:
        b.save("pk", "app", 2, "chat", states[2], "completed")
    assert info.value.stored_sequence_id == 2


def test_stale_writer_after_resume_conflicts_even_when_steps_were_skipped(backend: Any) -> None:
    a, b = backend.make(), backend.make()
    states = chat_states(6)
    save_all(a, states[:2])
    b.load("pk", "app")  # b now expects head 1
    a.save("pk", "app", 2, "chat", states[2], "completed")
    with pytest.raises(StateConflictError):
        b.save("pk", "app", 5, "chat", states[5], "completed")  # halt cadence: skipped 2..4


def test_conflicting_save_leaves_the_store_unchanged(backend: Any) -> None:
    a, b = backend.make(), backend.make()
    states = chat_states(3)
    save_all(a, states)
    with pytest.raises(StateConflictError):
        b.save("pk", "app", 1, "chat", states[1], "completed")
    assert [s.sequence_id for s in a.list_steps("pk", "app")] == [0, 1, 2]
    assert dict(b.load("pk", "app")["state"]) == dict(states[2])


def test_two_threads_resuming_the_same_app_exactly_one_advances(backend: Any) -> None:
    first = backend.make()
    base = chat_states(3)
    save_all(first, base)
    workers = [backend.make() for _ in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(workers))

    def work(p: Any) -> None:
        loaded = p.load("pk", "app")["state"]
        nxt = _commit(
            loaded,
            loaded.append(chat={"role": "x", "text": "y"}),
            {"__SEQUENCE_ID": 3, "__PRIOR_STEP": "chat"},
        )
        barrier.wait()
        try:
            p.save("pk", "app", 3, "chat", nxt, "completed")
            outcomes.append("saved")
        except StateConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=work, args=(p,)) for p in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["saved"]
    assert [s.sequence_id for s in first.list_steps("pk", "app")] == [0, 1, 2, 3]


def test_save_after_load_of_derived_state_is_a_delta(backend: Any) -> None:
    p = backend.make()
    save_all(p, chat_states(5))
    resumed = backend.make()
    loaded = resumed.load("pk", "app")["state"].update(__PRIOR_STEP="chat")  # what the builder does
    nxt = chat_states(1, start=loaded)[0]
    resumed.save("pk", "app", 5, "chat", nxt, "completed")
    last = resumed.list_steps("pk", "app")[-1]
    assert not last.is_snapshot
    assert dict(backend.make().load("pk", "app")["state"]) == dict(nxt)


def test_delete_app_removes_only_that_app(persister: Any) -> None:
    save_all(persister, chat_states(3), app_id="gone")
    save_all(persister, chat_states(2), app_id="kept")
    assert persister.delete_app("pk", "gone") == 3
    assert persister.load("pk", "gone") is None
    assert persister.load("pk", "kept")["sequence_id"] == 1


def test_prune_keeps_the_last_steps_loadable(backend: Any) -> None:
    p = backend.make(snapshot_every=5)
    states = chat_states(23)
    save_all(p, states)
    p.prune("pk", "app", keep_last=4)
    reader = backend.make()
    assert [s.sequence_id for s in reader.list_steps("pk", "app")] == [19, 20, 21, 22]
    for s in states[19:]:
        assert dict(reader.load("pk", "app", s["__SEQUENCE_ID"])["state"]) == dict(s)


def test_app_continues_after_prune(backend: Any) -> None:
    p = backend.make()
    states = chat_states(10)
    save_all(p, states)
    p.prune("pk", "app", keep_last=2)
    resumed = backend.make()
    loaded = resumed.load("pk", "app")["state"]
    nxt = chat_states(1, start=loaded)[0]
    resumed.save("pk", "app", 10, "chat", nxt, "completed")
    assert backend.make().load("pk", "app")["state"]["turns"] == 11


def test_writer_continues_after_another_persister_pruned_its_chain(backend: Any) -> None:
    writer = backend.make(snapshot_every=50)
    states = chat_states(20)
    save_all(writer, states[:10])
    backend.make().prune("pk", "app", keep_last=3)  # deletes the snapshot the writer's chain started at
    save_all(writer, states[10:])
    reader = backend.make()
    for s in states[7:]:
        assert dict(reader.load("pk", "app", s["__SEQUENCE_ID"])["state"]) == dict(s)
