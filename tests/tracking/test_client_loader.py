"""LocalTrackingClient as a state loader: on Apache Burr 0.43's files and on ours."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

from burr.tracking import LocalTrackingClient

FIXTURE = (
    pathlib.Path(__file__).parents[1] / "fixtures" / "apache-burr-0.43" / "burr-home"
)  # written by Apache Burr 0.43 (README.md beside it)
pytestmark = pytest.mark.skipif(not FIXTURE.exists(), reason="Apache Burr fixture not available")


@pytest.fixture
def burr_home(tmp_path: pathlib.Path) -> str:
    dest = tmp_path / "burr-home"
    shutil.copytree(FIXTURE, dest)
    for root, dirs, files in os.walk(dest):  # the fixture is read-only; our copy must not be
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755)
    return str(dest)


def test_load_latest_from_burr_log(burr_home: str) -> None:
    loaded = LocalTrackingClient("demo_fixture", burr_home).load("user-1", "counter-app")
    assert loaded["sequence_id"] == 5 and loaded["position"] == "speak" and loaded["status"] == "completed"
    assert loaded["state"]["message"] == "count is 3 and done" and loaded["state"]["squares"] == [0, 1, 4]


def test_load_strips_internal_keys_but_keeps_sequence_id(burr_home: str) -> None:
    state = LocalTrackingClient("demo_fixture", burr_home).load("user-1", "counter-app", 1)["state"]
    assert dict(state) == {"counter": 2, "history": [], "__SEQUENCE_ID": 1}


def test_load_missing_sequence_id_raises(burr_home: str) -> None:
    with pytest.raises(ValueError, match="Sequence number 42 not found"):
        LocalTrackingClient("demo_fixture", burr_home).load("user-1", "counter-app", 42)


def test_load_unknown_app_is_none(burr_home: str) -> None:
    assert LocalTrackingClient("demo_fixture", burr_home).load("user-1", "nope") is None


def test_load_none_app_id_is_none(burr_home: str) -> None:
    assert LocalTrackingClient("demo_fixture", burr_home).load("user-1", None) is None


def test_load_rejects_path_escaping_app_id(burr_home: str) -> None:
    with pytest.raises(ValueError, match="cannot be tracked"):
        LocalTrackingClient("demo_fixture", burr_home).load("user-1", "../demo_fixture/counter-app")


def test_list_app_ids_lists_every_app(burr_home: str) -> None:
    ids = LocalTrackingClient("demo_fixture", burr_home).list_app_ids(None)
    assert sorted(ids)[:2] == [
        "4c3b849de9d2ada2c5defdce9005de0547efe27caf5eaf1befe5e1c70d6cb59f",
        "a65e8914c0e525d5113c219e79eb3eb9b0b152e581ef76b51cd129f618e373e6",
    ]
    assert "counter-app" in ids and "forked-app" in ids and len(ids) == 5


def test_list_app_ids_filters_by_partition_key(burr_home: str) -> None:
    client = LocalTrackingClient("demo_fixture", burr_home)
    assert set(client.list_app_ids("user-1")) >= {"counter-app", "forked-app"}
    assert client.list_app_ids("someone-else") == []


def test_list_app_ids_of_missing_project_is_empty(tmp_path: pathlib.Path) -> None:
    assert LocalTrackingClient("nothing", str(tmp_path)).list_app_ids(None) == []


def test_app_log_exists(burr_home: str) -> None:
    assert LocalTrackingClient.app_log_exists("demo_fixture", "counter-app", burr_home)
    assert not LocalTrackingClient.app_log_exists("demo_fixture", "nope", burr_home)


def test_load_state_is_deprecated_and_returns_state_and_action(burr_home: str) -> None:
    with pytest.warns(DeprecationWarning):
        state, action = LocalTrackingClient.load_state("demo_fixture", "forked-app", storage_dir=burr_home)
    assert action == "remember" and state["history"] == [{"n": 3}]


def test_get_storage_path_expands_user() -> None:
    assert LocalTrackingClient.get_storage_path("p", "~/x") == os.path.join(os.path.expanduser("~/x"), "p")
