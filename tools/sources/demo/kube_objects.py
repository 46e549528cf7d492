"""Kubernetes JSON objects, as ``kubectl get -o json`` prints them, for the demo's snapshot."""

from __future__ import annotations

from datetime import datetime

from tools.sources.demo.model import Cluster, Container, Namespace, Node, NodePool, Service, StorageClass, Volume, \
    Workload
from tools.sources.demo.pods import JobRun, PodRun, digest, make_uid, rs_name, revisions


def ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def cpu_q(cores: float) -> str:
    milli = round(cores * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def mem_q(value: float) -> str:
    value = int(value)
    for unit, size in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def meta(name: str, namespace: str | None, created: datetime, *, cluster: str, kind: str,
         labels: dict | None = None, annotations: dict | None = None, owner: tuple[str, str, str] | None = None,
         uid: str | None = None) -> dict:
    m: dict = {"name": name, "uid": uid or make_uid(cluster, kind, namespace, name),
               "creationTimestamp": ts(created), "resourceVersion": str(int.from_bytes(digest(name)[:3], "big"))}
    if namespace is not None:
        m["namespace"] = namespace
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if owner:
        kind_, name_, api = owner
        m["ownerReferences"] = [{"apiVersion": api, "kind": kind_, "name": name_, "controller": True,
                                 "blockOwnerDeletion": True, "uid": make_uid(cluster, kind_, namespace, name_)}]
    return m


def container_spec(c: Container, image: str | None = None, env: dict[str, str] | None = None) -> dict:
    requests = {"cpu": cpu_q(c.cpu_request), "memory": mem_q(c.memory_request)}
    limits = {}
    if c.cpu_limit:
        limits["cpu"] = cpu_q(c.cpu_limit)
    if c.memory_limit:
        limits["memory"] = mem_q(c.memory_limit)
    if c.gpu:
        requests["nvidia.com/gpu"] = str(c.gpu)
        limits["nvidia.com/gpu"] = str(c.gpu)
    spec = {"name": c.name, "image": image or c.image, "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": requests, "limits": limits}}
    if env:
        spec["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    return spec


def _image(c: Container, tag: str | None) -> str:
    if tag and ":" not in c.image:
        return f"{c.image}:{tag}"
    return c.image


def pod_template(w: Workload, tag: str | None = None, env: dict | None = None, extra_labels: dict | None = None,
                 claims: list[tuple[str, str]] | None = None) -> dict:
    labels = {"app.kubernetes.io/name": w.name, **w.labels, **(extra_labels or {})}
    spec: dict = {"containers": [container_spec(c, _image(c, tag), env) for c in w.containers],
                  "restartPolicy": "Always" if w.kind not in ("Job", "CronJob") else ("Never" if w.special else "OnFailure"),
                  "terminationGracePeriodSeconds": 30}
    if w.tolerations:
        spec["tolerations"] = w.tolerations
    if w.node_selector:
        spec["nodeSelector"] = w.node_selector
    if claims:
        spec["volumes"] = [{"name": v, "persistentVolumeClaim": {"claimName": pvc}} for v, pvc in claims]
    return {"metadata": {"labels": labels}, "spec": spec}


def namespace_obj(ns: Namespace) -> dict:
    labels = {"kubernetes.io/metadata.name": ns.name, **ns.labels}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(ns.name, None, ns.created, cluster=ns.cluster, kind="Namespace", labels=labels),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def node_obj(c: Cluster, pool: NodePool, n: Node) -> dict:
    it = pool.instance
    labels = {"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "node.kubernetes.io/instance-type": it.name, "topology.kubernetes.io/region": c.region,
              "topology.kubernetes.io/zone": n.zone}
    if c.provider == "gcp":
        labels["cloud.google.com/gke-nodepool"] = pool.name
        labels["cloud.google.com/machine-family"] = it.name.split("-")[0]
    elif c.provider == "azure":
        labels["kubernetes.azure.com/agentpool"] = pool.name
        labels["agentpool"] = pool.name
        labels["kubernetes.azure.com/cluster"] = c.node_resource_group
    labels.update(pool.labels)
    capacity = {"cpu": str(int(it.cpu)), "memory": f"{int(it.memory_gib * 1024 * 1024 * 0.985)}Ki",
                "pods": "110", "ephemeral-storage": "104845292Ki"}
    allocatable = {"cpu": cpu_q(it.cpu_allocatable), "memory": f"{int(it.memory_allocatable // 1024)}Ki",
                   "pods": "110", "ephemeral-storage": "93478772582"}
    if it.gpu:
        capacity["nvidia.com/gpu"] = allocatable["nvidia.com/gpu"] = str(it.gpu)
        labels["nvidia.com/gpu.product"] = it.gpu_model
    spec: dict = {"providerID": n.provider_id}
    if pool.taints:
        spec["taints"] = pool.taints
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": meta(n.name, None, n.created, cluster=c.name, kind="Node", labels=labels,
                             annotations={"node.alpha.kubernetes.io/ttl": "0", **pool.annotations}),
            "spec": spec,
            "status": {"capacity": capacity, "allocatable": allocatable,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastTransitionTime": ts(n.created)}],
                       "nodeInfo": {"kubeletVersion": "v1.30.5", "containerRuntimeVersion": "containerd://1.7.22",
                                    "osImage": "Linux", "architecture": "amd64", "operatingSystem": "linux"}}}


