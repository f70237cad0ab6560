"""The complete code snippets on the docs pages we own run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Pages whose python blocks run top to bottom in one namespace; blocks with `...` are sketches.
PAGES = ["index.md", "getting-started.md", "concepts/state.md", "concepts/typing.md"]


def _blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text()
    return [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "..." not in b]


@pytest.mark.parametrize("page", PAGES)
def test_doc_snippets_run(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _blocks(page)
    assert blocks, f"{page} has no runnable python block"
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    for block in blocks:
        exec(compile(block, f"{page}", "exec"), namespace)  # noqa: S102 - our own docs


def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="docs tooling is in the `dev` extra")
    pytest.importorskip("mkdocstrings", reason="docs tooling is in the `dev` extra")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "reference" / "pydantic" / "index.html").exists()
