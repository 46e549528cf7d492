"""The SQL engine agrees with the plain-Python reference on generated worlds."""

from __future__ import annotations

import pytest

from tests.tools.allocation.worlds import random_world
from tools.allocation import rebuild_allocation
from tools.allocation.owners import load_owner_patterns
from tools.allocation.reference import PARTS, reference_allocation, reference_owners
from tools.context import Context
from tools.settings import AllocationSettings, Settings

COMPARED = PARTS + ("cost", "pod_hours", "cpu_charged_hours", "memory_charged_gib_hours", "gpu_hours")
KEY = "cluster, hour, bucket, namespace, workload_kind, workload_name, node_pool, estimated"


def engine_rows(con) -> dict:
    cur = con.execute(f"SELECT {KEY}, {', '.join(COMPARED)} FROM allocation_hours")
    return {row[:8]: dict(zip(COMPARED, row[8:])) for row in cur.fetchall()}


def assert_engine_matches_reference(ctx: Context) -> None:
    engine = engine_rows(ctx.db)
    reference = reference_allocation(ctx.db, ctx.settings.allocation)
    assert set(engine) == set(reference)
    for key, ref in reference.items():
        for column in COMPARED:
            want = ref.get(column)
            got = engine[key][column]
            if want is None or (column not in PARTS + ("cost",) and got is None):
                want = want or 0.0
                got = got or 0.0
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (key, column)
    patterns = load_owner_patterns(ctx.settings.allocation.owners_file)
    owners = {r[:4]: (r[4], r[5]) for r in ctx.db.execute(
        "SELECT cluster, namespace, workload_kind, workload_name, owner, owner_source FROM workload_owners").fetchall()}
    assert owners == reference_owners(ctx.db, patterns)


@pytest.mark.parametrize("seed", range(8))
def test_engine_matches_reference_on_random_worlds(tmp_path, seed):
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        random_world(ctx.db, seed, clusters=2, nodes=3 + seed % 3, pods=6 + seed, n_hours=3 + seed % 4)
        rebuild_allocation(ctx)
        assert_engine_matches_reference(ctx)
    finally:
        ctx.close()


@pytest.mark.parametrize("seed", range(3))
def test_engine_matches_reference_with_other_settings(tmp_path, seed):
    owners = tmp_path / "owners.yaml"
    owners.write_text("shop: {owner: carol}\n'd*': {team: data, owner: dan}\n")
    settings = Settings(allocation=AllocationSettings(
        cost_basis="billed", daemonsets_shared=True, cpu_weight=3, memory_weight=2,
        shared_namespaces=["kube-system", "data"], owners_file=owners))
    ctx = Context.open(tmp_path / "w.duckdb", settings)
    try:
        random_world(ctx.db, 100 + seed, clusters=1 + seed, nodes=4, pods=12, n_hours=5)
        rebuild_allocation(ctx)
        assert_engine_matches_reference(ctx)
    finally:
        ctx.close()