def pod_obj(p: PodRun, at: datetime, ended: datetime | None) -> dict:
    w = p.workload
    api = {"ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1"}
    tag = p.revision.image_tag if p.revision else None
    env = p.revision.env if p.revision else None
    claims = [(pvc.rsplit("-" + w.name, 1)[0], pvc) for pvc in p.pvcs]
    template = pod_template(w, tag, env, claims=claims)
    spec = dict(template["spec"], nodeName=p.node, serviceAccountName="default")
    statuses = []
    for c in w.containers:
        st: dict = {"name": c.name, "image": _image(c, tag), "ready": p.phase == "Running",
                    "restartCount": 0, "started": p.phase == "Running"}
        if p.phase == "Running":
            st["state"] = {"running": {"startedAt": ts(p.created)}}
        else:
            st["state"] = {"terminated": {"exitCode": 0 if p.phase == "Succeeded" else 1,
                                          "reason": "Completed" if p.phase == "Succeeded" else "Error",
                                          "startedAt": ts(p.created), "finishedAt": ts(ended or at)}}
        statuses.append(st)
    ip = digest("ip", p.key)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(p.name, p.namespace, p.created, cluster=w.cluster, kind="Pod", labels=p.labels,
                             owner=(p.owner_kind, p.owner_name, api[p.owner_kind]), uid=p.uid),
            "spec": spec,
            "status": {"phase": p.phase, "startTime": ts(p.created), "podIP": f"10.{ip[0] % 64 + 64}.{ip[1]}.{ip[2]}",
                       "qosClass": "Burstable", "containerStatuses": statuses,
                       "conditions": [{"type": "Ready", "status": "True" if p.phase == "Running" else "False"}]}}


def replicaset_objs(w: Workload) -> list[dict]:
    revs = revisions(w)
    out = []
    for i, rev in enumerate(revs):
        current = i == len(revs) - 1
        name = rs_name(w, rev)
        tmpl = pod_template(w, rev.image_tag, rev.env, {"pod-template-hash": name.rsplit("-", 1)[1]})
        replicas = w.replicas if current else 0
        out.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": meta(name, w.namespace, rev.created, cluster=w.cluster, kind="ReplicaSet",
                                     labels=tmpl["metadata"]["labels"], owner=("Deployment", w.name, "apps/v1"),
                                     annotations={"deployment.kubernetes.io/revision": str(rev.number),
                                                  "deployment.kubernetes.io/desired-replicas": str(w.replicas),
                                                  "deployment.kubernetes.io/max-replicas": str(w.replicas + 1)}),
                    "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": w.name}},
                             "template": tmpl},
                    "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                               "observedGeneration": 1}})
    return out


