"""serde: JSON-ish values identical; non-JSON values differ on purpose (fix #27, own labels)."""

import datetime
import logging
import os
import tempfile

from _compat import Out

from burr.core import ApplicationBuilder, State, action, serde
from burr.core.persistence import SQLitePersister
from burr.core.state import register_field_serde

logging.disable(logging.CRITICAL)
out = Out()

plain = {"a": 1, "b": [1, "x", None, 2.5, True], "c": {"d": {"e": []}}}
out("serialize.plain", serde.serialize(plain))
out("deserialize.plain", serde.deserialize(plain))
out("state.serialize.plain", State(plain).serialize())
out.raises(
    "deserialize.unknown_dispatch",
    lambda: serde.deserialize({serde.KEY: "nope-not-registered"}),
    "No deserializer registered for key",
)
out("key", serde.KEY)

# lossy in Apache Burr (str(...)), round-tripping here: fix #27
odd = (1, 2)
out("fix27.tuple_roundtrip", serde.deserialize(serde.serialize(odd)) == odd)
out("fix27.set_roundtrip", serde.deserialize(serde.serialize({1, 2})) == {1, 2})
dt = datetime.datetime(2024, 1, 2, 3, 4, 5)
out("fix27.datetime_roundtrip", serde.deserialize(serde.serialize(dt)) == dt)
# values Apache Burr stored in lossy form still load (as the strings they are)
out("lossy_strings_load", serde.deserialize({"t": "(1, 2)", "d": "2024-01-02 03:04:05"}))


# field serde
def ser(value, **kwargs):
    return {"v": value * 2}


def deser(value, **kwargs):
    return value["v"] // 2


register_field_serde("doubled", ser, deser)
s = State({"doubled": 21, "other": 1})
out("field_serde.serialize", s.serialize())
out("field_serde.roundtrip", State.deserialize(s.serialize()))
out.raises("field_serde.no_kwargs", lambda: register_field_serde("x", lambda v: v, deser), "")


@action(reads=[], writes=["t", "when", "doubled"])
def store(state: State) -> State:
    return state.update(t=(1, 2), when=dt, doubled=4)


p = SQLitePersister(os.path.join(tempfile.mkdtemp(), "s.db"), "t")
p.initialize()
app = (
    ApplicationBuilder()
    .with_actions(store=store)
    .with_entrypoint("store")
    .with_identifiers(app_id="s")
    .with_state_persister(p)
    .build()
)
app.step()
loaded = p.load("", "s")["state"]
out("sqlite.doubled", loaded["doubled"])
out("fix27.sqlite_types", [type(loaded["t"]).__name__, type(loaded["when"]).__name__])
out.dump()
