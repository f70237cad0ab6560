"""The bundled examples, importable as ``burr.examples`` (``burr/examples`` links to this directory).

Example directories have dashes in their names, so Python cannot import them by name. ``load(name)``
imports ``<name>/application.py`` as ``burr.examples.<name_with_underscores>.application`` inside a
package made for that directory, so the example's own relative imports (``from .embeddings import ...``,
``from ..llm import ...`` for the chat model the LLM examples share)
work. Run an example as a script with ``python examples/<name>/application.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLES_DIR = Path(__file__).resolve().parent


def names() -> list[str]:
    """The examples that have an ``application.py``, sorted."""
    return sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/application.py"))


def load(name: str, module: str = "application") -> ModuleType:
    """Import ``<name>/<module>.py`` of the example ``name`` (e.g. ``"hello-world-counter"``).

    Imported once per process, like any module: later calls return the same module object.
    """
    directory = EXAMPLES_DIR / name
    if not (directory / f"{module}.py").is_file():
        raise ModuleNotFoundError(
            f"no example module {name}/{module}.py in {EXAMPLES_DIR}; available examples: {', '.join(names())}"
        )
    package = f"{__name__}.{name.replace('-', '_')}"
    if package not in sys.modules:
        spec = importlib.util.spec_from_loader(package, loader=None, is_package=True)
        assert spec is not None
        spec.submodule_search_locations = [str(directory)]
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[package] = pkg
    return importlib.import_module(f"{package}.{module}")
