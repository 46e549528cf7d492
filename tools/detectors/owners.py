"""Owners for findings, read from workload_owners (DESIGN.md rule 7).

A workload's owner is its row. A namespace-level object (a PVC, a preview namespace) takes the
owner most of the namespace's workloads resolve to; a cluster-level object (a node pool, a
StorageClass, an unclaimed PV) has none and says so.
"""

from __future__ import annotations

from tools.detectors.finding import Owner
from tools.detectors.scope import Scope


class OwnerLookup:
    """Loaded once per run; answers by workload or by namespace."""

    def __init__(self, scope: Scope):
        cond, params = scope.cluster_only()
        rows = scope.rows(
            f"""SELECT cluster, namespace, workload_kind, workload_name, owner, team, owner_source
                FROM workload_owners WHERE {cond}""",
            params,
        )
        self._by_workload = {
            (r["cluster"], r["namespace"], r["workload_kind"], r["workload_name"]):
                Owner(owner=r["owner"], team=r["team"], source=r["owner_source"])
            for r in rows
        }
        votes: dict[tuple[str, str], dict[tuple[str, str | None], int]] = {}
        for r in rows:
            if r["owner"] == "unowned":
                continue
            key = (r["cluster"], r["namespace"])
            tally = votes.setdefault(key, {})
            tally[(r["owner"], r["team"])] = tally.get((r["owner"], r["team"]), 0) + 1
        self._by_namespace = {
            key: Owner(owner=o, team=t, source="namespace")
            for key, tally in votes.items()
            for (o, t) in [max(sorted(tally, key=str), key=lambda k: tally[k])]
        }

    def workload(self, cluster: str, namespace: str, kind: str, name: str) -> Owner:
        return self._by_workload.get((cluster, namespace, kind, name)) or self.namespace(cluster, namespace)

    def namespace(self, cluster: str, namespace: str) -> Owner:
        return self._by_namespace.get((cluster, namespace)) or Owner()
