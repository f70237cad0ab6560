"""Two-step class actions (subset reads, undeclared writes), SingleStepAction, Result/Input, merge rules."""

from _compat import Out, step_triple

from burr.core import Action, ApplicationBuilder, State, action
from burr.core.action import Input, Result, SingleStepAction

out = Out()


class Peek(Action):
    """Records which keys its run() saw."""

    def __init__(self, reads, writes, result=None, new=None):
        super().__init__()
        self._reads, self._writes, self._result, self._new = reads, writes, result, new

    @property
    def reads(self) -> list:
        return self._reads

    @property
    def writes(self) -> list:
        return self._writes

    def run(self, state: State, **kw) -> dict:
        return self._result if self._result is not None else {"seen": sorted(state.keys())}

    def update(self, result: dict, state: State) -> State:
        return state.update(
            **(self._new if self._new is not None else {w: result.get("seen") for w in self._writes})
        )


class Whole(SingleStepAction):
    @property
    def reads(self) -> list:
        return ["a"]

    @property
    def writes(self) -> list:
        return ["b"]

    def run_and_update(self, state: State, **kw) -> tuple:
        return {"keys": sorted(state.keys())}, state.update(b=1, extra="undeclared")


def one(act, **state):
    app = ApplicationBuilder().with_actions(x=act).with_state(**state).with_entrypoint("x").build()
    return app


out("two_step.subset", step_triple(one(Peek(["a"], ["out"]), a=1, b=2).step()))
out("two_step.repr", repr(Peek(["a", "b"], ["c"]).with_name("p")))
out.raises(
    "two_step.undeclared_write",
    lambda: one(Peek([], ["out"], new={"out": 1, "sneaky": 2}), a=1).step(),
    "did not declare",
)
# overwriting an existing undeclared key is allowed (only *new* keys are checked)
out("two_step.overwrite_existing", step_triple(one(Peek([], ["out"], new={"out": 1, "a": 5}), a=1).step()))
out.raises(
    "two_step.missing_write",
    lambda: one(Peek([], ["out", "other"], new={"out": 1}), a=1).step(),
    "missing write keys",
)
out(
    "two_step.missing_write_preexisting", step_triple(one(Peek([], ["out", "a"], new={"out": 1}), a=1).step())
)
out.raises("two_step.non_dict", lambda: one(Peek([], ["out"], result=[1]), a=1).step(), "non-dict result")
out.raises(
    "two_step.read_undeclared",
    lambda: one(Peek(["zzz"], ["out"], result=None), a=1).step() and None,
    "not found",
)


class ReadsMissing(Action):
    @property
    def reads(self) -> list:
        return ["a"]

    @property
    def writes(self) -> list:
        return []

    def run(self, state: State) -> dict:
        return {"b": state["b"]}

    def update(self, result: dict, state: State) -> State:
        return state


out.raises("two_step.key_error", lambda: one(ReadsMissing(), a=1, b=2).step(), 'Key "b" not found')


class AsyncRun(Action):
    @property
    def reads(self) -> list:
        return []

    @property
    def writes(self) -> list:
        return []

    async def run(self, state: State) -> dict:
        return {}

    def update(self, result: dict, state: State) -> State:
        return state


out.raises("two_step.async_in_sync", lambda: one(AsyncRun()).step(), "Cannot run async", "astep")

out("single_step.full_state", step_triple(one(Whole(), a=1, z=3).step()))
out("single_step.flags", [Whole().single_step, Peek([], []).single_step, Whole().streaming])
out.raises("single_step.run_raises", lambda: Whole().run(State()), "")


@action(reads=["a"], writes=["a", "b"])
def fn_full(state: State) -> tuple:
    return {"k": sorted(state.keys())}, state.update(a=2, surprise=1)


out.raises("function.missing_write", lambda: one(fn_full, a=1).step(), "missing write keys")


@action(reads=["a"], writes=["a"])
def fn_extra(state: State) -> tuple:
    return {"k": sorted(state.keys())}, state.update(a=2, surprise=1).wipe(delete=["gone"])


out("function.extra_write_and_delete", step_triple(one(fn_extra, a=1, gone=1, kept=1).step()))


@action(reads=[], writes=[])
def fn_bad_shape(state: State):
    return {"x": 1}


@action(reads=[], writes=[])
def fn_bad_result(state: State):
    return [1], state


@action(reads=[], writes=[])
def fn_internal(state: State):
    return state.update(__PRIOR_STEP="lie", __SEQUENCE_ID=99, __custom=1)


out.raises("function.bad_shape", lambda: one(fn_bad_shape).step(), "must return either")
out.raises("function.bad_result", lambda: one(fn_bad_result).step(), "")
out("function.internal_keys_ignored", step_triple(one(fn_internal, a=1).step()))
out("function.still_callable", fn_extra(State({"a": 1, "gone": 2})))

out("result.subset", step_triple(one(Result("a", "missing"), a=1, b=2).step()))
out("result.meta", [Result("a").reads, Result("a").writes, Result("a").inputs])
app = ApplicationBuilder().with_actions(i=Input("q", "r")).with_entrypoint("i").build()
out("input.step", step_triple(app.step(inputs={"q": 1, "r": 2, "s": 3})))
out("input.meta", [Input("q").reads, Input("q").writes, Input("q").inputs])
out.raises(
    "input.missing",
    lambda: ApplicationBuilder().with_actions(i=Input("q")).with_entrypoint("i").build().step(),
    "missing required inputs",
)
out.dump()
