"""The Kubernetes kinds allot reads: the single list behind the live ingest and deploy/rbac.yaml.

Every entry is read with ``list`` at cluster scope (``GET /api/v1/pods``,
``GET /apis/apps/v1/deployments``, ...). ``deploy/rbac.yaml`` grants exactly
``get``/``list``/``watch`` on these resources and nothing else; a test keeps the two in step.
Secrets are never read: :func:`list_path` refuses them even if someone adds them here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    kind: str          # the API kind, as keyed in ingest_objects' objects_by_kind
    group: str         # API group, '' for the core group
    version: str
    resource: str      # plural resource name, as in RBAC rules and URLs
    namespaced: bool

    @property
    def rbac_name(self) -> str:
        """``cronjobs.batch``, ``pods`` (core group): how kubectl and RBAC errors name it."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "", "v1", "namespaces", False),
    Kind("Node", "", "v1", "nodes", False),
    Kind("Pod", "", "v1", "pods", True),
    Kind("ReplicaSet", "apps", "v1", "replicasets", True),
    Kind("Deployment", "apps", "v1", "deployments", True),
    Kind("StatefulSet", "apps", "v1", "statefulsets", True),
    Kind("DaemonSet", "apps", "v1", "daemonsets", True),
    Kind("Job", "batch", "v1", "jobs", True),
    Kind("CronJob", "batch", "v1", "cronjobs", True),
    Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True),
    Kind("PersistentVolume", "", "v1", "persistentvolumes", False),
    Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", False),
    Kind("Service", "", "v1", "services", True),
    Kind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", True),
    Kind("Event", "", "v1", "events", True),
)

RBAC_VERBS: tuple[str, ...] = ("get", "list", "watch")
FORBIDDEN_RESOURCES = frozenset({"secrets"})


def list_path(kind: Kind) -> str:
    """The cluster-scope list URL path of ``kind`` (all namespaces for namespaced kinds)."""
    if kind.resource in FORBIDDEN_RESOURCES:
        raise ValueError(f"allot never reads {kind.resource}")
    prefix = "/api/v1" if not kind.group else f"/apis/{kind.group}/{kind.version}"
    return f"{prefix}/{kind.resource}"
