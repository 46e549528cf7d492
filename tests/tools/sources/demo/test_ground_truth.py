"""The ground truth agrees with the files the generator wrote, recomputed here with csv/json."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import datetime, timedelta

from tools.sources.demo.truth_model import DETECTORS, load_ground_truth


def _gke_rows(world):
    path = next(p for p in world.billing if "-gcp-" in p.name)
    with path.open(newline="") as fh:
        yield from csv.DictReader(fh)


def test_ai_evals_share_matches_the_written_bill(demo_world):
    truth = load_ground_truth(demo_world.out_dir)
    ex = truth.explain
    nodes = json.loads((demo_world.kubernetes["gke-ml"] / "nodes.json").read_text())["items"]
    gpu_nodes = {n["metadata"]["name"] for n in nodes if n["metadata"]["labels"]["cloud.google.com/gke-nodepool"]
                 == "gpu-l4"}
    cut = ex.current.start
    week = defaultdict(float)
    gpu = defaultdict(float)
    for row in _gke_rows(demo_world):
        tags = json.loads(row["Tags"]) if row["Tags"] else {}
        in_cluster = tags.get("goog-k8s-cluster-name") == "gke-ml" or "/disks/" in row["ResourceId"]
        if not in_cluster:
            continue
        start = datetime.fromisoformat(row["ChargePeriodStart"].rstrip("Z"))
        if start < ex.baseline.start:
            continue
        side = "current" if start >= cut else "baseline"
        week[side] += float(row["EffectiveCost"])
        if row["ResourceName"] in gpu_nodes:
            gpu[side] += float(row["EffectiveCost"])
    total_delta = week["current"] - week["baseline"]
    ai_delta = gpu["current"] - gpu["baseline"]
    assert abs(total_delta - ex.total_delta) < 1e-6
    assert abs(ai_delta - ex.ai_evals_delta) < 1e-6
    assert abs(100 * ai_delta / total_delta - ex.ai_evals_share_pct) < 1e-3
    assert 50 < ex.ai_evals_share_pct < 100           # "most of the increase", not all of it
    assert abs(sum(ex.other_deltas.values()) + ex.ai_evals_delta - ex.total_delta) < 1e-6
    assert ex.current.end - ex.current.start == timedelta(days=7)


def test_stories_name_real_objects_and_known_detectors(demo_world):
    truth = demo_world.ground_truth
    objects = {}
    for cluster, folder in demo_world.kubernetes.items():
        for path in folder.glob("*.json"):
            for item in json.loads(path.read_text())["items"]:
                m = item["metadata"]
                objects[(cluster, m.get("namespace", ""), item["kind"], m["name"])] = item
    pools = {(p.cluster, p.pool) for p in truth.node_pools}
    assert {s.detector for s in truth.stories} == set(DETECTORS)
    for story in truth.stories:
        o = story.object
        if o.kind == "NodePool":
            assert (o.cluster, o.name) in pools
        else:
            namespace = "" if o.kind == "Namespace" else o.namespace   # story names the namespace it is about
            assert (o.cluster, namespace, o.kind, o.name) in objects, story.id
        if story.expected_monthly_savings is not None:
            assert story.expected_monthly_savings > 5.0, story.id
        assert story.savings_formula
    for control in truth.healthy_controls:
        o = control.object
        assert (o.cluster, o.namespace, o.kind, o.name) in objects
        assert not any(s.object == o for s in truth.stories)


def test_over_requested_figures_are_consistent(demo_world):
    s = demo_world.ground_truth.story("search_api_8x")
    f = s.figures
    assert 7.0 < f["cpu_request"] / f["cpu_mean"] < 9.0
    assert abs(f["recommended_cpu"] - f["cpu_p95"] * 1.15) < 1e-6
    by_hand = f["replicas"] * 730 * (f["cpu_price_per_core_hour"] * (f["cpu_request"] - f["recommended_cpu"])
                                     + f["memory_price_per_gib_hour"] * (f["memory_request_bytes"]
                                                                         - f["recommended_memory_bytes"]) / 2**30)
    assert abs(by_hand - s.expected_monthly_savings) < 0.05


def test_healthy_pools_are_not_overprovisioned(demo_world):
    for pool in demo_world.ground_truth.node_pools:
        if (pool.cluster, pool.pool) == ("aks-web", "userpool"):
            assert pool.requests_utilization < 0.3
        else:
            assert pool.requests_utilization >= 0.65, pool
