"""Write one OpenMetrics file per cluster with the metric catalogue's series.

Sample timing (the contract in the cross-cutting rules): one sample per series and hour at
``H + 30min``; counters are cumulative, named ``<family>_total``, and every counter series
also gets a ``0`` sample at its first hour's start ``H0 + 0s``. Every series carries a
``cluster`` label, timestamps are in seconds, families are contiguous with a ``# TYPE`` line
and the file ends with ``# EOF``, so both prometheus_client's OpenMetrics parser and
``promtool tsdb create-blocks-from openmetrics`` read it.

Pod limits, pod and namespace creation times come from the kubectl snapshot (they are not
repeated hourly here). Writing is one pass over the world: each family's lines go to its own temporary file (series
by series, hours in order), and the families are concatenated at the end. Memory stays
bounded whatever the number of pods.

With ``compress=True`` the file is ``<cluster>.om.gz``: every temporary file is already a gzip
stream (level 1), and the result is the concatenation of those streams (a multi-member gzip
file, which gzip, Python and DuckDB all read as one text), so a world larger than the disk's free
space as plain text can still be written.
"""

from __future__ import annotations

import gzip
import multiprocessing
import re
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from itertools import repeat
from pathlib import Path

from tools.sources.demo.model import GIB, World
from tools.sources.demo.pods import iter_jobs, iter_pods, revisions, rs_name, _shards_done
from tools.sources.demo.spec import WorldSpec
from tools.sources.demo.usage import cpu_cores, log_bytes, memory_bytes, network_bytes
from tools.sources.metric_catalogue import CATALOGUE

EPOCH = datetime(1970, 1, 1)
# kube-state-metrics exposes pod labels only through --metric-labels-allowlist; the demo's
# allowlist is the owner keys (DESIGN.md rule 7) and the app name.
POD_LABELS_ALLOWLIST = frozenset({"owner", "team", "service", "env", "cost_center", "workload_type",
                                  "app.kubernetes.io/name"})
COUNTERS = {m.name for m in CATALOGUE if m.type == "counter"}
ORDER = [m.name for m in CATALOGUE]


def family_of(metric: str) -> str:
    return metric[: -len("_total")] if metric in COUNTERS else metric


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _label_key(key: str) -> str:
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


class Families:
    """One temporary file per metric; ``finish`` concatenates them in catalogue order."""

    def __init__(self, tmp: Path, cluster: str, base_ts: int, compress: bool = False):
        self.tmp, self.cluster, self.base, self.compress = tmp, cluster, base_ts, compress
        self.files: dict[str, object] = {}

    def _file(self, metric: str):
        f = self.files.get(metric)
        if f is None:
            path = self.tmp / metric
            f = gzip.open(path, "wt", compresslevel=1) if self.compress else path.open("w")
            self.files[metric] = f
        return f

    def _prefix(self, metric: str, labels: dict) -> str:
        inner = ",".join(f'{k}="{_esc(v)}"' for k, v in {"cluster": self.cluster, **labels}.items())
        return f"{metric}{{{inner}}} "

    def gauge(self, metric: str, labels: dict, hours: range, values=None, constant: float = 1.0) -> None:
        """One sample per hour at H+30min; `values` iterates with `hours`, else `constant`."""
        if not hours:
            return
        prefix, base = self._prefix(metric, labels), self.base + 1800
        if values is None:
            v = _num(constant)
            lines = [f"{prefix}{v} {base + 3600 * h}\n" for h in hours]
        else:
            lines = [f"{prefix}{_num(v)} {base + 3600 * h}\n" for h, v in zip(hours, values)]
        self._file(metric).write("".join(lines))

    def counter(self, metric: str, labels: dict, hours: range, increases) -> None:
        """Cumulative samples: 0 at the first hour's start, then the running sum at H+30min."""
        if not hours:
            return
        prefix, base = self._prefix(metric, labels), self.base + 1800
        total = 0.0
        lines = [f"{prefix}0 {self.base + 3600 * hours[0]}\n"]
        for h, inc in zip(hours, increases):
            total += inc
            lines.append(f"{prefix}{_num(round(total, 6))} {base + 3600 * h}\n")
        self._file(metric).write("".join(lines))

    def finish(self, path: Path) -> None:
        """Concatenate the families in catalogue order, each after its metadata, then ``# EOF``."""
        encode = (lambda text: gzip.compress(text.encode(), compresslevel=1)) if self.compress else str.encode
        with path.open("wb") as out:
            for metric in ORDER:
                f = self.files.get(metric)
                if f is None:
                    continue
                f.close()
                family = family_of(metric)
                kind = "counter" if metric in COUNTERS else "gauge"
                out.write(encode(f"# HELP {family} {metric} from the allot demo world.\n# TYPE {family} {kind}\n"))
                with (self.tmp / metric).open("rb") as src:
                    shutil.copyfileobj(src, out)
            out.write(encode("# EOF\n"))


