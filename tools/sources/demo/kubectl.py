"""Write each cluster's final snapshot as ``kubectl get <kind> -A -o json`` List files.

One folder per cluster (``kubernetes/<cluster>/``), one file per kind (``pods.json``,
``replicasets.json``, ...), streamed item by item. The snapshot is taken at the end of the
data: running pods, the last ``successfulJobsHistoryLimit`` Jobs of every CronJob with their
completed pods, every ReplicaSet revision (deploy history), and the events that tell the
stories (rollouts, Job pod creation, cluster-autoscaler scale-ups, HPA rescales).
"""

from __future__ import annotations

import json
from collections import deque
from datetime import timedelta
from pathlib import Path

from tools.sources.demo import kube_objects as ko
from tools.sources.demo.model import World
from tools.sources.demo.pods import iter_jobs, iter_pods, revisions

FILES = {
    "Namespace": "namespaces.json", "Node": "nodes.json", "Pod": "pods.json", "ReplicaSet": "replicasets.json",
    "Deployment": "deployments.json", "StatefulSet": "statefulsets.json", "DaemonSet": "daemonsets.json",
    "Job": "jobs.json", "CronJob": "cronjobs.json", "PersistentVolumeClaim": "pvcs.json",
    "PersistentVolume": "pvs.json", "StorageClass": "storageclasses.json", "Service": "services.json",
    "HorizontalPodAutoscaler": "hpas.json", "Event": "events.json",
}


class ListWriter:
    """Streams a ``{"apiVersion": "v1", "kind": "List", "items": [...]}`` document."""

    def __init__(self, path: Path):
        self.handle = path.open("w")
        self.handle.write('{\n    "apiVersion": "v1",\n    "items": [\n')
        self.count = 0

    def add(self, item: dict) -> None:
        if self.count:
            self.handle.write(",\n")
        self.handle.write("        " + json.dumps(item, sort_keys=True, separators=(", ", ": ")))
        self.count += 1

    def close(self) -> None:
        self.handle.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
        self.handle.close()


def write_snapshots(world: World, out_dir: Path) -> dict[str, Path]:
    """Write every cluster's List files; returns {cluster: folder}."""
    folders = {}
    for c in world.clusters:
        folder = out_dir / c.name
        folder.mkdir(parents=True, exist_ok=True)
        writers = {kind: ListWriter(folder / name) for kind, name in FILES.items()}
        try:
            _write_cluster(world, c, writers)
        finally:
            for w in writers.values():
                w.close()
        folders[c.name] = folder
    return folders


def _write_cluster(world: World, c, out: dict[str, ListWriter]) -> None:
    spec, hours = world.spec, world.spec.hours
    for ns in world.of(world.namespaces, c.name):
        out["Namespace"].add(ko.namespace_obj(ns))
    pools = {p.name: p for p in world.of(world.pools, c.name)}
    for n in world.of(world.nodes, c.name):
        if n.end_h >= hours:
            out["Node"].add(ko.node_obj(c, pools[n.pool], n))
    events: list[dict] = []
    for w in world.of(world.workloads, c.name):
        if w.end_h < hours:
            continue
        _pods_of(world, w, out["Pod"])
        if w.kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob"):
            out[w.kind].add(ko.workload_obj(w))
        if w.kind == "Deployment":
            for rs in ko.replicaset_objs(w):
                out["ReplicaSet"].add(rs)
            events += _rollout_events(world, w)
        if w.kind in ("Job", "CronJob"):
            for job in _visible_jobs(world, w):
                out["Job"].add(ko.job_obj(w, job, hours))
                events += _job_events(world, w, job)
        if w.hpa:
            out["HorizontalPodAutoscaler"].add(ko.hpa_obj(w))
            at = spec.at(hours - 30)
            events.append(ko.event_obj(c.name, w.namespace, "HorizontalPodAutoscaler", w.name, "SuccessfulRescale",
                                       f"New size: {w.hpa['current']}; reason: cpu resource utilization "
                                       f"(percentage of request) above target", at, at))
    for sc in world.of(world.storage_classes, c.name):
        out["StorageClass"].add(ko.storage_class_obj(sc, c.created))
    classes = {s.name: s for s in world.of(world.storage_classes, c.name)}
    for v in world.of(world.volumes, c.name):
        size = v.size_at(hours - 1)
        out["PersistentVolume"].add(ko.pv_obj(c, v, classes[v.storage_class], size))
        if v.claim:
            out["PersistentVolumeClaim"].add(ko.pvc_obj(c, v, size))
    for s in world.of(world.services, c.name):
        out["Service"].add(ko.service_obj(s, c.created + timedelta(days=7)))
    for n in world.of(world.nodes, c.name):
        if 0 <= n.start_h < hours:
            events.append(ko.event_obj(c.name, "default", "Node", n.name, "RegisteredNode",
                                       f"Node {n.name} event: Registered Node {n.name} in Controller",
                                       n.created, n.created))
            events.append(ko.event_obj(c.name, "kube-system", "ConfigMap", "cluster-autoscaler-status",
                                       "ScaledUpGroup", f"Scale-up: setting group {n.pool} size up by 1 "
                                       f"(max: {pools[n.pool].autoscaling.get('max', '')})", n.created, n.created,
                                       component="cluster-autoscaler"))
    for ev in sorted(events, key=lambda e: (e["firstTimestamp"], e["metadata"]["name"])):
        out["Event"].add(ev)


