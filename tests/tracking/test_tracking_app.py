"""LocalTrackingClient through ApplicationBuilder.with_tracker: what a real app run records."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

from burr.core import ApplicationBuilder, State, action, default, expr
from burr.core.action import streaming_action
from burr.tracking import LocalTrackingClient
from burr.tracking.common import logs

FIXTURE = (
    pathlib.Path(__file__).parents[1] / "fixtures" / "apache-burr-0.43" / "burr-home"
)  # written by Apache Burr 0.43 (README.md beside it)


@action(reads=["count"], writes=["count"])
def counter(state: State, __tracer) -> State:
    with __tracer("add_one") as t:
        t.log_attributes(before=state["count"])
        with __tracer("nested"):
            pass
    __tracer.log_attribute("action_level", True)
    return state.update(count=state["count"] + 1)


@action(reads=["count"], writes=["history"])
def remember(state: State) -> State:
    return state.append(history={"n": state["count"]})


@streaming_action(reads=["count"], writes=["message"])
def speak(state: State):
    for word in ["a", "b", "c"]:
        yield {"delta": word}, None
    yield {"message": "abc"}, state.update(message="abc")


@action(reads=[], writes=[])
def explode(state: State) -> State:
    raise RuntimeError("kaboom")


def builder():
    return (
        ApplicationBuilder()
        .with_actions(counter=counter, remember=remember, speak=speak, explode=explode)
        .with_transitions(
            ("counter", "counter", expr("count < 3")),
            ("counter", "remember", default),
            ("remember", "speak"),
            ("speak", "explode"),
        )
    )


def build(tracker, app_id: str = "app-1", **kw):
    return (
        builder()
        .with_state(count=0, history=[])
        .with_entrypoint("counter")
        .with_tracker(tracker)
        .with_identifiers(app_id=app_id, partition_key="pk", **kw)
        .build()
    )


@pytest.fixture
def tracker(tmp_path: pathlib.Path) -> LocalTrackingClient:
    return LocalTrackingClient("e2e", str(tmp_path))


def log(tracker: LocalTrackingClient, app_id: str = "app-1") -> list[dict]:
    tracker.flush()
    return logs.read_log(os.path.join(tracker.storage_dir, app_id, "log.jsonl")).records


def test_with_tracker_local_string_builds_a_client(tmp_path: pathlib.Path) -> None:
    app = (
        builder()
        .with_state(count=0, history=[])
        .with_entrypoint("counter")
        .with_tracker("local", project="strproj", params={"storage_dir": str(tmp_path)})
        .build()
    )
    app.run(halt_after=["remember"])
    LocalTrackingClient.flush()
    assert LocalTrackingClient.app_log_exists("strproj", app.uid, str(tmp_path))


def test_run_records_steps_spans_and_attributes(tracker: LocalTrackingClient) -> None:
    build(tracker).run(halt_after=["remember"])
    records = log(tracker)
    assert [r["action"] for r in records if r["type"] == "end_entry"] == ["counter"] * 3 + ["remember"]
    spans = [r["span_id"] for r in records if r["type"] == "begin_span"]
    assert spans[:2] == ["0:0", "0:0.0"]
    attrs = [(r["key"], r["span_id"], r["value"]) for r in records if r["type"] == "attribute"]
    assert attrs[:2] == [("before", "0:0", 0), ("action_level", None, True)]


def test_run_call_is_wrapped_in_call_records(tracker: LocalTrackingClient) -> None:
    build(tracker).run(halt_after=["remember"])
    records = log(tracker)
    assert records[0]["type"] == "begin_call" and records[0]["method"] == "run"
    assert records[-1]["type"] == "end_call" and records[-1]["call_id"] == records[0]["call_id"]


def test_transition_records_show_evaluated_conditions(tracker: LocalTrackingClient) -> None:
    build(tracker).run(halt_after=["remember"])
    transitions = {r["sequence_id"]: r for r in log(tracker) if r["type"] == "transition"}
    assert transitions[2]["evaluated"] == [
        {"to": "counter", "condition": "count < 3", "value": False},
        {"to": "remember", "condition": "default", "value": True},
    ]
    assert transitions[2]["to"] == "remember"


def test_logged_state_replays_to_final_state(tracker: LocalTrackingClient) -> None:
    _, _, state = build(tracker).run(halt_after=["remember"])
    replayed, _ = logs.state_at(log(tracker), None)
    assert replayed == state.serialize()


def test_stream_records_in_order(tracker: LocalTrackingClient) -> None:
    app = build(tracker)
    app.run(halt_before=["speak"])
    _, container = app.stream_result(halt_after=["speak"])
    for _ in container:
        pass
    types_ = [r["type"] for r in log(tracker) if r.get("sequence_id", r.get("action_sequence_id")) == 4]
    assert [t for t in types_ if t not in ("transition", "end_call")] == [
        "begin_entry",
        "begin_stream",
        "first_item_stream",
        "end_entry",
        "end_stream",
    ]
    assert next(r for r in log(tracker) if r["type"] == "end_stream")["items_streamed"] == 3


def test_failing_step_is_on_disk_when_the_app_raises(tracker: LocalTrackingClient) -> None:
    app = build(tracker)
    with pytest.raises(RuntimeError):
        app.run(halt_after=["explode"])
    end = [
        r
        for r in logs.read_log(os.path.join(tracker.storage_dir, "app-1", "log.jsonl")).records
        if r["type"] == "end_entry"
    ][-1]
    assert end["action"] == "explode" and "kaboom" in end["exception"]


def test_fork_from_tracker_and_resume(tracker: LocalTrackingClient) -> None:
    build(tracker).run(halt_after=["remember"])
    forked = (
        builder()
        .initialize_from(
            tracker,
            resume_at_next_action=True,
            default_state={"count": 0},
            default_entrypoint="counter",
            fork_from_app_id="app-1",
            fork_from_partition_key="pk",
            fork_from_sequence_id=1,
        )
        .with_tracker(tracker)
        .with_identifiers(app_id="app-2", partition_key="pk")
        .build()
    )
    assert forked.state["count"] == 2
    _, _, state = forked.run(halt_after=["remember"])
    assert state["count"] == 3 and state["history"] == [{"n": 3}]
    children = logs.read_children(os.path.join(tracker.storage_dir, "app-1")).records
    assert [(c["child"]["app_id"], c["event_type"], c["sequence_id"]) for c in children] == [
        ("app-2", "fork", 1)
    ]
    assert (
        logs.read_metadata(os.path.join(tracker.storage_dir, "app-2"))["parent_pointer"]["app_id"] == "app-1"
    )


def test_resume_same_app_from_tracker(tracker: LocalTrackingClient) -> None:
    build(tracker).run(halt_after=["remember"])
    resumed = (
        builder()
        .initialize_from(
            tracker, resume_at_next_action=True, default_state={"count": 0}, default_entrypoint="counter"
        )
        .with_tracker(tracker)
        .with_identifiers(app_id="app-1", partition_key="pk")
        .build()
    )
    assert resumed.state["history"] == [{"n": 3}]
    action_, _, _ = resumed.step()
    assert action_.name == "speak"
    replayed, entry = logs.state_at(log(tracker), None)
    assert entry["action"] == "speak" and replayed["message"] == "abc"


@pytest.mark.skipif(not FIXTURE.exists(), reason="Apache Burr fixture not available")
def test_fork_from_apache_burr_tracking_data(tmp_path: pathlib.Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE, home)
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755)
    burr_tracker = LocalTrackingClient("demo_fixture", str(home))
    app = (
        ApplicationBuilder()
        .with_actions(counter=counter, remember=remember)
        .with_transitions(("counter", "counter", expr("counter < 3")), ("counter", "remember", default))
        .initialize_from(
            burr_tracker,
            resume_at_next_action=True,
            default_state={},
            default_entrypoint="counter",
            fork_from_app_id="counter-app",
            fork_from_partition_key="user-1",
            fork_from_sequence_id=3,
        )
        .with_tracker(burr_tracker)
        .with_identifiers(app_id="ours", partition_key="user-1")
        .build()
    )
    assert app.state["history"] == [{"n": 3}] and app.state["counter"] == 3
    assert app.parent_pointer.app_id == "counter-app"
    burr_tracker.flush()
    children = logs.read_children(str(home / "demo_fixture" / "counter-app")).records
    assert children[-1]["child"]["app_id"] == "ours" and children[-1]["event_type"] == "fork"


def test_list_app_ids_after_runs(tracker: LocalTrackingClient) -> None:
    build(tracker, app_id="a").run(halt_after=["remember"])
    build(tracker, app_id="b").run(halt_after=["remember"])
    assert sorted(tracker.list_app_ids("pk")) == ["a", "b"]


def test_map_states_children_are_tracked_and_linked(tracker: LocalTrackingClient) -> None:
    from burr.core.parallelism import MapStates

    @action(reads=["x"], writes=["y"])
    def square(state: State) -> State:
        return state.update(y=state["x"] ** 2)

    class Squares(MapStates):
        def action(self, state, inputs):
            return square

        def states(self, state, context, inputs):
            for i in range(3):
                yield state.update(x=i)

        def reduce(self, state, states):
            return state.update(squares=[s["y"] for s in states])

        @property
        def reads(self):
            return []

        @property
        def writes(self):
            return ["squares"]

    app = (
        ApplicationBuilder()
        .with_actions(squares=Squares())
        .with_transitions()
        .with_state(count=0)
        .with_entrypoint("squares")
        .with_tracker(tracker)
        .with_identifiers(app_id="parent", partition_key="pk")
        .build()
    )
    _, _, state = app.run(halt_after=["squares"])
    assert state["squares"] == [0, 1, 4]
    tracker.flush()
    children = logs.read_children(os.path.join(tracker.storage_dir, "parent")).records
    assert [c["event_type"] for c in children] == ["spawn_start"] * 3
    assert all(c["sequence_id"] == 0 and c["child"]["partition_key"] == "pk" for c in children)
    child_dir = os.path.join(tracker.storage_dir, children[0]["child"]["app_id"])
    meta = logs.read_metadata(child_dir)
    assert (
        meta["spawning_parent_pointer"]["app_id"] == "parent"
        and meta["spawning_parent_pointer"]["sequence_id"] == 0
    )
    child_state, _ = logs.state_at(logs.read_log(os.path.join(child_dir, "log.jsonl")).records, None)
    assert child_state["y"] in (0, 1, 4)


async def test_async_run_is_tracked(tracker: LocalTrackingClient) -> None:
    @action(reads=["count"], writes=["count"])
    async def acount(state: State) -> State:
        return state.update(count=state["count"] + 1)

    app = await (
        ApplicationBuilder()
        .with_actions(acount=acount)
        .with_transitions(("acount", "acount"))
        .with_state(count=0)
        .with_entrypoint("acount")
        .with_tracker(tracker)
        .with_identifiers(app_id="async-app")
        .abuild()
    )
    await app.astep()
    await app.astep()
    records = log(tracker, "async-app")
    assert [r["type"] for r in records] == ["begin_entry", "end_entry"] * 2
    assert logs.state_at(records, None)[0]["count"] == 2


def test_retried_step_records_each_attempt(tmp_path):
    from burr.core import ApplicationBuilder, action
    from burr.core.policies import RetryPolicy
    from burr.tracking import LocalTrackingClient
    from burr.tracking.common import logs

    calls = {"n": 0}

    @action(reads=[], writes=["ok"])
    def flaky(state: State) -> State:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("503")
        return state.update(ok=True)

    tracker = LocalTrackingClient("retries", storage_dir=str(tmp_path))
    app = (
        ApplicationBuilder()
        .with_actions(flaky=flaky)
        .with_transitions()
        .with_entrypoint("flaky")
        .with_policies(flaky=RetryPolicy(max_attempts=3, initial_delay=0.001, jitter=0))
        .with_tracker(tracker)
        .with_identifiers(app_id="a1")
        .build()
    )
    app.run(halt_after=["flaky"])
    records = logs.read_log(str(tmp_path / "retries" / "a1" / "log.jsonl")).records
    ends = [
        (r.get("attempt"), r.get("will_retry"), r["exception"] is None)
        for r in records
        if r["type"] == "end_entry"
    ]
    assert ends == [(1, True, False), (2, True, False), (3, None, True)]
