"""The opt-in pickle serde round-trips registered types through a persister and refuses others."""

from __future__ import annotations

from pathlib import Path

import pytest

from burr.core import serde
from burr.core.persistence import PersistedDataError, SQLitePersister
from burr.core.state import State
from burr.integrations.serde.pickle import register_type_to_pickle


class Opaque:
    def __init__(self, n: int) -> None:
        self.n = n


register_type_to_pickle(Opaque)


def test_registered_type_round_trips_through_sqlite(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    p.initialize()
    p.save("pk", "app", 0, "a", State({"o": Opaque(7)}), "completed")
    assert p.load("pk", "app")["state"]["o"].n == 7


def test_unregistered_class_in_stored_data_is_refused() -> None:
    record = {serde.KEY: "pickle", "class": "os.system", "value": ""}
    with pytest.raises(ValueError, match="Refusing to unpickle"):
        serde.deserialize(record)


def test_refusal_through_a_persister_names_app_step_and_key(tmp_path: Path) -> None:
    p = SQLitePersister(str(tmp_path / "s.db"))
    p.initialize()
    p.connection.execute(
        "INSERT INTO burr_state (partition_key, app_id, sequence_id, position, status, state) VALUES "
        '(\'pk\', \'app\', 0, \'a\', \'completed\', \'{"evil": {"__burr_serde__": "pickle", "class": "x.Y", "value": ""}}\')'
    )
    with pytest.raises(PersistedDataError, match="step 0 of app 'app'.*key 'evil'"):
        p.load("pk", "app")
