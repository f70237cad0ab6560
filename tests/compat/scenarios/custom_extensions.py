"""User-written persisters, loaders, trackers and hooks: how the framework calls them."""

import logging

from _compat import AsyncRecorder, Out, Recorder, canon, step_triple

from burr.core import ApplicationBuilder, ApplicationContext, State, action, expr
from burr.core.persistence import BaseStateLoader, BaseStatePersister, BaseStateSaver, PersistedStateData
from burr.lifecycle import PostRunStepHook, PreRunStepHook
from burr.tracking.base import SyncTrackingClient

logging.disable(logging.CRITICAL)
out = Out()


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def fail(state: State) -> State:
    raise ValueError("bad")


class MyPersister(BaseStatePersister):
    def __init__(self):
        self.calls = []
        self.rows = {}

    def save(self, partition_key, app_id, sequence_id, position, state, status, **kwargs):
        self.calls.append(
            ["save", partition_key, app_id, sequence_id, position, canon(state), status, sorted(kwargs)]
        )
        self.rows[(partition_key, app_id, sequence_id)] = (position, state, status)

    def load(self, partition_key, app_id, sequence_id=None, **kwargs):
        self.calls.append(["load", partition_key, app_id, sequence_id, sorted(kwargs)])
        keys = [k for k in self.rows if k[0] == partition_key and k[1] == app_id]
        if not keys:
            return None
        key = max(keys, key=lambda k: k[2]) if sequence_id is None else (partition_key, app_id, sequence_id)
        position, state, status = self.rows[key]
        return PersistedStateData(
            partition_key=partition_key,
            app_id=app_id,
            sequence_id=key[2],
            position=position,
            state=state,
            created_at="now",
            status=status,
        )

    def list_app_ids(self, partition_key, **kwargs):
        return sorted({k[1] for k in self.rows if k[0] == partition_key})


def graph(b):
    return b.with_actions(inc=inc, fail=fail).with_transitions(
        ("inc", "fail", expr("n >= 2")), ("inc", "inc")
    )


p = MyPersister()
out("is_initialized", p.__class__.is_initialized is BaseStateSaver.is_initialized)
app = (
    graph(ApplicationBuilder())
    .with_state(n=0)
    .with_entrypoint("inc")
    .with_identifiers(app_id="x", partition_key="pk")
    .with_state_persister(p)
    .build()
)
app.step()
app.step()
try:
    app.step()
except ValueError:
    pass
out("persister.calls", p.calls)
p.calls.clear()
app = (
    graph(ApplicationBuilder())
    .initialize_from(p, resume_at_next_action=True, default_state={"n": 0}, default_entrypoint="inc")
    .with_identifiers(app_id="x", partition_key="pk")
    .build()
)
out("persister.load_calls", p.calls)
out("persister.resumed", [app.state, app.sequence_id, app.get_next_action().name])


class OnlyLoader(BaseStateLoader):
    def load(self, partition_key, app_id, sequence_id=None, **kwargs):
        return PersistedStateData(
            partition_key=partition_key,
            app_id=app_id,
            sequence_id=7,
            position="inc",
            state=State({"n": 0}),
            created_at="",
            status="completed",
        )

    def list_app_ids(self, partition_key, **kwargs):
        return []


app = (
    graph(ApplicationBuilder())
    .initialize_from(OnlyLoader(), resume_at_next_action=True, default_state={}, default_entrypoint="inc")
    .build()
)
out("loader_only", [app.state, app.sequence_id, app.get_next_action().name])


class NoneStateLoader(OnlyLoader):
    def load(self, partition_key, app_id, sequence_id=None, **kwargs):
        return PersistedStateData(
            partition_key=partition_key,
            app_id=app_id,
            sequence_id=1,
            position="inc",
            state=None,
            created_at="",
            status="completed",
        )


out.raises(
    "loader_none_state",
    lambda: (
        graph(ApplicationBuilder())
        .initialize_from(
            NoneStateLoader(), resume_at_next_action=True, default_state={}, default_entrypoint="inc"
        )
        .build()
    ),
    "but value for state was None",
)


# a plain hook object given to with_state_persister (not a saver): used as a hook
class HookOnly(PostRunStepHook):
    def __init__(self):
        self.seen = []

    def post_run_step(self, *, action, sequence_id, **kw):
        self.seen.append([action.name, sequence_id])


h = HookOnly()
h.is_async = lambda: False  # Apache Burr asks every persister object whether it is async


def hook_as_persister():
    app = graph(ApplicationBuilder()).with_state(n=0).with_entrypoint("inc").with_state_persister(h).build()
    app.step()
    return h.seen


out.raises("persister_as_hook", hook_as_persister, "")


class Uninit(MyPersister):
    def is_initialized(self):
        return False


out.raises(
    "uninitialized_custom",
    lambda: (
        graph(ApplicationBuilder())
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_state_persister(Uninit())
        .build()
    ),
    "Uninitialized persister",
)


# a tracker subclassing SyncTrackingClient
class MyTracker(SyncTrackingClient, Recorder):
    def __init__(self):
        Recorder.__init__(self, keep={"action", "sequence_id", "method"})

    def copy(self):
        return MyTracker()

    def post_application_create(self, **kw):
        self._rec("post_application_create", kw)


t = MyTracker()
app = graph(ApplicationBuilder()).with_state(n=0).with_entrypoint("inc").with_tracker(t).build()
app.step()
out("tracker.events", t.events)
out.raises(
    "tracker.params_with_object",
    lambda: ApplicationBuilder().with_tracker(t, params={"a": 1}),
    "not supported",
)


@action(reads=[], writes=["ctx"])
def ctx_action(state: State, __context: ApplicationContext) -> State:
    return state.update(
        ctx=[
            __context.tracker is t,
            __context.state_persister is not None,
            __context.state_initializer is not None,
        ]
    )


app = ApplicationBuilder().with_actions(c=ctx_action).with_entrypoint("c").with_tracker(t).build()
out("context.tracker", step_triple(app.step()))


# hooks that raise
class Raising(PreRunStepHook):
    def pre_run_step(self, **kw):
        raise KeyError("hook")


app = graph(ApplicationBuilder()).with_state(n=0).with_entrypoint("inc").with_hooks(Raising()).build()
out.raises("raising_pre_hook", lambda: app.step(), "hook")
out("raising_pre_hook.state", [app.state, app.sequence_id])


class RaisingPost(PostRunStepHook):
    def post_run_step(self, **kw):
        raise KeyError("posthook")


app = graph(ApplicationBuilder()).with_state(n=0).with_entrypoint("inc").with_hooks(RaisingPost()).build()
out.raises("raising_post_hook", lambda: app.step(), "posthook")
out("raising_post_hook.state", [app.state, app.sequence_id])

# async hooks under a sync run are ignored
events = []
arec = AsyncRecorder(events)
app = graph(ApplicationBuilder()).with_state(n=0).with_entrypoint("inc").with_hooks(arec).build()
app.step()
out("async_hooks_in_sync", events)
out.dump()
