"""Every Python snippet in docs/policies.md runs as written."""

from __future__ import annotations

import pathlib
import re
import sys
import types

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "policies.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_policies_page_has_snippets() -> None:
    assert len(SNIPPETS) >= 5


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_policies_doc_snippet_runs(index: int) -> None:
    # a real, imported module: persisted dataclasses are looked up by module name
    module = types.ModuleType(f"policies_doc_snippet_{index}")
    sys.modules[module.__name__] = module
    try:
        code = compile(SNIPPETS[index], f"docs/policies.md#snippet{index}", "exec", dont_inherit=True)
        exec(code, module.__dict__)
    finally:
        del sys.modules[module.__name__]
