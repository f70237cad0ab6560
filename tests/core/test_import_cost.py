"""`import burr.core` stays cheap: heavy modules load only when a feature needs them (structural, not timed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Loaded lazily: asyncio by async runs, sqlite3 by burr.core.persistence, pydantic by its integration.
HEAVY = ["asyncio", "sqlite3", "pydantic", "burr.core.persistence"]


def _modules_after(code: str) -> set[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def loaded_by_core() -> set[str]:
    return _modules_after("import burr.core")


@pytest.mark.parametrize("module", HEAVY)
def test_import_burr_core_does_not_load_heavy_module(loaded_by_core: set[str], module: str) -> None:
    assert module not in loaded_by_core


def test_persistence_still_importable_from_burr_core() -> None:
    loaded = _modules_after(
        "from burr.core import persistence\n"
        "assert persistence.SQLitePersister.__name__ == 'SQLitePersister'\n"
        "import burr.core\n"
        "assert burr.core.persistence is persistence"
    )
    assert "burr.core.persistence" in loaded


def test_persistence_reachable_as_attribute_of_burr_core() -> None:
    loaded = _modules_after("import burr.core\nassert burr.core.persistence.InMemoryPersister")
    assert "sqlite3" in loaded


def test_star_import_from_burr_core_includes_persistence() -> None:
    loaded = _modules_after("from burr.core import *\nassert persistence.DevNullPersister")
    assert "burr.core.persistence" in loaded


def test_unknown_attribute_of_burr_core_raises_attribute_error() -> None:
    import burr.core

    with pytest.raises(AttributeError, match="no_such_name"):
        burr.core.no_such_name  # noqa: B018


def test_stdlib_values_round_trip_when_their_module_is_imported_after_burr_core() -> None:
    # serde registers datetime/decimal/uuid/pathlib handlers on first sight, not at import.
    loaded = _modules_after(
        "import burr.core\n"
        "from burr.core import serde\n"
        "import datetime, decimal, uuid, pathlib\n"
        "values = [decimal.Decimal('1.25'), uuid.UUID(int=7), pathlib.Path('a/b'),\n"
        "          datetime.datetime(2024, 1, 2, 3, 4), datetime.date(2024, 1, 2), datetime.time(5, 6),\n"
        "          datetime.timedelta(days=1, seconds=2)]\n"
        "for v in values:\n"
        "    record = serde.serialize(v)\n"
        "    assert isinstance(record, dict) and serde.KEY in record, record\n"
        "    back = serde.deserialize(record)\n"
        "    assert back == v and type(back) is type(v), (v, back)"
    )
    assert "decimal" in loaded


def test_persistence_listed_in_dir_of_burr_core_before_it_loads() -> None:
    loaded = _modules_after("import burr.core\nassert 'persistence' in dir(burr.core)")
    assert "burr.core.persistence" not in loaded
