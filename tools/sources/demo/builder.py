"""Helpers the estate modules use to declare clusters: pools, nodes, workloads, placement.

Placement is a deterministic first-fit-decreasing over each pool's nodes that reserves every
replica's (or CronJob lane's) requests for the workload's whole life, so no node is ever
over-committed and every pod has a real node.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tools.sources.demo.model import (
    GIB, MIB, Cluster, Container, JobPlan, Namespace, Node, NodePool, Revision, Service, StorageClass,
    Volume, Workload, World,
)
from tools.sources.demo.pods import digest, make_uid, suffix

OWNER_KEYS = ("owner", "team", "service", "env", "cost_center", "workload_type")


def container(name: str, image: str, cpu: float, mem_gib: float, *, gpu: int = 0, cpu_use: float = 0.8,
              mem_use: float = 0.8, limit: bool = True, noise: float = 0.08) -> Container:
    return Container(name, image, cpu, mem_gib * GIB, cpu * 2 if limit else None, mem_gib * GIB if limit else None,
                     gpu, cpu_use, mem_use, noise)


class Builder:
    """Accumulates one world's definitions; ``place`` assigns nodes at the end."""

    def __init__(self, world: World):
        self.world = world
        self.spec = world.spec
        self._free: dict[tuple[str, str], list[float]] = {}

    # -- infrastructure ------------------------------------------------------------------
    def pool(self, cluster: Cluster, pool: NodePool, count: int, *, start_h: int = -24 * 40,
             extra: list[tuple[int, int]] | None = None) -> list[Node]:
        """`count` nodes alive for the whole window, plus `extra` (start hour, how many) added later."""
        self.world.pools.append(pool)
        nodes = []
        plan = [(start_h, count)] + list(extra or [])
        index = 0
        for begin, n in plan:
            for _ in range(n):
                nodes.append(self._node(cluster, pool, index, begin))
                index += 1
        self.world.nodes.extend(nodes)
        return nodes

    def _node(self, c: Cluster, pool: NodePool, index: int, start_h: int) -> Node:
        zone = c.zones[index % len(c.zones)]
        created = self.spec.at(start_h)
        key = (c.name, pool.name, index)
        if c.provider == "aws":
            octets = digest("ip", *key)
            slot = (octets[0] % 64) * 250 + octets[1] % 250
            # 16,000 addresses: from a few hundred nodes per cluster on (tier M, L) two would
            # collide; the next free address keeps names unique (smaller worlds are unchanged).
            while (c.name, name := f"ip-10-0-{slot // 250 + 16}-{slot % 250 + 2}.ec2.internal") in self._free:
                slot = (slot + 1) % 16_000
            instance = "i-0" + digest("i", *key).hex()[:16]
            provider_id, instance_id = f"aws:///{zone}/{instance}", instance
        elif c.provider == "gcp":
            group = suffix(8, "mig", c.name, pool.name).replace("z", "a")
            name = f"gke-{c.name}-{pool.name}-{group}-{suffix(4, *key)}"
            provider_id, instance_id = f"gce://{c.account_id}/{zone}/{name}", name
        else:
            vmss = f"aks-{pool.name}-{c.vmss_suffix}-vmss"
            name = f"{vmss}{index:06d}"
            path = (f"/subscriptions/{c.account_id}/resourceGroups/{c.node_resource_group.lower()}"
                    f"/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}")
            provider_id, instance_id = f"azure://{path}/virtualMachines/{index}", path.lower()
        it = pool.instance
        self._free[(c.name, name)] = [it.cpu_allocatable, it.memory_allocatable, float(it.gpu)]
        return Node(c.name, pool.name, name, index, zone, provider_id, instance_id, start_h, 10_000, created)

    def namespace(self, cluster: Cluster, name: str, labels: dict[str, str], *, created: datetime | None = None,
                  log_gib_per_day: float = 0.5, log_jump: tuple[int, float] | None = None) -> Namespace:
        ns = Namespace(cluster.name, name, dict(labels), created or cluster.created + timedelta(days=3),
                       log_gib_per_day, log_jump)
        self.world.namespaces.append(ns)
        return ns

    def storage_class(self, cluster: Cluster, name: str, provisioner: str, params: dict[str, str], price: float,
                      default: bool = False) -> StorageClass:
        sc = StorageClass(cluster.name, name, provisioner, params, default, price)
        self.world.storage_classes.append(sc)
        return sc

    # -- workloads -------------------------------------------------------------------------
    def workload(self, cluster: Cluster, ns: Namespace | str, kind: str, name: str, containers: list[Container],
                 *, pool: str | list[str], replicas: int = 1, labels: dict[str, str] | None = None,
                 created: datetime | None = None, **kw) -> Workload:
        ns_name = ns if isinstance(ns, str) else ns.name
        w = Workload(cluster.name, ns_name, kind, name, containers, labels=dict(labels or {}), pool=pool,
                     replicas=replicas, created=created or datetime(2026, 9, 14, 10), **kw)
        self.world.workloads.append(w)
        return w

    def deployment(self, cluster, ns, name, image, cpu, mem_gib, replicas, pool, **kw) -> Workload:
        use = {k: kw.pop(k) for k in ("cpu_use", "mem_use", "gpu", "noise") if k in kw}
        c = container(name.split("-")[0] if kw.pop("short_container", False) else name, image, cpu, mem_gib, **use)
        return self.workload(cluster, ns, "Deployment", name, [c], pool=pool, replicas=replicas, **kw)

    def cronjob(self, cluster, ns, name, image, cpu, mem_gib, pool, plan: JobPlan, **kw) -> Workload:
        use = {k: kw.pop(k) for k in ("cpu_use", "mem_use") if k in kw}
        c = container(name, image, cpu, mem_gib, **use)
        return self.workload(cluster, ns, "CronJob", name, [c], pool=pool, job=plan, **kw)

    def volume(self, cluster: Cluster, sc: StorageClass, claim: tuple[str, str] | None, size_gib, *,
               created: datetime, phase: str = "Bound", reclaim: str = "Delete", used=None, story: str = "") -> Volume:
        c = cluster
        pv = "pvc-" + make_uid("pv", c.name, claim, created)
        zone = c.zones[int(digest("z", pv)[0]) % len(c.zones)]
        if c.provider == "aws":
            volume_id = "vol-0" + digest("vol", pv).hex()[:16]
        elif c.provider == "gcp":
            volume_id = f"projects/{c.account_id}/zones/{zone}/disks/{pv}"
        else:
            volume_id = (f"/subscriptions/{c.account_id}/resourceGroups/{c.node_resource_group.lower()}"
                         f"/providers/Microsoft.Compute/disks/{pv}").lower()
        sizes = size_gib if isinstance(size_gib, list) else [(-10_000, float(size_gib))]
        v = Volume(c.name, pv, volume_id, sc.name, sizes, created, claim, phase, reclaim, zone, used,
                   disk_name=pv, story=story)
        self.world.volumes.append(v)
        return v

    def service(self, cluster: Cluster, ns: str, name: str, selector: dict[str, str], *, lb: bool = False) -> Service:
        c = cluster
        svc = Service(c.name, ns, name, selector, "LoadBalancer" if lb else "ClusterIP")
        if lb:
            h = digest("lb", c.name, ns, name)
            if c.provider == "aws":
                lb_name, tail = "a" + h.hex()[:31], h.hex()[32:40]
                svc.lb_ingress = f"{lb_name}-{tail}.elb.{c.region}.amazonaws.com"
                svc.lb_resource_id = (f"arn:aws:elasticloadbalancing:{c.region}:{c.account_id}:loadbalancer/net/"
                                      f"{lb_name}/{h.hex()[:16]}")
                svc.lb_resource_name = lb_name
            elif c.provider == "gcp":
                svc.lb_ingress = f"34.90.{h[0]}.{h[1] % 250 + 2}"
                svc.lb_resource_id = (f"//compute.googleapis.com/projects/{c.account_id}/regions/{c.region}"
                                      f"/forwardingRules/a{h.hex()[:31]}")
                svc.lb_resource_name = svc.lb_ingress
            else:
                svc.lb_ingress = f"20.93.{h[0]}.{h[1] % 250 + 2}"
                svc.lb_resource_id = (f"/subscriptions/{c.account_id}/resourceGroups/{c.node_resource_group}"
                                      f"/providers/Microsoft.Network/loadBalancers/kubernetes")
                svc.lb_resource_name = "kubernetes"
        self.world.services.append(svc)
        return svc

    # -- placement -----------------------------------------------------------------------
    def place(self) -> None:
        """Reserve DaemonSets on their nodes, then place the rest, biggest first."""
        world = self.world
        for w in world.workloads:
            if w.kind == "DaemonSet":
                pools = w.pool if isinstance(w.pool, list) else [w.pool]
                for n in world.nodes:
                    if n.cluster == w.cluster and ("*" in pools or n.pool in pools):
                        self._reserve(n.cluster, n.name, w)
        pending = [w for w in world.workloads if w.kind != "DaemonSet" and not w.nodes]
        pending.sort(key=lambda w: (-sum(c.cpu_request for c in w.containers), w.cluster, w.namespace, w.name))
        for w in pending:
            slots = w.replicas if w.kind in ("Deployment", "StatefulSet") else max(w.job.parallelism, 1)
            candidates = [n for n in world.nodes if n.cluster == w.cluster and n.pool == w.pool
                          and n.start_h <= max(w.start_h, -1)]
            for _ in range(slots):
                best = max(candidates, key=lambda n: (self._fits(n, w), self._free[(n.cluster, n.name)][0],
                                                      -n.index), default=None)
                if best is None or not self._fits(best, w):
                    raise ValueError(f"demo world does not fit: {w.cluster}/{w.namespace}/{w.name} on pool {w.pool}")
                self._reserve(best.cluster, best.name, w)
                w.nodes.append(best.name)
                if w.kind in ("Deployment", "StatefulSet"):
                    candidates = sorted(candidates, key=lambda n: n.name == best.name)
        for w in world.workloads:
            if w.kind != "DaemonSet" and not w.nodes:
                raise ValueError(f"no node for {w.cluster}/{w.namespace}/{w.name}")

    def pin(self, w: Workload, nodes: list[Node]) -> None:
        """Place `w`'s replicas (or slots) on exactly these nodes."""
        for n in nodes:
            if not self._fits(n, w):
                raise ValueError(f"demo world does not fit: {w.name} on {n.name}")
            self._reserve(n.cluster, n.name, w)
            w.nodes.append(n.name)

    def _fits(self, n: Node, w: Workload) -> bool:
        cpu, mem, gpu = self._free[(n.cluster, n.name)]
        need = [sum(c.cpu_request for c in w.containers), sum(c.memory_request for c in w.containers),
                sum(c.gpu for c in w.containers)]
        return need[0] <= cpu + 1e-9 and need[1] <= mem + 1 and need[2] <= gpu

    def _reserve(self, cluster: str, node: str, w: Workload) -> None:
        free = self._free[(cluster, node)]
        free[0] -= sum(c.cpu_request for c in w.containers)
        free[1] -= sum(c.memory_request for c in w.containers)
        free[2] -= sum(c.gpu for c in w.containers)
        if free[0] < -1e-9 or free[1] < -1 or free[2] < 0:
            raise ValueError(f"demo world does not fit: {w.namespace}/{w.name} on {node}")


def revision(spec, hour: int, number: int, tag: str, env: dict[str, str] | None = None) -> Revision:
    return Revision(hour, number, tag, spec.at(hour), env or {})


def labels(owner: str | None = None, team: str | None = None, service: str | None = None, env: str | None = None,
           cost_center: str | None = None, workload_type: str | None = None) -> dict[str, str]:
    values = dict(zip(OWNER_KEYS, (owner, team, service, env, cost_center, workload_type)))
    return {k: v for k, v in values.items() if v}


__all__ = ["Builder", "container", "labels", "revision", "MIB", "GIB"]
