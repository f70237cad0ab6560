import dataclasses
import datetime
import decimal
import enum
import pathlib
import uuid

import pytest

from burr.core import serde


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: tuple


@pytest.mark.parametrize(
    "value",
    [
        None, 1, 1.5, True, "s", [1, "a"], {"a": {"b": [1]}},
        (1, 2), {1, 2}, frozenset({3}), b"\x00\xff",
        datetime.datetime(2026, 11, 21, 12, 0, tzinfo=datetime.timezone.utc),
        datetime.date(2026, 1, 1), datetime.time(1, 2), datetime.timedelta(days=1, seconds=2),
        decimal.Decimal("1.10"), uuid.UUID(int=5), pathlib.Path("/tmp/x"), Color.RED, Point(1, (2, 3)),
    ],
)
def test_round_trip_keeps_type_and_value(value):
    out = serde.deserialize(serde.serialize(value))
    assert out == value
    assert type(out) is type(value)


def test_unknown_objects_fall_back_to_str():
    class Thing:
        def __str__(self):
            return "thing!"

    assert serde.serialize(Thing()) == "thing!"


def test_unknown_deserializer_key_names_it_and_the_fix():
    with pytest.raises(ValueError, match="No function registered for key: nope"):
        serde.deserialize({serde.KEY: "nope"})


def test_class_from_a_module_that_is_not_imported_is_refused():
    record = {serde.KEY: "enum", "class": "some_module_never_imported.Evil", "value": 1}
    with pytest.raises(ValueError, match="is not imported"):
        serde.deserialize(record)


def test_class_of_the_wrong_kind_is_refused():
    record = {serde.KEY: "enum", "class": "os.system", "value": "echo hi"}
    with pytest.raises(ValueError, match="is not one"):
        serde.deserialize(record)


def test_pydantic_model_round_trips():
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):
        a: int

    serde.allow_class(M)
    assert serde.deserialize(serde.serialize(M(a=1))) == M(a=1)


def test_custom_type_registration():
    class Money:
        def __init__(self, cents: int):
            self.cents = cents

    @serde.serialize.register(Money)
    def _ser(value, **kwargs):
        return {serde.KEY: "money", "cents": value.cents}

    @serde.deserializer.register("money")
    def _de(value, **kwargs):
        return Money(value["cents"])

    assert serde.deserialize(serde.serialize(Money(5))).cents == 5
