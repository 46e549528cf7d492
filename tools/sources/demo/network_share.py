"""Cluster-level network cost per pod, split by bytes sent (DESIGN.md rule 6), for the ground truth.

The cluster-level network rows of the demo bill are the NAT Gateway (EKS) and the shared
``kubernetes`` load balancer of AKS (it matches no single Service). Each hour's cost is split
over the cluster's pods in proportion to their ``container_network_transmit_bytes_total``
increase that hour, as the generator wrote it. GKE's forwarding rule belongs to a Service.
"""

from __future__ import annotations

from tools.sources.demo.billing import LB_PER_HOUR, NAT_PER_GB, NAT_PER_HOUR
from tools.sources.demo.model import World
from tools.sources.demo.pods import iter_pods
from tools.sources.demo.usage import network_bytes, weekly_unit


def cluster_network_cost(world: World, cluster: str, hour: int) -> float:
    """The cluster-level network dollars of `hour` (same arithmetic as the billing writer)."""
    c = world.cluster(cluster)
    if c.provider == "aws":
        gb = round(15 * (0.8 + 0.4 * weekly_unit(world.spec.seed, "nat", c.name, hour % 168)), 6)
        return round(NAT_PER_HOUR, 10) + round(gb * NAT_PER_GB, 10)
    if c.provider == "azure":
        return LB_PER_HOUR["azure"] * sum(1 for s in world.of(world.services, cluster) if s.type == "LoadBalancer")
    return 0.0


def _bytes_per_hour(world: World, cluster: str) -> list[float]:
    """Bytes sent by all of the cluster's pods, per hour (computed once per world and cluster)."""
    cache = world.__dict__.setdefault("_network_totals", {})
    if cluster not in cache:
        hours = world.spec.hours
        totals = [0.0] * hours
        for w in world.of(world.workloads, cluster):
            for p in iter_pods(world, w, hours):
                first, last = max(p.start_h, 0), min(p.end_h, hours)
                for h, sent in zip(range(first, last), network_bytes(world.spec.seed, p.key, w.net_bytes_per_hour,
                                                                     first, last)):
                    totals[h] += sent
        cache[cluster] = totals
    return cache[cluster]


def workload_network_cost(world: World, w) -> float:
    """Window network cost of workload `w`'s pods: each hour's cluster-level network cost times
    the pod's share of the bytes sent that hour."""
    hours = world.spec.hours
    totals = _bytes_per_hour(world, w.cluster)
    cost = 0.0
    for p in iter_pods(world, w, hours):
        first, last = max(p.start_h, 0), min(p.end_h, hours)
        for h, sent in zip(range(first, last), network_bytes(world.spec.seed, p.key, w.net_bytes_per_hour,
                                                             first, last)):
            if totals[h]:
                cost += cluster_network_cost(world, w.cluster, h) * sent / totals[h]
    return cost
