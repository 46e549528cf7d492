"""The demo's kubectl dumps: Lists the snapshot reader accepts, consistent with each other."""

from __future__ import annotations

import json

from tools.sources.kubernetes_snapshot import read_snapshot_dir


def test_every_dump_is_a_list_of_its_kind(demo_world):
    for cluster, folder in demo_world.kubernetes.items():
        objects, files, _ = read_snapshot_dir(folder)
        assert len(files) == 15
        for path in files:
            doc = json.loads(path.read_text())
            assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
            assert len({item["kind"] for item in doc["items"]}) <= 1
        nodes = {n["metadata"]["name"] for n in objects["Node"]}
        for pod in objects["Pod"]:
            assert pod["spec"]["nodeName"] in nodes, pod["metadata"]["name"]
        for pvc in objects.get("PersistentVolumeClaim", []):
            pv = next(v for v in objects["PersistentVolume"] if v["metadata"]["name"] == pvc["spec"]["volumeName"])
            assert pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"]


def test_deploy_history_and_scaling_events_are_there(demo_world):
    objects, _, _ = read_snapshot_dir(demo_world.kubernetes["gke-ml"])
    revisions = sorted(
        (rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
         rs["spec"]["template"]["spec"]["containers"][0]["image"])
        for rs in objects["ReplicaSet"] if rs["metadata"]["ownerReferences"][0]["name"] == "eval-controller")
    assert revisions == [("7", "acme/eval-controller:v1.7.2"), ("8", "acme/eval-controller:v1.8.0")]
    harness = next(j for j in objects["Job"] if j["metadata"]["name"] == "eval-harness")
    assert harness["spec"]["parallelism"] == 6
    reasons = {e["reason"] for e in objects["Event"]}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "TriggeredScaleUp", "ScaledUpGroup"} <= reasons
    gpu_nodes = [n for n in objects["Node"] if n["metadata"]["labels"]["cloud.google.com/gke-nodepool"] == "gpu-l4"]
    assert len(gpu_nodes) == 6
    eks, _, _ = read_snapshot_dir(demo_world.kubernetes["eks-prod"])
    cron = {c["metadata"]["name"]: c["spec"]["schedule"] for c in eks["CronJob"]}
    assert cron["cache-warmer"] == "* * * * *" and cron["nightly-report"] == "0 2 * * *"
    backfill = next(j for j in eks["Job"] if j["metadata"]["name"] == "backfill-orders")
    assert backfill["status"]["failed"] > 400 and backfill["spec"]["backoffLimit"] == 1000
    assert eks["HorizontalPodAutoscaler"][0]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
