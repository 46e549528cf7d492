"""Fixtures shared by every test: isolated environment, a fresh warehouse, the shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.context import Context
from tools.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALLOT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """No test sees the developer's ALLOT_* variables, home or warehouse."""
    for name in list(os.environ):
        if name.startswith("ALLOT_"):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))


@pytest.fixture
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}; set ALLOT_SHARED_DATA"
    return SHARED_DATA


@pytest.fixture
def ctx(tmp_path) -> Context:
    """A fresh, migrated warehouse in a temporary file."""
    context = Context.open(tmp_path / "test.duckdb", Settings())
    yield context
    context.close()
