"""Hand-made Kubernetes objects (as `kubectl get -o json` items) for the snapshot tests."""

from __future__ import annotations

AZ_VMSS = (
    "azure:///subscriptions/SUB-1/resourceGroups/MC_rg_aks_eastus/providers/Microsoft.Compute/"
    "virtualMachineScaleSets/aks-nodepool1-123-vmss/virtualMachines/3"
)


def meta(name, namespace=None, labels=None, annotations=None, owner=None, created="2024-05-01T10:00:00Z"):
    m = {"name": name, "uid": f"uid-{name}", "creationTimestamp": created}
    if namespace:
        m["namespace"] = namespace
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    if owner:
        kind, owner_name = owner
        m["ownerReferences"] = [{"apiVersion": "v1", "kind": kind, "name": owner_name, "controller": True,
                                 "uid": f"uid-{owner_name}"}]
    return m


def node(name, provider_id, labels, cpu="4", memory="16Gi", gpu=None):
    alloc = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpu:
        alloc["nvidia.com/gpu"] = gpu
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta(name, labels=labels),
            "spec": {"providerID": provider_id}, "status": {"allocatable": alloc, "capacity": alloc}}


def pod(name, namespace, node_name, owner=None, labels=None, containers=None, pvcs=(), phase="Running"):
    containers = containers or [{"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]
    volumes = [{"name": f"v-{c}", "persistentVolumeClaim": {"claimName": c}} for c in pvcs]
    volumes.append({"name": "token", "secret": {"secretName": "default-token"}})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, namespace, labels, owner=owner),
            "spec": {"nodeName": node_name, "containers": containers, "volumes": volumes},
            "status": {"phase": phase}}


def pv(name, source, claim=None, storage_class="gp3", capacity="100Gi"):
    spec = {"capacity": {"storage": capacity}, "storageClassName": storage_class,
            "persistentVolumeReclaimPolicy": "Delete", **source}
    if claim:
        spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": claim[0], "name": claim[1]}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta(name), "spec": spec,
            "status": {"phase": "Bound" if claim else "Available"}}


