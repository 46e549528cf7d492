"""Who reviews a plan: the owner resolved by allocation (``workload_owners``), never a guess.

``workload_owners`` already walked pod -> controller -> namespace -> ``owners.yaml``
(DESIGN.md rule 7) and recorded where the owner came from. Objects that are not workloads
(a PVC, a namespace) take the namespace's owner label. Nothing resolved means ``None``: the
caller then writes an ``assign_owner`` plan, reviewed by the cluster's platform owner.
"""

from __future__ import annotations

from tools.context import Context
from tools.plans.model import Reviewer

_SOURCE = {"pod": "pod", "controller": "controller", "namespace": "namespace", "owners.yaml": "owners.yaml"}


def resolve_reviewer(ctx: Context, cluster: str, namespace: str, kind: str, name: str) -> Reviewer | None:
    """The reviewer of one object from its resolved owner labels, or None when it has no owner."""
    row = ctx.db.execute(
        """SELECT owner, team, owner_source FROM workload_owners
           WHERE cluster = ? AND namespace = ? AND workload_kind = ? AND workload_name = ?""",
        [cluster, namespace, kind, name],
    ).fetchone()
    if row is not None:
        owner, team, source = row
        if owner and owner != "unowned" and source in _SOURCE:
            where = "owners.yaml" if source == "owners.yaml" else f"{source} labels"
            return Reviewer(name=owner, source=_SOURCE[source], team=team,
                            label=f"owner={owner} ({where} of {kind} {namespace}/{name})")
        return None
    return namespace_reviewer(ctx, cluster, namespace)


def namespace_reviewer(ctx: Context, cluster: str, namespace: str) -> Reviewer | None:
    """The owner of a namespace: its ``owner`` label, else the owner owners.yaml gave its workloads."""
    row = ctx.db.execute(
        "SELECT labels['owner'], labels['team'] FROM namespaces WHERE cluster = ? AND namespace = ?",
        [cluster, namespace],
    ).fetchone()
    if row is not None and row[0]:
        return Reviewer(name=row[0], source="namespace", team=row[1],
                        label=f"owner={row[0]} (labels of namespace {namespace})")
    row = ctx.db.execute(
        """SELECT owner, team, owner_source FROM workload_owners
           WHERE cluster = ? AND namespace = ? AND owner_source IN ('namespace', 'owners.yaml')
           ORDER BY owner LIMIT 1""",
        [cluster, namespace],
    ).fetchone()
    if row is not None:
        where = "owners.yaml" if row[2] == "owners.yaml" else f"labels of namespace {namespace}"
        return Reviewer(name=row[0], source=_SOURCE[row[2]], team=row[1], label=f"owner={row[0]} ({where})")
    return None


def assign_owner_reviewer(ctx: Context, cluster: str, namespace: str) -> Reviewer:
    """Who decides the owner of an unowned workload: the namespace owner, else the cluster's platform owner."""
    found = namespace_reviewer(ctx, cluster, namespace)
    if found is not None:
        return found
    return Reviewer(name=f"platform owner of cluster {cluster}", source="fallback",
                    label="no owner label on the workload, its namespace or in owners.yaml")
