"""Shared-cost distribution policies, applied at query time (DESIGN.md rule 5).

``allocation_hours`` keeps shared cost visible (``__shared__:*`` rows). A query may ask to
distribute it; the rules:

* Shared cost is distributed **within its cluster**, over that cluster's workload entries in
  the window (not over idle, unowned storage, unallocated or external lines).
* ``proportional``: in proportion to each entry's direct cost (evenly when the cluster's
  direct cost is not positive).
* ``even``: every output key (namespace, team, ...) of the cluster gets an equal part; within
  a key, entries share it in proportion to their direct cost.
* ``weights``: teams present in the cluster get ``team_weights[team] / sum(weights of the
  present teams)``; within a team, in proportion to direct cost. Teams without a weight get
  nothing. When no present team has a weight, the cluster's shared cost stays visible.
* A cluster with no workload entry keeps its shared cost visible.

The amounts distributed to each entry sum exactly to the shared total (up to float rounding);
``distribute_shared`` returns what stays visible per cluster.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Entry:
    """One (cluster, key) slice of a query before shared distribution."""

    cluster: str
    key: str
    team: str | None
    direct: float                  # the entry's own cost
    received: float = 0.0          # distributed shared cost
    meta: dict = field(default_factory=dict)


def _proportional(entries: list[Entry], amount: float) -> None:
    total = sum(e.direct for e in entries)
    for e in entries:
        e.received += amount * (e.direct / total if total > 0 else 1.0 / len(entries))


def distribute_shared(entries: list[Entry], shared_by_cluster: dict[str, float], policy: str,
                      team_weights: dict[str, float]) -> dict[str, float]:
    """Add each cluster's shared amount to ``entries[*].received``; return the amounts kept visible."""
    kept: dict[str, float] = {}
    by_cluster: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_cluster[e.cluster].append(e)
    for cluster, amount in shared_by_cluster.items():
        group = by_cluster.get(cluster, [])
        if not group or policy == "none":
            kept[cluster] = amount
            continue
        if policy == "proportional":
            _proportional(group, amount)
        elif policy == "even":
            keys: dict[str, list[Entry]] = defaultdict(list)
            for e in group:
                keys[e.key].append(e)
            for members in keys.values():
                _proportional(members, amount / len(keys))
        elif policy == "weights":
            teams: dict[str, list[Entry]] = defaultdict(list)
            for e in group:
                if e.team and team_weights.get(e.team, 0) > 0:
                    teams[e.team].append(e)
            total = sum(team_weights[t] for t in teams)
            if total <= 0:
                kept[cluster] = amount
                continue
            for team, members in teams.items():
                _proportional(members, amount * team_weights[team] / total)
        else:
            raise ValueError(f"unknown shared-cost policy {policy!r}")
    return kept
