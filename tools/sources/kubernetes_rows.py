"""Plain Kubernetes JSON objects -> rows of the state tables (one function per kind).

Each ``*_row`` function takes one object as ``kubectl get -o json`` writes it and returns a
dict of column values. Quantities go through ``kubernetes.utils.parse_quantity`` and become
base units (cores, bytes, GPUs); timestamps become naive UTC. Cloud ids (instance_id,
volume_id, lb_id) are not computed here but by the SQL macros of ``tools.sources.cloud_ids``
from the raw reference each row carries (``provider_id``, ``volume_ref``, ``lb_ingress``).

Defaults follow the API server's: a Job without ``spec.parallelism`` runs 1 pod, without
``spec.backoffLimit`` retries 6 times; absent status counters are 0; an HPA without
``minReplicas`` has 1.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from kubernetes.utils import parse_quantity

from tools.errors import InputError

GPU_RESOURCE = "nvidia.com/gpu"
CLUSTER_SCOPED = frozenset({"Node", "Namespace", "PersistentVolume", "StorageClass"})


def describe(kind: str, obj: dict) -> str:
    """``Pod default/web-1`` for messages."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "<no name>")
    return f"{kind} {ns}/{name}" if ns and kind not in CLUSTER_SCOPED else f"{kind} {name}"


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def quantity(kind: str, obj: dict, field: str, value: Any) -> float | None:
    """A Kubernetes quantity ("500m", "2Gi", "1e3") as a float in base units, None if absent."""
    if value is None or value == "":
        return None
    try:
        return float(parse_quantity(value))
    except (ValueError, TypeError) as err:
        raise InputError(
            f"{describe(kind, obj)}: {field} = {value!r} is not a Kubernetes quantity "
            f"(expected forms like '500m', '2Gi', '1e3'); fix the object or drop it from the dump"
        ) from err


