"""Every persister module imports on its own, as the first burr import of a process."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "burr.core.persistence",
    "burr.integrations.persisters.b_aiosqlite",
    "burr.integrations.persisters.b_asyncpg",
    "burr.integrations.persisters.b_mysql",
    "burr.integrations.persisters.b_psycopg2",
    "burr.integrations.persisters.b_redis",
    "burr.integrations.persisters.postgresql",
]


@pytest.mark.parametrize("module", MODULES)
def test_persister_module_imports_first_without_a_circular_import(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
