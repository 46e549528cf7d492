"""The benchmark's per-tier settings: the DuckDB memory limit its stages run with, the disk a
tier takes (checked against hand-worked sums of the measured sizes), and the arguments it
refuses before a run starts."""

from __future__ import annotations

import pytest

from bench.__main__ import MEMORY_ENV, disk_shortfall, main, memory_limit, reclaimable_bytes
from tools.sources.demo import WorldSpec
from tools.sources.demo.estate import CLUSTER_NAMES, build_world


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


def test_disk_shortfall_counts_the_warehouse_the_run_replaces():
    gb = 10**9
    # 44.4 GB free beside a 15 GB warehouse from the last run: 59.4 GB once it is replaced, and 57 fit
    assert disk_shortfall("L", int(44.4 * gb), world_ready=True, replaced_bytes=15 * gb) is None
    warning = disk_shortfall("L", 40 * gb, world_ready=True, replaced_bytes=15 * gb)   # 55 GB: short
    assert warning.startswith("40.0 GB free (and 15.0 GB the last run's warehouse frees), and tier L takes about 57 GB")


def test_reclaimable_bytes_are_the_warehouse_and_its_wal(tmp_path):
    db = tmp_path / "L.duckdb"
    assert reclaimable_bytes(db) == 0                       # no earlier run
    mib = 2**20
    db.write_bytes(b"\x01" * (3 * mib))
    db.with_name("L.duckdb.wal").write_bytes(b"\x02" * mib)
    (tmp_path / "L").mkdir()                                  # the world beside it is not the warehouse's
    (tmp_path / "L" / "big.om").write_bytes(b"\x03" * (5 * mib))
    assert 4 * mib <= reclaimable_bytes(db) <= 4 * mib + 64 * 1024   # allocated blocks: 4 MiB written


@pytest.mark.parametrize(("args", "expected"), [
    (["--clusters", "eks-prod,nope"], "--clusters: no cluster nope in the demo world; its clusters are eks-prod, gke-ml, aks-web"),
    (["--runs", "0"], "--runs must be at least 1"),
    (["--runs", "2", "--ingest-runs", "3"], "--ingest-runs must be between 0"),
    (["--runs", "2", "--ingest-runs", "-1"], "--ingest-runs must be between 0"),
])
def test_wrong_arguments_stop_before_any_stage(args, expected, tmp_path, capsys):
    out = tmp_path / "results.md"
    with pytest.raises(SystemExit) as stopped:
        main(["--tier", "S", "--work", str(tmp_path / "work"), "--out", str(out), *args])
    assert stopped.value.code == 2
    assert expected in capsys.readouterr().err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_a_folder_that_cannot_be_written_stops_the_run_before_it_starts(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    for flag, path in (("--work", blocker / "work"), ("--out", blocker / "results.md")):
        other = "--out" if flag == "--work" else "--work"
        with pytest.raises(SystemExit) as stopped:
            main(["--tier", "S", flag, str(path), other, str(tmp_path / "other" / "x.md")])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert f"{flag}: cannot write in the folder {path if flag == '--work' else blocker}" in err
        assert "give a folder you can write" in err
    assert not (tmp_path / "other" / "x.json").exists()


def test_the_cluster_names_are_the_worlds():
    assert sorted(CLUSTER_NAMES) == sorted(c.name for c in build_world(WorldSpec.preset("demo")).clusters)