def write_openmetrics(world: World, out_dir: Path, compress: bool = False, processes: int = 1) -> dict[str, Path]:
    """Write ``<cluster>.om`` (``.om.gz`` with ``compress``) for every cluster; returns {cluster: path}.

    With ``processes`` > 1 the clusters are written by that many worker processes at once, each
    building the world again from its spec (a pure function of it, so the files are the same
    bytes as written one after the other).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [c.name for c in world.clusters]
    workers = min(processes, len(names))
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            paths = list(pool.map(_write_spec_cluster, repeat(world.spec), names, repeat(out_dir), repeat(compress)))
    else:
        paths = [_write_cluster(world, c, out_dir, compress) for c in world.clusters]
    return dict(zip(names, paths))


def _write_spec_cluster(spec: WorldSpec, name: str, out_dir: Path, compress: bool) -> Path:
    """A worker process's part: one cluster of the world ``spec`` describes."""
    from tools.sources.demo.estate import build_world

    world = build_world(spec)
    return _write_cluster(world, next(c for c in world.clusters if c.name == name), out_dir, compress)


def _write_cluster(world: World, c, out_dir: Path, compress: bool) -> Path:
    base = int((world.spec.start - EPOCH).total_seconds())
    with tempfile.TemporaryDirectory(prefix=f"allot-om-{c.name}-") as tmp:
        fam = Families(Path(tmp), c.name, base, compress)
        _nodes(world, c, fam)
        _namespaces(world, c, fam)
        _workloads(world, c, fam)
        _storage(world, c, fam)
        _gpus(world, c, fam)
        path = out_dir / (f"{c.name}.om.gz" if compress else f"{c.name}.om")
        fam.finish(path)
    return path


def _span(start: int, end: int, hours: int) -> range:
    return range(max(0, start), min(end, hours))


def _nodes(world: World, c, fam: Families) -> None:
    hours = world.spec.hours
    pools = {p.name: p for p in world.of(world.pools, c.name)}
    from tools.sources.demo.kube_objects import node_obj
    for n in world.of(world.nodes, c.name):
        r = _span(n.start_h, n.end_h, hours)
        it = pools[n.pool].instance
        fam.gauge("kube_node_info", {"node": n.name, "provider_id": n.provider_id, "kubelet_version": "v1.30.5",
                                     "container_runtime_version": "containerd://1.7.22"}, r)
        labels = node_obj(c, pools[n.pool], n)["metadata"]["labels"]
        fam.gauge("kube_node_labels", {"node": n.name, **{_label_key(k): v for k, v in sorted(labels.items())}}, r)
        fam.gauge("kube_node_status_allocatable", {"node": n.name, "resource": "cpu", "unit": "core"}, r,
                  constant=it.cpu_allocatable)
        fam.gauge("kube_node_status_allocatable", {"node": n.name, "resource": "memory", "unit": "byte"}, r,
                  constant=it.memory_allocatable)
        if it.gpu:
            fam.gauge("kube_node_status_allocatable", {"node": n.name, "resource": "nvidia_com_gpu",
                                                       "unit": "integer"}, r, constant=it.gpu)


def _namespaces(world: World, c, fam: Families) -> None:
    spec = world.spec
    r = range(spec.hours)
    for ns in world.of(world.namespaces, c.name):
        labels = {"kubernetes.io/metadata.name": ns.name, **ns.labels}
        fam.gauge("kube_namespace_labels", {"namespace": ns.name,
                                            **{_label_key(k): v for k, v in sorted(labels.items())}}, r)
        fam.counter("loki_distributor_bytes_received_total", {"tenant": ns.name}, r,
                    (log_bytes(spec.seed, ns, h) for h in r))