def snapshot() -> dict[str, list[dict]]:
    """A small estate: three nodes (one per cloud), a Deployment, a CronJob, a Job, storage,
    a load balancer, an HPA and an event."""
    return {
        "Node": [
            node("ip-10-0-1-1.ec2.internal", "aws:///us-east-1a/i-0abc123",
                 {"eks.amazonaws.com/nodegroup": "general", "eks.amazonaws.com/capacityType": "SPOT",
                  "node.kubernetes.io/instance-type": "m5.xlarge", "topology.kubernetes.io/region": "us-east-1",
                  "topology.kubernetes.io/zone": "us-east-1a"}),
            node("gke-prod-gpu-pool-abcd", "gce://my-project/us-central1-a/GKE-Prod-GPU-Pool-ABCD",
                 {"cloud.google.com/gke-nodepool": "gpu-pool", "cloud.google.com/gke-spot": "true",
                  "beta.kubernetes.io/instance-type": "a2-highgpu-1g"}, cpu="11500m", memory="80Gi", gpu="1"),
            node("aks-nodepool1-123-vmss000003", AZ_VMSS,
                 {"kubernetes.azure.com/agentpool": "nodepool1", "node.kubernetes.io/instance-type": "Standard_D4s_v3",
                  "topology.kubernetes.io/region": "eastus", "topology.kubernetes.io/zone": "eastus-1"},
                 cpu="3860m", memory="13Gi"),
        ],
        "Namespace": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": meta("shop", labels={"team": "storefront"})},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": meta("batch", labels={"team": "ml"})},
        ],
        "Deployment": [{"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": meta("web", "shop", {"app": "web", "owner": "alice"}),
                        "spec": {"replicas": 2}}],
        "ReplicaSet": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": meta("web-7d4b9c8f6", "shop", {"pod-template-hash": "7d4b9c8f6"},
                                         owner=("Deployment", "web"))}],
        "CronJob": [{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("nightly", "batch"),
                     "spec": {"schedule": "0 2 * * *", "concurrencyPolicy": "Forbid"}}],
        "Job": [
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("nightly-28461", "batch", owner=("CronJob", "nightly")),
             "spec": {"backoffLimit": 2, "parallelism": 1, "completions": 1},
             "status": {"startTime": "2024-05-01T02:00:05Z", "completionTime": "2024-05-01T02:10:00Z",
                        "succeeded": 1}},
            {"apiVersion": "batch/v1", "kind": "Job",
             "metadata": meta("eval-run-7", "batch", {"workload_type": "ai-evals"}),
             "spec": {"parallelism": 4, "completions": 8},
             "status": {"startTime": "2024-05-01T03:00:00Z", "active": 4, "failed": 3}},
        ],
        "Pod": [
            pod("web-7d4b9c8f6-abcde", "shop", "ip-10-0-1-1.ec2.internal", ("ReplicaSet", "web-7d4b9c8f6"),
                {"app": "web", "pod-template-hash": "7d4b9c8f6"}, pvcs=("data-web",),
                containers=[{"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                                          "limits": {"cpu": "1", "memory": "1Gi"}}},
                            {"name": "sidecar", "resources": {"requests": {"cpu": "0.1", "memory": "1e8"}}}]),
            pod("nightly-28461-xk2p9", "batch", "aks-nodepool1-123-vmss000003", ("Job", "nightly-28461"),
                phase="Succeeded"),
            pod("eval-run-7-q8w7e", "batch", "gke-prod-gpu-pool-abcd", ("Job", "eval-run-7"),
                {"job-name": "eval-run-7"},
                containers=[{"name": "eval", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]),
            pod("debug", "shop", "ip-10-0-1-1.ec2.internal"),
        ],
        "PersistentVolumeClaim": [
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data-web", "shop"),
             "spec": {"volumeName": "pvc-aws-csi", "storageClassName": "gp3",
                      "resources": {"requests": {"storage": "20Gi"}}},
             "status": {"phase": "Bound"}},
        ],
        "PersistentVolume": [
            pv("pvc-aws-csi", {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0aaa111"}},
               claim=("shop", "data-web"), capacity="20Gi"),
            pv("pv-aws-intree", {"awsElasticBlockStore": {"volumeID": "aws://us-east-1a/vol-0bbb222"}}),
            pv("pv-gcp-csi", {"csi": {"driver": "pd.csi.storage.gke.io",
                                      "volumeHandle": "projects/My-Project/zones/us-central1-a/disks/PVC-123"}},
               storage_class="standard-rwo"),
            pv("pv-gcp-intree", {"gcePersistentDisk": {"pdName": "Old-Disk-1"}}, storage_class="standard"),
            pv("pv-azure-csi", {"csi": {"driver": "disk.csi.azure.com",
                                        "volumeHandle": "/subscriptions/SUB-1/resourceGroups/MC_rg/providers/"
                                                        "Microsoft.Compute/disks/PVC-AZ-1"}},
               storage_class="managed-csi"),
            pv("pv-azure-intree", {"azureDisk": {"diskName": "d2", "diskURI": "/subscriptions/SUB-1/resourceGroups/"
                                                 "MC_rg/providers/Microsoft.Compute/disks/D2"}},
               storage_class="default"),
        ],
        "StorageClass": [
            {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
             "metadata": meta("gp3", annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
             "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3"}},
            {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta("io2"),
             "provisioner": "ebs.csi.aws.com", "parameters": {"type": "io2", "iopsPerGB": "50"}},
        ],
        "Service": [
            {"apiVersion": "v1", "kind": "Service", "metadata": meta("web", "shop"),
             "spec": {"type": "LoadBalancer", "selector": {"app": "web"}},
             "status": {"loadBalancer": {"ingress": [
                 {"hostname": "a1b2c3d4e5f6-1234567890.us-east-1.elb.amazonaws.com"}]}}},
            {"apiVersion": "v1", "kind": "Service", "metadata": meta("gke-lb", "shop"),
             "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": "34.120.1.2"}]}}},
            {"apiVersion": "v1", "kind": "Service", "metadata": meta("internal", "shop"),
             "spec": {"type": "ClusterIP", "selector": {"app": "web"}}},
        ],
        "HorizontalPodAutoscaler": [
            {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("web", "shop"),
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                      "minReplicas": 2, "maxReplicas": 10,
                      "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                          "type": "Utilization", "averageUtilization": 70}}},
                                  {"type": "Resource", "resource": {"name": "memory", "target": {
                                      "type": "AverageValue", "averageValue": "1Gi"}}}]}},
        ],
        "Event": [
            {"apiVersion": "v1", "kind": "Event", "metadata": meta("eval-run-7.17a", "batch"),
             "involvedObject": {"kind": "Job", "name": "eval-run-7"}, "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit", "type": "Warning",
             "firstTimestamp": "2024-05-01T03:10:00Z", "lastTimestamp": "2024-05-01T03:20:00Z", "count": 3},
        ],
    }
