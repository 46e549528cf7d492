"""The benchmark's per-tier settings: the DuckDB memory limit its stages run with, and the
disk a tier takes (checked against hand-worked sums of the measured sizes)."""

from __future__ import annotations

from bench.__main__ import MEMORY_ENV, disk_shortfall, memory_limit


def test_memory_limit_per_tier(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    assert [memory_limit(tier) for tier in "SML"] == ["3GB", "3GB", "12GB"]
    monkeypatch.setenv(MEMORY_ENV, "5GB")   # the variable wins on every tier
    assert [memory_limit(tier) for tier in "SML"] == ["5GB", "5GB", "5GB"]


def test_disk_shortfall_counts_the_world_only_when_it_is_to_be_generated():
    gb = 10**9
    assert disk_shortfall("L", 70 * gb, world_ready=False) is None          # 11.3 + 57 GB fit
    warning = disk_shortfall("L", 60 * gb, world_ready=False)
    assert warning.startswith("60.0 GB free, and tier L takes about 68 GB (its world 11.3 GB,")
    assert disk_shortfall("L", 60 * gb, world_ready=True) is None           # 57 GB fit
    assert "takes about 57 GB (the warehouse" in disk_shortfall("L", 50 * gb, world_ready=True)
    assert disk_shortfall("S", 2 * gb, world_ready=False) is None
