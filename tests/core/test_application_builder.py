"""ApplicationBuilder: every with_* and the build checks, plus loading with initialize_from."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from burr.common.types import ParentPointer
from burr.core import ApplicationBuilder, State, action, default, expr
from burr.core.application import PRIOR_STEP
from burr.core.persistence import AsyncInMemoryPersister, BaseStateLoader, InMemoryPersister, PersisterHook


@action(reads=["count"], writes=["count"])
def counter(state: State) -> State:
    return state.update(count=state["count"] + 1)


@action(reads=["count"], writes=[])
def done(state: State) -> State:
    return state


def base() -> ApplicationBuilder:
    return (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions(("counter", "counter", expr("count < 3")), ("counter", "done", default))
    )


def test_no_graph_raises() -> None:
    with pytest.raises(ValueError, match="No graph constructs exist"):
        ApplicationBuilder().with_entrypoint("x").build()


def test_missing_entrypoint_raises() -> None:
    with pytest.raises(ValueError, match="Must call `with_entrypoint` before building application"):
        base().build()


def test_unknown_entrypoint_raises() -> None:
    with pytest.raises(ValueError, match="Entrypoint: nope not found in actions"):
        base().with_entrypoint("nope").build()


def test_entrypoint_twice_says_so() -> None:
    with pytest.raises(ValueError, match="already set to `counter`"):
        base().with_entrypoint("counter").with_entrypoint("done")


def test_app_id_none_raises() -> None:
    builder = base().with_entrypoint("counter")
    builder.app_id = None  # type: ignore[assignment]
    with pytest.raises(ValueError, match="App ID was None"):
        builder.build()


def test_with_state_kwargs_merge() -> None:
    app = base().with_state(count=0).with_state(other=1).with_entrypoint("counter").build()
    assert (app.state["count"], app.state["other"]) == (0, 1)


def test_with_state_object_after_kwargs_raises() -> None:
    with pytest.raises(ValueError, match="State items have already been set"):
        base().with_state(count=0).with_state(State({"count": 1}))


def test_with_state_typed_object_needs_typing() -> None:
    with pytest.raises(ValueError, match="You have not set a typing system"):
        base().with_state(object())


def test_default_identifiers() -> None:
    app = base().with_state(count=0).with_entrypoint("counter").build()
    assert len(app.uid) == 36 and app.partition_key is None and app.sequence_id is None


def test_with_identifiers_only_overrides_given_values() -> None:
    app = (
        base()
        .with_identifiers(app_id="a", partition_key="p")
        .with_identifiers(sequence_id=2)
        .with_state(count=0)
        .with_entrypoint("counter")
        .build()
    )
    assert (app.uid, app.partition_key, app.sequence_id) == ("a", "p", 2)


def test_build_twice_gives_independent_apps() -> None:
    builder = base().with_state(count=0).with_entrypoint("counter")
    first, second = builder.build(), builder.build()
    first.run(halt_after=["done"])
    assert second.state["count"] == 0 and second.sequence_id is None


def test_build_twice_does_not_stack_persister_hooks() -> None:
    builder = base().with_state(count=0).with_entrypoint("counter").with_state_persister(InMemoryPersister())
    builder.build()
    app = builder.build()
    assert sum(isinstance(a, PersisterHook) for a in app._adapter_set.adapters) == 1


def test_tracker_unknown_string_raises() -> None:
    with pytest.raises(ValueError, match="Tracker s3:proj not supported"):
        ApplicationBuilder().with_tracker("s3", project="proj")


def test_tracker_object_with_params_raises() -> None:
    with pytest.raises(ValueError, match="Params are not supported for object-specified trackers"):
        ApplicationBuilder().with_tracker(object(), params={"a": 1})


def test_tracker_none_is_accepted() -> None:
    app = base().with_tracker(None).with_state(count=0).with_entrypoint("counter").build()
    assert app.context.tracker is None


def test_parallel_executor_twice_raises() -> None:
    with pytest.raises(ValueError, match="You have already set an executor"):
        ApplicationBuilder().with_parallel_executor(lambda: None).with_parallel_executor(lambda: None)


def test_spawning_parent_is_recorded() -> None:
    app = (
        base().with_spawning_parent("parent", 3, "pk").with_state(count=0).with_entrypoint("counter").build()
    )
    assert app.spawning_parent_pointer == ParentPointer("parent", "pk", 3)


def test_spawning_parent_none_is_ignored() -> None:
    app = base().with_spawning_parent(None, 3).with_state(count=0).with_entrypoint("counter").build()
    assert app.spawning_parent_pointer is None


def test_unreachable_action_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    builder = (
        ApplicationBuilder()
        .with_actions(counter=counter, done=done)
        .with_transitions()
        .with_state(count=0)
        .with_entrypoint("counter")
    )
    with caplog.at_level(logging.WARNING):
        builder.build()
    assert any("done" in r.getMessage() and "never run" in r.getMessage() for r in caplog.records)


def test_builder_reset_to_entrypoint_wipes_prior_step() -> None:
    builder = base().with_state(**{"count": 0, PRIOR_STEP: "counter"})
    builder.reset_to_entrypoint()
    assert PRIOR_STEP not in builder.state


async def test_abuild_app_rejects_sync_methods() -> None:
    app = await base().with_state(count=0).with_entrypoint("counter").abuild()
    with pytest.raises(ValueError, match=r"build with .abuild\(\)"):
        app.step()


async def test_abuild_rejects_sync_persister() -> None:
    builder = base().with_state(count=0).with_entrypoint("counter").with_state_persister(InMemoryPersister())
    with pytest.raises(ValueError, match="You are building the async application"):
        await builder.abuild()


def test_build_rejects_async_persister() -> None:
    builder = (
        base().with_state(count=0).with_entrypoint("counter").with_state_persister(AsyncInMemoryPersister())
    )
    with pytest.raises(
        ValueError, match="You are building the sync application, but have used an async persister"
    ):
        builder.build()


class _Uninitialized(InMemoryPersister):
    def is_initialized(self) -> bool:
        return False


def test_uninitialized_persister_raises() -> None:
    builder = base().with_state(count=0).with_entrypoint("counter").with_state_persister(_Uninitialized())
    with pytest.raises(RuntimeError, match="Uninitialized persister"):
        builder.build()


# ---------------------------------------------------------------------------------------------
# initialize_from
# ---------------------------------------------------------------------------------------------


def _persisted_run(persister: InMemoryPersister, app_id: str = "A", halt: str = "counter") -> None:
    app = (
        base()
        .with_state(count=0)
        .with_entrypoint("counter")
        .with_state_persister(persister)
        .with_identifiers(app_id=app_id, partition_key="pk")
        .build()
    )
    app.run(halt_after=[halt])


def _loading(persister: Any, **kwargs: Any) -> ApplicationBuilder:
    return base().initialize_from(
        persister, default_state={"count": 0}, default_entrypoint="counter", **kwargs
    )


def test_initialize_from_nothing_stored_uses_defaults() -> None:
    app = (
        _loading(InMemoryPersister(), resume_at_next_action=True)
        .with_identifiers(app_id="A", partition_key="pk")
        .build()
    )
    assert (app.state["count"], app.sequence_id, app.get_next_action().name) == (0, None, "counter")


def test_initialize_from_resumes_after_completed_step() -> None:
    persister = InMemoryPersister()
    _persisted_run(persister)
    app = (
        _loading(persister, resume_at_next_action=True)
        .with_identifiers(app_id="A", partition_key="pk")
        .build()
    )
    assert (app.state["count"], app.sequence_id, app.parent_pointer) == (1, 0, None)


def test_initialize_from_failed_step_reruns_it() -> None:
    persister = InMemoryPersister()
    persister.save("pk", "A", 4, "done", State({"count": 9}), "failed")
    app = (
        _loading(persister, resume_at_next_action=True)
        .with_identifiers(app_id="A", partition_key="pk")
        .build()
    )
    assert app.get_next_action().name == "done" and app.sequence_id == 4


def test_initialize_from_override_state_values() -> None:
    persister = InMemoryPersister()
    _persisted_run(persister)
    app = (
        _loading(persister, resume_at_next_action=True, override_state_values={"count": 50})
        .with_identifiers(app_id="A", partition_key="pk")
        .build()
    )
    assert app.state["count"] == 50


def test_fork_sets_parent_pointer() -> None:
    persister = InMemoryPersister()
    _persisted_run(persister)
    app = (
        _loading(persister, resume_at_next_action=True, fork_from_app_id="A", fork_from_partition_key="pk")
        .with_identifiers(app_id="B")
        .build()
    )
    assert app.parent_pointer == ParentPointer("A", "pk", 0) and app.state["count"] == 1


def test_fork_to_same_app_id_raises() -> None:
    with pytest.raises(ValueError, match="Cannot fork and save to the same app_id"):
        _loading(InMemoryPersister(), resume_at_next_action=True, fork_from_app_id="A").with_identifiers(
            app_id="A"
        ).build()


def test_fork_partition_without_app_id_raises() -> None:
    with pytest.raises(ValueError, match="you must also set fork_from_app_id"):
        _loading(InMemoryPersister(), resume_at_next_action=True, fork_from_partition_key="pk")


def test_initialize_from_after_state_raises() -> None:
    with pytest.raises(ValueError, match="Cannot call initialize_from if you have already set state"):
        base().with_state(count=1).initialize_from(
            InMemoryPersister(), resume_at_next_action=True, default_state={}, default_entrypoint="counter"
        )


def test_with_state_after_initialize_from_raises() -> None:
    with pytest.raises(ValueError, match="You cannot set state if you are loading state"):
        _loading(InMemoryPersister(), resume_at_next_action=True).with_state(count=1)


def test_with_entrypoint_after_initialize_from_raises() -> None:
    with pytest.raises(ValueError, match="You cannot set the entrypoint if you are loading a persister"):
        _loading(InMemoryPersister(), resume_at_next_action=True).with_entrypoint("counter")


class _NoneState(BaseStateLoader):
    def load(self, partition_key: Any, app_id: Any, sequence_id: Any = None, **kw: Any) -> Any:
        return {
            "partition_key": partition_key,
            "app_id": app_id,
            "sequence_id": 0,
            "position": "counter",
            "state": None,
            "created_at": "",
            "status": "completed",
        }

    def list_app_ids(self, partition_key: Any, **kw: Any) -> list[str]:
        return []


def test_loader_returning_none_state_raises() -> None:
    with pytest.raises(ValueError, match="but value for state was None"):
        _loading(_NoneState(), resume_at_next_action=True).build()


def test_persister_saves_every_step() -> None:
    persister = InMemoryPersister()
    _persisted_run(persister, halt="done")
    record = persister.load("pk", "A")
    assert (record["sequence_id"], record["position"], record["state"]["count"]) == (3, "done", 3)


def test_with_state_persister_rejects_unknown_cadence() -> None:
    with pytest.raises(ValueError, match="on_every"):
        ApplicationBuilder().with_state_persister(InMemoryPersister(), on_every="sometimes")
