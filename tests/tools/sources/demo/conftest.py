"""The demo world generated once per test session (a few seconds), shared read-only."""

from __future__ import annotations

import pytest

from tools.sources.demo.generate import generate_world
from tools.sources.demo.spec import WorldSpec


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory):
    return generate_world(tmp_path_factory.mktemp("demo-world"), WorldSpec.preset("demo"))
