"""Top controllers of a cluster's objects, read from ``owner_edges`` for the objects asked about.

A change names its object (a ReplicaSet, a Job, a spec field's Deployment) and the workload it
belongs to: the top of the object's owner chain (DESIGN rule 8). A cluster holds every Job's
edge (tier M: 147k a cluster), but a week's changes name about 2,000 objects, so the edges are
fetched a hop at a time for those objects and their owners only.
"""

from __future__ import annotations

from collections.abc import Iterable

from tools.context import Context

MAX_HOPS = 4
Key = tuple[str, str, str]   # (namespace, kind, name)


class OwnerChains:
    """Owner edges of one cluster, loaded on demand by :meth:`load` and followed by :meth:`top`."""

    def __init__(self, ctx: Context, cluster: str) -> None:
        self.ctx, self.cluster = ctx, cluster
        self.edges: dict[Key, tuple[str, str]] = {}
        self._asked: set[Key] = set()

    def load(self, keys: Iterable[Key]) -> None:
        """Fetch the edges of ``keys`` and of their owners, up to :data:`MAX_HOPS` objects a chain."""
        frontier = set(keys) - self._asked
        for _ in range(MAX_HOPS):
            if not frontier:
                return
            self._asked |= frontier
            found = self._edges_of(frontier)
            self.edges.update(found)
            frontier = {(ns, kind, name) for (ns, _, _), (kind, name) in found.items()} - self._asked

    def top(self, namespace: str, kind: str, name: str) -> tuple[str, str]:
        """The top controller's (kind, name); an object without an edge is its own top."""
        for _ in range(MAX_HOPS):
            up = self.edges.get((namespace, kind, name))
            if up is None:
                break
            kind, name = up
        return kind, name

    def _edges_of(self, keys: set[Key]) -> dict[Key, tuple[str, str]]:
        """The direct controllers of ``keys`` (Pods are left out: a Pod is its own top here)."""
        namespaces, kinds, names = (list(column) for column in zip(*keys))
        edges = {(ns, k, n): (ok, on) for ns, k, n, ok, on in self.ctx.db.execute(
            """SELECT e.namespace, e.kind, e.name, e.owner_kind, e.owner_name
               FROM owner_edges e
               JOIN (SELECT unnest(?::VARCHAR[]) AS namespace, unnest(?::VARCHAR[]) AS kind,
                            unnest(?::VARCHAR[]) AS name) k USING (namespace, kind, name)
               WHERE e.cluster = ? AND e.kind <> 'Pod'""",
            [namespaces, kinds, names, self.cluster]).fetchall()}
        # a Job without an edge belongs to whatever workload its pods were grouped into
        orphans = [(ns, n) for ns, k, n in keys if k == "Job" and (ns, k, n) not in edges]
        if orphans:
            for ns, job, wk, wn in self.ctx.db.execute(
                    """SELECT DISTINCT p.namespace, p.owner_name, p.workload_kind, p.workload_name
                       FROM pods p
                       JOIN (SELECT unnest(?::VARCHAR[]) AS namespace, unnest(?::VARCHAR[]) AS owner_name) j
                            USING (namespace, owner_name)
                       WHERE p.cluster = ? AND p.owner_kind = 'Job'
                         AND (p.workload_kind, p.workload_name) <> ('Job', p.owner_name)""",
                    [[ns for ns, _ in orphans], [n for _, n in orphans], self.cluster]).fetchall():
                edges.setdefault((ns, "Job", job), (wk, wn))
        return edges
