"""The clusters the warehouse holds allocated cost for, and the check tools run on a name."""

from __future__ import annotations

from tools.context import Context
from tools.errors import ToolRetry


def known_clusters(ctx: Context) -> list[str]:
    """Clusters with allocated cost, sorted (the out-of-cluster services line is not one)."""
    rows = ctx.db.execute("SELECT DISTINCT cluster FROM allocation_hours WHERE cluster <> '' ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def require_cluster(ctx: Context, cluster: str) -> list[str]:
    """Return the known clusters; raise ToolRetry naming them when ``cluster`` is not one."""
    known = known_clusters(ctx)
    if cluster not in known:
        raise ToolRetry(
            f"cluster {cluster!r} has no allocated cost; known clusters: "
            f"{', '.join(known) or 'none (run `allot demo` or `allot ingest ...` first)'}",
            valid=known,
        )
    return known
