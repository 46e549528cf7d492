"""Fixtures shared by every test: isolated environment, a fresh warehouse, the shared data."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
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


def _session_root(tmp_path_factory) -> Path:
    """A folder shared by every xdist worker of this run (and only this run)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> Path:
    """The demo world, generated and ingested once per test run, whatever the worker count.

    Holds ``demo.duckdb`` and ``world/`` (files and ground_truth.json). Read-only: tests that
    need a warehouse use ``demo_ctx``, which works on a copy.
    """
    from tools.sources.demo.runner import run_demo

    target = _session_root(tmp_path_factory) / "demo-build"
    with open(str(target) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "done").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            context = Context.open(target / "demo.duckdb", Settings())
            try:
                run_demo(context, target / "world")
            finally:
                context.close()
            (target / "done").write_text("ok")
    return target


@pytest.fixture(scope="module")
def demo_ctx(demo_build, tmp_path_factory):
    """A private copy of the demo warehouse for one test module, and its ground truth."""
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(demo_build / "demo.duckdb", folder / "demo.duckdb")
    context = Context.open(folder / "demo.duckdb", Settings())
    truth = json.loads((demo_build / "world" / "ground_truth.json").read_text())
    yield context, truth, folder
    context.close()