def timestamp(kind: str, obj: dict, field: str, value: Any) -> datetime | None:
    """An RFC 3339 timestamp as naive UTC, None if absent."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as err:
        raise InputError(
            f"{describe(kind, obj)}: {field} = {value!r} is not an RFC 3339 timestamp "
            f"(expected e.g. '2024-05-01T12:00:00Z')"
        ) from err
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def controller_ref(obj: dict) -> tuple[str | None, str | None]:
    """The controlling ownerReference (``controller: true``), else the first one."""
    refs = [r for r in (_dig(obj, "metadata", "ownerReferences") or []) if isinstance(r, dict)]
    if not refs:
        return None, None
    ref = next((r for r in refs if r.get("controller")), refs[0])
    return ref.get("kind"), ref.get("name")


def object_row(kind: str, obj: dict) -> dict:
    """The k8s_objects columns shared by every kind (``raw`` is added by the caller)."""
    meta = obj.get("metadata") or {}
    owner_kind, owner_name = controller_ref(obj)
    return {
        "kind": kind,
        "namespace": "" if kind in CLUSTER_SCOPED else (meta.get("namespace") or "default"),
        "name": meta["name"],
        "uid": meta.get("uid"),
        "created_at": timestamp(kind, obj, "metadata.creationTimestamp", meta.get("creationTimestamp")),
        "labels": _strings(meta.get("labels")),
        "annotations": _strings(meta.get("annotations")),
        "owner_kind": owner_kind,
        "owner_name": owner_name,
    }


def node_row(obj: dict) -> dict:
    alloc = _dig(obj, "status", "allocatable") or {}
    return {
        "provider_id": _dig(obj, "spec", "providerID"),
        "cpu_allocatable": quantity("Node", obj, "status.allocatable.cpu", alloc.get("cpu")),
        "memory_allocatable": quantity("Node", obj, "status.allocatable.memory", alloc.get("memory")),
        "gpu_allocatable": quantity("Node", obj, f"status.allocatable.{GPU_RESOURCE}", alloc.get(GPU_RESOURCE))
        or 0.0,
    }


def pod_row(obj: dict) -> dict:
    return {
        "node": _dig(obj, "spec", "nodeName") or None,
        "phase": _dig(obj, "status", "phase"),
        "pvcs": sorted({
            v["persistentVolumeClaim"]["claimName"]
            for v in (_dig(obj, "spec", "volumes") or [])
            if isinstance(v, dict) and _dig(v, "persistentVolumeClaim", "claimName")
        }),
    }


def pvc_row(obj: dict) -> dict:
    ann = _dig(obj, "metadata", "annotations") or {}
    storage = _dig(obj, "spec", "resources", "requests", "storage")
    return {
        "volume_name": _dig(obj, "spec", "volumeName") or None,
        "storage_class": _dig(obj, "spec", "storageClassName") or ann.get("volume.beta.kubernetes.io/storage-class"),
        "request_bytes": quantity("PersistentVolumeClaim", obj, "spec.resources.requests.storage", storage),
        "phase": _dig(obj, "status", "phase"),
    }


def pv_row(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    ref = (
        _dig(spec, "csi", "volumeHandle")
        or _dig(spec, "awsElasticBlockStore", "volumeID")
        or _dig(spec, "gcePersistentDisk", "pdName")
        or _dig(spec, "azureDisk", "diskURI")
    )
    ann = _dig(obj, "metadata", "annotations") or {}
    return {
        "volume_ref": ref,
        "storage_class": spec.get("storageClassName") or ann.get("volume.beta.kubernetes.io/storage-class"),
        "capacity_bytes": quantity("PersistentVolume", obj, "spec.capacity.storage",
                                   _dig(spec, "capacity", "storage")),
        "claim_namespace": _dig(spec, "claimRef", "namespace"),
        "claim_name": _dig(spec, "claimRef", "name"),
        "phase": _dig(obj, "status", "phase"),
        "reclaim_policy": spec.get("persistentVolumeReclaimPolicy"),
    }


def storage_class_row(obj: dict) -> dict:
    ann = _dig(obj, "metadata", "annotations") or {}
    default = ann.get("storageclass.kubernetes.io/is-default-class") or ann.get(
        "storageclass.beta.kubernetes.io/is-default-class")
    return {
        "provisioner": obj.get("provisioner"),
        "parameters": _strings(obj.get("parameters")),
        "is_default": str(default).lower() == "true",
    }


def service_row(obj: dict) -> dict:
    ingress = [i for i in (_dig(obj, "status", "loadBalancer", "ingress") or []) if isinstance(i, dict)]
    first = ingress[0] if ingress else {}
    return {
        "type": _dig(obj, "spec", "type"),
        "lb_ingress": first.get("hostname") or first.get("ip"),
        "selector": _strings(_dig(obj, "spec", "selector")),
    }


def hpa_row(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    resources = []
    for metric in spec.get("metrics") or []:
        name = _dig(metric, "resource", "name") or _dig(metric, "containerResource", "name")
        if name and name not in resources:
            resources.append(name)
    if not resources and spec.get("targetCPUUtilizationPercentage") is not None:
        resources = ["cpu"]  # autoscaling/v1
    return {
        "target_kind": _dig(spec, "scaleTargetRef", "kind"),
        "target_name": _dig(spec, "scaleTargetRef", "name"),
        "min_replicas": spec.get("minReplicas", 1),
        "max_replicas": spec.get("maxReplicas"),
        "metric_resources": resources,
    }


def job_row(obj: dict) -> dict:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    owner_kind, owner_name = controller_ref(obj)
    return {
        "cronjob": owner_name if owner_kind == "CronJob" else None,
        "start_time": timestamp("Job", obj, "status.startTime", status.get("startTime")),
        "completion_time": timestamp("Job", obj, "status.completionTime", status.get("completionTime")),
        "succeeded": status.get("succeeded", 0),
        "failed": status.get("failed", 0),
        "active": status.get("active", 0),
        "parallelism": spec.get("parallelism", 1),
        "completions": spec.get("completions"),
        "backoff_limit": spec.get("backoffLimit", 6),
    }


def event_row(obj: dict) -> dict:
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    first = obj.get("firstTimestamp") or obj.get("eventTime")
    last = obj.get("lastTimestamp") or _dig(obj, "series", "lastObservedTime") or obj.get("eventTime")
    return {
        "involved_kind": involved.get("kind"),
        "involved_name": involved.get("name"),
        "reason": obj.get("reason"),
        "message": obj.get("message") or obj.get("note"),
        "type": obj.get("type"),
        "first_ts": timestamp("Event", obj, "firstTimestamp", first),
        "last_ts": timestamp("Event", obj, "lastTimestamp", last),
        "count": obj.get("count") or _dig(obj, "series", "count") or 1,
    }


ROW_BUILDERS = {
    "Node": node_row,
    "Pod": pod_row,
    "PersistentVolumeClaim": pvc_row,
    "PersistentVolume": pv_row,
    "StorageClass": storage_class_row,
    "Service": service_row,
    "HorizontalPodAutoscaler": hpa_row,
    "Job": job_row,
    "Event": event_row,
}
