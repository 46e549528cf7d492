"""Same spec, byte-identical files; another seed, other usage but the same estate."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from tools.sources.demo.estate import build_world
from tools.sources.demo.generate import generate_world
from tools.sources.demo.openmetrics import write_openmetrics
from tools.sources.demo.spec import WorldSpec


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_writes_byte_identical_files(tmp_path, demo_world):
    again = generate_world(tmp_path / "again", WorldSpec.preset("demo"))
    first, second = _digests(demo_world.out_dir), _digests(again.out_dir)
    assert len(first) == 3 + 3 * 15 + 3 + 1    # bills, kubectl kinds per cluster, metrics, ground truth
    assert first == second


def test_another_seed_changes_usage_not_the_estate(tmp_path, demo_world):
    other = generate_world(tmp_path / "other", WorldSpec.preset("demo", seed=7))
    mine, theirs = _digests(demo_world.out_dir), _digests(other.out_dir)
    assert mine["kubernetes/gke-ml/nodes.json"] == theirs["kubernetes/gke-ml/nodes.json"]
    assert mine["metrics/gke-ml.om"] != theirs["metrics/gke-ml.om"]
    assert other.ground_truth.billed_total != demo_world.ground_truth.billed_total   # NAT bytes, log bytes


def test_regenerating_into_the_same_folder_replaces_it(tmp_path):
    spec = WorldSpec(days=2)
    generate_world(tmp_path, spec)
    stray = tmp_path / "metrics" / "old-cluster.om"
    stray.write_text("# EOF\n")
    generate_world(tmp_path, spec)
    assert not stray.exists()


def test_gzip_history_holds_the_same_text(tmp_path, demo_world):
    packed = generate_world(tmp_path / "gz", WorldSpec.preset("demo").model_copy(update={"metrics_gzip": True}))
    assert sorted(p.name for p in packed.metrics.values()) == ["aks-web.om.gz", "eks-prod.om.gz", "gke-ml.om.gz"]
    for cluster, plain in demo_world.metrics.items():
        assert gzip.decompress(packed.metrics[cluster].read_bytes()) == plain.read_bytes()
        assert packed.metrics[cluster].stat().st_size < plain.stat().st_size / 10


def test_history_written_by_worker_processes_is_the_same_bytes(tmp_path, demo_world):
    spec = WorldSpec.preset("demo")
    parallel = write_openmetrics(build_world(spec), tmp_path / "metrics", processes=2)
    assert sorted(parallel) == sorted(demo_world.metrics) == ["aks-web", "eks-prod", "gke-ml"]
    for cluster, path in demo_world.metrics.items():
        assert parallel[cluster] == tmp_path / "metrics" / path.name
        assert parallel[cluster].read_bytes() == path.read_bytes()
