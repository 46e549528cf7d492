"""Cluster-level network cost per pod, split by bytes sent (DESIGN.md rule 6), for the ground truth.

The cluster-level network rows of the demo bill are the NAT Gateway (EKS) and the shared
``kubernetes`` load balancer of AKS (it matches no single Service). Each hour's cost is split
over the cluster's pods in proportion to their ``container_network_transmit_bytes_total``
increase that hour, as the generator wrote it. GKE's forwarding rule belongs to a Service.
"""

from __future__ import annotations

from collections import defaultdict

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


def network_cost_by_pod(world: World, cluster: str, keys: set[str]) -> dict[str, float]:
    """Window network cost of the pods whose ``PodRun.key`` is in `keys`."""
    hours = world.spec.hours
    totals = [0.0] * hours
    mine: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for w in world.of(world.workloads, cluster):
        for p in iter_pods(world, w, hours):
            first, last = max(p.start_h, 0), min(p.end_h, hours)
            for h, sent in zip(range(first, last), network_bytes(world.spec.seed, p.key, w.net_bytes_per_hour,
                                                                 first, last)):
                totals[h] += sent
                if p.key in keys:
                    mine[p.key].append((h, sent))
    out = {}
    for key in keys:
        out[key] = sum(cluster_network_cost(world, cluster, h) * sent / totals[h]
                       for h, sent in mine.get(key, []) if totals[h])
    return out
