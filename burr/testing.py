"""JSON-driven action tests: ``@pytest.mark.file_name("cases.json")`` + ``input_state``/``expected_state``.

In a test module::

    from burr.testing import pytest_generate_tests  # noqa: F401  (pytest finds it by name)

    @pytest.mark.file_name("my_cases.json")
    def test_my_action(input_state, expected_state): ...

The file is a JSON list of ``{"action", "name", "input_state", "expected_state"}`` (what
``burr-test-case create`` writes), relative to the test module's directory.
"""

from __future__ import annotations

import json
import os
from typing import Any


def load_test_cases(file_name: str) -> list[dict[str, Any]]:
    """Read the JSON list of test cases in ``file_name``."""
    with open(file_name) as f:
        cases = json.load(f)
    if not isinstance(cases, list):
        raise ValueError(f"{file_name} must contain a JSON list of test cases, got {type(cases).__name__}.")
    return cases


def pytest_generate_tests(metafunc: Any) -> None:
    """Parametrize ``input_state``/``expected_state`` from the test's ``file_name`` marker."""
    if "input_state" not in metafunc.fixturenames or "expected_state" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("file_name")
    if marker is None:
        raise ValueError(
            f"{metafunc.function.__name__} uses input_state/expected_state but has no "
            '@pytest.mark.file_name("cases.json") marker naming its test cases.'
        )
    file_name = marker.args[0]
    if not os.path.isabs(file_name):
        file_name = os.path.join(os.path.dirname(str(metafunc.module.__file__)), file_name)
    cases = load_test_cases(file_name)
    metafunc.parametrize(
        "input_state,expected_state",
        [(c["input_state"], c["expected_state"]) for c in cases],
        ids=[c.get("name", str(i)) for i, c in enumerate(cases)],
    )