def _pods_of(world: World, w, out: ListWriter) -> None:
    """Running pods, plus the completed pods of the Jobs the snapshot still shows."""
    hours = world.spec.hours
    recent: deque = deque(maxlen=6)
    for p in iter_pods(world, w, hours):
        if p.end_h >= hours and p.phase == "Running":
            out.add(ko.pod_obj(p, world.spec.end, None))
        elif p.job is not None and p.end_h > hours - 24 * 7:
            recent.append(p)
    keep = {j.name for j in _visible_jobs(world, w)} if w.kind in ("Job", "CronJob") else set()
    for p in recent:
        if p.job.name in keep:
            out.add(ko.pod_obj(p, world.spec.end, world.spec.at(p.end_h)))


def _visible_jobs(world: World, w) -> list:
    hours = world.spec.hours
    if w.kind == "Job":
        return list(iter_jobs(world, w, hours))
    last: deque = deque(maxlen=w.job.history_limit + 1)
    for j in iter_jobs(world, w, hours):
        last.append(j)
    jobs = list(last)
    done = [j for j in jobs if j.completion_time]
    return done[-w.job.history_limit:] + [j for j in jobs if not j.completion_time]


def _rollout_events(world: World, w) -> list[dict]:
    spec, hours = world.spec, world.spec.hours
    revs = revisions(w)
    events = []
    for i, rev in enumerate(revs):
        if not 0 <= rev.hour < hours:
            continue
        at = spec.at(rev.hour)
        new = ko.replicaset_objs(w)[i]["metadata"]["name"]
        events.append(ko.event_obj(w.cluster, w.namespace, "Deployment", w.name, "ScalingReplicaSet",
                                   f"Scaled up replica set {new} to {w.replicas}", at, at))
        if i:
            old = ko.replicaset_objs(w)[i - 1]["metadata"]["name"]
            later = at + timedelta(minutes=2)
            events.append(ko.event_obj(w.cluster, w.namespace, "Deployment", w.name, "ScalingReplicaSet",
                                       f"Scaled down replica set {old} to 0 from {w.replicas}", later, later))
    return events


def _job_events(world: World, w, job) -> list[dict]:
    spec, hours = world.spec, world.spec.hours
    c = w.cluster
    events = []
    if job.cronjob:
        events.append(ko.event_obj(c, w.namespace, "CronJob", w.name, "SuccessfulCreate",
                                   f"Created job {job.name}", job.created, job.created))
        if job.completion_time:
            events.append(ko.event_obj(c, w.namespace, "CronJob", w.name, "SawCompletedJob",
                                       f"Saw completed job: {job.name}, status: Complete",
                                       job.completion_time, job.completion_time))
        return events
    if w.special == "retry_loop":
        first = spec.at(max(job.start_h, 0))
        events.append(ko.event_obj(c, w.namespace, "Job", job.name, "SuccessfulCreate",
                                   f"Created pod: {job.name}-attempt", job.created, spec.at(hours - 1),
                                   count=job.failed + job.active))
        events.append(ko.event_obj(c, w.namespace, "Job", job.name, "BackoffLimitNotReached",
                                   f"Job has failed {job.failed} times (backoffLimit {job.backoff_limit})",
                                   first, spec.at(hours - 1), count=job.failed, type_="Warning",
                                   component="job-controller"))
        return events
    for change_h, value in job.parallelism_changes:
        if not 0 <= change_h < hours:
            continue
        at = spec.at(change_h)
        for p in iter_pods(world, w, hours):
            if p.start_h == change_h and p.job is not None and p.job.name == job.name:
                events.append(ko.event_obj(c, w.namespace, "Job", job.name, "SuccessfulCreate",
                                           f"Created pod: {p.name}", at, at))
                events.append(ko.event_obj(c, w.namespace, "Pod", p.name, "TriggeredScaleUp",
                                           f"pod triggered scale-up: [{{{w.pool} "
                                           f"{job.parallelism}->{value} (max: 8)}}]", at, at))
    return events