def _workloads(world: World, c, fam: Families) -> None:
    spec, hours = world.spec, world.spec.hours
    for w in world.of(world.workloads, c.name):
        wl = {_label_key(k): v for k, v in sorted({"app.kubernetes.io/name": w.name, **w.labels}.items())}
        life = _span(w.start_h, w.end_h, hours)
        key = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
               "CronJob": "cronjob"}.get(w.kind)
        if key:
            fam.gauge(f"kube_{key}_labels", {"namespace": w.namespace, key: w.name, **wl}, life)
        if w.kind == "Deployment":
            fam.gauge("kube_deployment_spec_replicas", {"namespace": w.namespace, "deployment": w.name}, life,
                      constant=w.replicas)
            for rev in revisions(w):
                fam.gauge("kube_replicaset_owner", {"namespace": w.namespace, "replicaset": rs_name(w, rev),
                                                    "owner_kind": "Deployment", "owner_name": w.name,
                                                    "owner_is_controller": "true"},
                          _span(max(rev.hour, w.start_h), w.end_h, hours))
        elif w.kind == "StatefulSet":
            fam.gauge("kube_statefulset_replicas", {"namespace": w.namespace, "statefulset": w.name}, life,
                      constant=w.replicas)
        elif w.kind == "CronJob":
            ns = {"namespace": w.namespace, "cronjob": w.name}
            fam.gauge("kube_cronjob_info", {**ns, "schedule": w.job.schedule,
                                            "concurrency_policy": w.job.concurrency_policy}, life)
            fam.gauge("kube_cronjob_created", ns, life, constant=(w.created - EPOCH).total_seconds())
            fam.gauge("kube_cronjob_spec_suspend", ns, life, constant=0)
        if w.hpa:
            h = {"namespace": w.namespace, "horizontalpodautoscaler": w.name}
            fam.gauge("kube_horizontalpodautoscaler_info", {**h, "scaletargetref_kind": w.kind,
                                                            "scaletargetref_name": w.name}, life)
            for metric, value in (("spec_min_replicas", w.hpa["min"]), ("spec_max_replicas", w.hpa["max"]),
                                  ("status_current_replicas", w.hpa["current"]),
                                  ("status_desired_replicas", w.hpa["current"])):
                fam.gauge(f"kube_horizontalpodautoscaler_{metric}", h, life, constant=value)
            fam.gauge("kube_horizontalpodautoscaler_spec_target_metric",
                      {**h, "metric_name": "cpu", "metric_target_type": "utilization"}, life,
                      constant=w.hpa["target_cpu"])
        if w.kind in ("Job", "CronJob"):
            for job in iter_jobs(world, w, hours):
                _job(world, w, job, fam, wl)
        for p in iter_pods(world, w, hours):
            _pod(world, p, fam)


def _job(world: World, w, job, fam: Families, wl: dict) -> None:
    spec, hours = world.spec, world.spec.hours
    visible = _span(job.start_h, job.end_h + 1, hours)
    j = {"namespace": w.namespace, "job_name": job.name}
    if job.cronjob:
        fam.gauge("kube_job_owner", {**j, "owner_kind": "CronJob", "owner_name": job.cronjob,
                                     "owner_is_controller": "true"}, visible)
    else:
        fam.gauge("kube_job_owner", {**j, "owner_kind": "", "owner_name": "", "owner_is_controller": ""}, visible)
    fam.gauge("kube_job_labels", {**j, **wl}, visible)
    fam.gauge("kube_job_created", j, visible, constant=(job.created - EPOCH).total_seconds())
    fam.gauge("kube_job_status_start_time", j, visible, constant=(job.start_time - EPOCH).total_seconds())
    fam.gauge("kube_job_spec_parallelism", j, visible, [job.parallelism_at(h) for h in visible])
    if job.completions is not None:
        fam.gauge("kube_job_spec_completions", j, visible, constant=job.completions)
    done = [job.completion_time is not None and h >= job.end_h for h in visible]
    if job.completion_time is not None:
        after = range(max(job.end_h, 0), min(job.end_h + 1, hours))
        fam.gauge("kube_job_status_completion_time", j, after,
                  constant=(job.completion_time - EPOCH).total_seconds())
    if w.kind == "Job" and not w.special:
        succeeded = [_shards_done(w, h) for h in visible]
        active = [job.parallelism_at(h) for h in visible]
    else:
        succeeded = [job.succeeded if d else 0 for d in done]
        active = [0 if d else job.parallelism if not w.special else 1 for d in done]
    fam.gauge("kube_job_status_succeeded", j, visible, succeeded)
    fam.gauge("kube_job_status_failed", j, visible, [job.failed_at(h) if w.special == "retry_loop" else 0
                                                     for h in visible])
    fam.gauge("kube_job_status_active", j, visible, active)