def workload_obj(w: Workload) -> dict:
    """Deployment, StatefulSet, DaemonSet or CronJob object for `w`."""
    labels = {"app.kubernetes.io/name": w.name, **w.labels}
    selector = {"matchLabels": {"app.kubernetes.io/name": w.name}}
    m = meta(w.name, w.namespace, w.created, cluster=w.cluster, kind=w.kind, labels=labels)
    if w.kind == "Deployment":
        rev = revisions(w)[-1]
        m["annotations"] = {"deployment.kubernetes.io/revision": str(rev.number)}
        m["generation"] = rev.number
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m,
                "spec": {"replicas": w.replicas, "selector": selector, "revisionHistoryLimit": 10,
                         "strategy": {"type": "RollingUpdate"}, "template": pod_template(w, rev.image_tag, rev.env)},
                "status": {"replicas": w.replicas, "readyReplicas": w.replicas, "availableReplicas": w.replicas,
                           "updatedReplicas": w.replicas, "observedGeneration": rev.number}}
    if w.kind == "StatefulSet":
        claims = [{"metadata": {"name": c}, "spec": {"accessModes": ["ReadWriteOnce"]}} for c in w.volume_claims]
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": m,
                "spec": {"replicas": w.replicas, "selector": selector, "serviceName": w.name,
                         "template": pod_template(w, claims=[(c, c) for c in w.volume_claims]),
                         "volumeClaimTemplates": claims},
                "status": {"replicas": w.replicas, "readyReplicas": w.replicas, "currentReplicas": w.replicas}}
    if w.kind == "DaemonSet":
        return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": m,
                "spec": {"selector": selector, "template": pod_template(w)}, "status": {}}
    plan = w.job
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": m,
            "spec": {"schedule": plan.schedule, "concurrencyPolicy": plan.concurrency_policy, "suspend": False,
                     "successfulJobsHistoryLimit": plan.history_limit, "failedJobsHistoryLimit": 1,
                     "jobTemplate": {"spec": {"backoffLimit": plan.backoff_limit, "parallelism": plan.parallelism,
                                              "completions": plan.completions, "template": pod_template(w)}}},
            "status": {}}


def job_obj(w: Workload, j: JobRun, hours: int) -> dict:
    labels = {"app.kubernetes.io/name": w.name, **w.labels, "job-name": j.name}
    owner = ("CronJob", j.cronjob, "batch/v1") if j.cronjob else None
    status: dict = {"startTime": ts(j.start_time), "succeeded": j.succeeded, "failed": j.failed,
                    "active": j.active}
    if j.completion_time:
        status["completionTime"] = ts(j.completion_time)
        status["conditions"] = [{"type": "Complete", "status": "True", "lastTransitionTime": ts(j.completion_time)}]
    spec = {"parallelism": j.parallelism_at(hours - 1), "backoffLimit": j.backoff_limit,
            "template": pod_template(w, extra_labels={"job-name": j.name})}
    if j.completions is not None:
        spec["completions"] = j.completions
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": meta(j.name, w.namespace, j.created, cluster=w.cluster, kind="Job", labels=labels, owner=owner),
            "spec": spec, "status": status}


def storage_class_obj(sc: StorageClass, created: datetime) -> dict:
    ann = {"storageclass.kubernetes.io/is-default-class": "true"} if sc.default else {}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": meta(sc.name, None, created, cluster=sc.cluster, kind="StorageClass", annotations=ann),
            "provisioner": sc.provisioner, "parameters": sc.parameters, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True}