def _pod(world: World, p, fam: Families) -> None:
    spec, hours = world.spec, world.spec.hours
    r = _span(p.start_h, p.end_h, hours)
    if not r:
        return
    w = p.workload
    ident = {"namespace": p.namespace, "pod": p.name}
    fam.gauge("kube_pod_info", {**ident, "uid": p.uid, "node": p.node, "created_by_kind": p.owner_kind,
                                "created_by_name": p.owner_name}, r)
    fam.gauge("kube_pod_owner", {**ident, "owner_kind": p.owner_kind, "owner_name": p.owner_name,
                                 "owner_is_controller": "true"}, r)
    allowed = {k: v for k, v in sorted(p.labels.items()) if k in POD_LABELS_ALLOWLIST}
    fam.gauge("kube_pod_labels", {**ident, **{_label_key(k): v for k, v in allowed.items()}}, r)
    fam.gauge("kube_pod_status_phase", {**ident, "phase": "Running"}, r)
    for claim in p.pvcs:
        fam.gauge("kube_pod_spec_volumes_persistentvolumeclaims_info",
                  {**ident, "volume": claim.rsplit("-" + w.name, 1)[0], "persistentvolumeclaim": claim}, r)
    for c in p.containers:
        ci = {**ident, "container": c.name, "node": p.node}
        fam.gauge("kube_pod_container_resource_requests", {**ci, "resource": "cpu", "unit": "core"}, r,
                  constant=c.cpu_request)
        fam.gauge("kube_pod_container_resource_requests", {**ci, "resource": "memory", "unit": "byte"}, r,
                  constant=c.memory_request)
        if c.gpu:
            fam.gauge("kube_pod_container_resource_requests", {**ci, "resource": "nvidia_com_gpu",
                                                               "unit": "integer"}, r, constant=c.gpu)
        image = f"{c.image}:{p.revision.image_tag}" if p.revision and ":" not in c.image else c.image
        cad = {**ident, "container": c.name, "image": image}
        fam.counter("container_cpu_usage_seconds_total", cad, r,
                    (v * 3600 for v in cpu_cores(spec.seed, p.key, c, r.start, r.stop)))
        fam.gauge("container_memory_working_set_bytes", cad, r, memory_bytes(spec.seed, p.key, c, r.start, r.stop))
    fam.counter("container_network_transmit_bytes_total", {**ident, "interface": "eth0"}, r,
                network_bytes(spec.seed, p.key, w.net_bytes_per_hour, r.start, r.stop))


def _storage(world: World, c, fam: Families) -> None:
    spec, hours = world.spec, world.spec.hours
    for v in world.of(world.volumes, c.name):
        start_h = int((v.created - spec.start).total_seconds() // 3600)
        r = _span(start_h, 10_000, hours)
        pv = {"persistentvolume": v.pv}
        fam.gauge("kube_persistentvolume_info", {**pv, "storageclass": v.storage_class,
                                                 "csi_volume_handle": v.volume_id}, r)
        claim = v.claim or v.former_claim
        if claim:
            fam.gauge("kube_persistentvolume_claim_ref", {**pv, "name": claim[1], "claim_namespace": claim[0]}, r)
        fam.gauge("kube_persistentvolume_status_phase", {**pv, "phase": v.phase}, r)
        fam.gauge("kube_persistentvolume_capacity_bytes", pv, r, [v.size_at(h) * GIB for h in r])
        if not v.claim:
            continue
        pvc = {"namespace": v.claim[0], "persistentvolumeclaim": v.claim[1]}
        fam.gauge("kube_persistentvolumeclaim_info", {**pvc, "storageclass": v.storage_class,
                                                      "volumename": v.pv}, r)
        fam.gauge("kube_persistentvolumeclaim_resource_requests_storage_bytes", pvc, r,
                  [v.size_at(h) * GIB for h in r])
        if v.used_gib is not None:
            fam.gauge("kubelet_volume_stats_used_bytes", pvc, r, [float(int(v.used_gib(h) * GIB)) for h in r])
            fam.gauge("kubelet_volume_stats_capacity_bytes", pvc, r, [v.size_at(h) * GIB for h in r])


def _gpus(world: World, c, fam: Families) -> None:
    """DCGM per GPU node and hour, labelled with the pod holding the GPU (as dcgm-exporter does)."""
    spec, hours = world.spec, world.spec.hours
    holders: dict[tuple[str, int], tuple[str, str, str]] = {}
    for w in world.of(world.workloads, c.name):
        if any(ct.gpu for ct in w.containers):
            for p in iter_pods(world, w, hours):
                for h in _span(p.start_h, p.end_h, hours):
                    holders[(p.node, h)] = (p.namespace, p.name, p.containers[0].name)
    for n in world.of(world.nodes, c.name):
        if n.gpu_activity is None:
            continue
        r = _span(n.start_h, n.end_h, hours)
        segments: dict[tuple, list[int]] = {}
        for h in r:
            segments.setdefault(holders.get((n.name, h), ("", "", "")), []).append(h)
        for holder, seg in segments.items():
            labels = {"gpu": "0", "UUID": f"GPU-{n.name[-12:]}", "device": "nvidia0", "modelName": "NVIDIA GPU",
                      "Hostname": n.name, "namespace": holder[0], "pod": holder[1], "container": holder[2]}
            active = [n.gpu_activity(h) for h in seg]
            fam.gauge("DCGM_FI_PROF_GR_ENGINE_ACTIVE", labels, seg, active)
            fam.gauge("DCGM_FI_DEV_GPU_UTIL", labels, seg, [round(a * 100) for a in active])
            fam.gauge("DCGM_FI_DEV_FB_USED", labels, seg, [float(int(a * 18000 + 300)) for a in active])