def pv_obj(c: Cluster, v: Volume, sc: StorageClass, size_gib: float) -> dict:
    handle = {"aws": v.volume_id, "gcp": v.volume_id,
              "azure": (f"/subscriptions/{c.account_id}/resourceGroups/{c.node_resource_group}/providers/"
                        f"Microsoft.Compute/disks/{v.disk_name}")}[c.provider]
    spec: dict = {"capacity": {"storage": f"{int(size_gib)}Gi"}, "accessModes": ["ReadWriteOnce"],
                  "persistentVolumeReclaimPolicy": v.reclaim_policy, "storageClassName": sc.name,
                  "volumeMode": "Filesystem", "csi": {"driver": sc.provisioner, "volumeHandle": handle,
                                                      "fsType": "ext4"}}
    claim = v.claim or v.former_claim
    if claim:
        spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": claim[0], "name": claim[1],
                            "uid": make_uid(c.name, "PersistentVolumeClaim", claim[0], claim[1])}
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": meta(v.pv, None, v.created, cluster=c.name, kind="PersistentVolume",
                             annotations={"pv.kubernetes.io/provisioned-by": sc.provisioner}),
            "spec": spec, "status": {"phase": v.phase}}


def pvc_obj(c: Cluster, v: Volume, size_gib: float) -> dict:
    ns, name = v.claim
    size = f"{int(size_gib)}Gi"
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": meta(name, ns, v.created, cluster=c.name, kind="PersistentVolumeClaim",
                             annotations={"pv.kubernetes.io/bind-completed": "yes"}),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                     "storageClassName": v.storage_class, "volumeName": v.pv, "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"]}}


def service_obj(s: Service, created: datetime) -> dict:
    spec: dict = {"type": s.type, "selector": s.selector,
                  "ports": [{"name": f"p{p}", "port": p, "protocol": "TCP", "targetPort": p} for p in s.ports]}
    status: dict = {}
    if s.type == "LoadBalancer":
        key = "hostname" if s.lb_ingress[0].isalpha() else "ip"
        status = {"loadBalancer": {"ingress": [{key: s.lb_ingress}]}}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": meta(s.name, s.namespace, created, cluster=s.cluster, kind="Service"),
            "spec": spec, "status": status}


def hpa_obj(w: Workload) -> dict:
    h = w.hpa
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta(w.name, w.namespace, w.created, cluster=w.cluster, kind="HorizontalPodAutoscaler"),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": w.kind, "name": w.name},
                     "minReplicas": h["min"], "maxReplicas": h["max"],
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": h["target_cpu"]}}}]},
            "status": {"currentReplicas": h["current"], "desiredReplicas": h["current"]}}


def event_obj(cluster: str, namespace: str, kind: str, name: str, reason: str, message: str, first: datetime,
              last: datetime, count: int = 1, type_: str = "Normal", component: str = "") -> dict:
    ev_name = f"{name}.{digest(cluster, namespace, kind, name, reason, first).hex()[:16]}"
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": ev_name, "namespace": namespace, "creationTimestamp": ts(first),
                         "uid": make_uid(cluster, "Event", namespace, ev_name)},
            "involvedObject": {"kind": kind, "name": name, "namespace": namespace,
                               "apiVersion": "batch/v1" if kind in ("Job", "CronJob") else "apps/v1" if kind in (
                                   "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") else "v1"},
            "reason": reason, "message": message, "type": type_, "count": count,
            "firstTimestamp": ts(first), "lastTimestamp": ts(last),
            "source": {"component": component or _component(reason)}, "reportingComponent": component or _component(reason)}


def _component(reason: str) -> str:
    return {"ScalingReplicaSet": "deployment-controller", "SuccessfulCreate": "job-controller",
            "SawCompletedJob": "cronjob-controller", "SuccessfulRescale": "horizontal-pod-autoscaler",
            "TriggeredScaleUp": "cluster-autoscaler", "RegisteredNode": "node-controller",
            "BackOff": "kubelet", "ScaledUpGroup": "cluster-autoscaler"}.get(reason, "kubelet")
