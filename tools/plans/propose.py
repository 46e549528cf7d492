"""Tool ``propose_plans``: turn explain rows and waste findings into reviewed-plan candidates.

* **Explain rows** (``explain_change --by namespace``): a namespace that carries at least
  ``min_share`` percent of a cluster's increase, with a change in the window that raised
  ``parallelism``, ``replicas`` or a container request (or changed a CronJob's schedule),
  gets a plan that restores the previous value. Evidence: the explain row, the node pools
  where its cost moved (with GPU node hours from ``node_pool_breakdown``), the deploys and Job
  history in the window, and the owner label. Savings: the workload's increase between the
  two windows, per hour, times 730.
* **Waste findings** (``waste_detectors``): each proposed change a patch can express
  (requests, replicas, schedule, parallelism, node pool, storage class) becomes a plan priced
  by the finding's monthly savings. Findings whose change is not a field edit (delete a
  namespace, resize a node pool) are listed as ``unplanned`` with the reason.
* **Owner**: the reviewer comes from ``workload_owners``; an unowned object gets an
  ``assign_owner`` plan instead, never a guessed reviewer.

Plans on the same object merge into one; the result is ranked by savings, then risk.
"""

from __future__ import annotations

from tools.clusters import known_clusters, require_cluster
from tools.context import Context
from tools.detectors.registry import run_detectors
from tools.errors import InputError
from tools.plans.compose import merge_plans, rank_plans
from tools.plans.from_explain import explain_plans
from tools.plans.from_findings import finding_plan, with_findings
from tools.plans.model import Plan
from tools.plans.proposal import ProposeInput, ProposeOutput, Unplanned
from tools.windows import parse_window

__all__ = ["ProposeInput", "ProposeOutput", "Unplanned", "propose_plans"]


def propose_plans(ctx: Context, args: ProposeInput) -> ProposeOutput:
    """Turn this window's cost increase (explain rows) and waste findings into ranked plans.

    Each plan names one object, the field and from -> to, the evidence (tool results), risk,
    rollback (the previous value), the reviewer from owner labels (or an assign-owner plan for
    unowned objects), monthly savings and a ready patch that allot never applies. Plans on the
    same object are merged; the list is ranked by savings, then lower risk.

    Args:
        ctx: Warehouse context.
        args: Cluster, explain windows, waste window, minimum share of the increase.

    Returns:
        Ranked plans plus the findings that could not become a plan (with the reason).
    """
    known = known_clusters(ctx)
    if not known:
        return ProposeOutput(status="no_data", reason="no allocated cost; run `allot demo` or `allot ingest ...` first")
    if args.cluster is not None:
        require_cluster(ctx, args.cluster)
    out = ProposeOutput(status="ok")
    candidates: list[Plan] = []
    for cluster in [args.cluster] if args.cluster else known:
        try:
            candidates += explain_plans(ctx, cluster, args, out)
        except InputError as err:
            out.caveats.append(f"{cluster}: explain skipped: {err}")
        try:
            waste = run_detectors(ctx, parse_window(ctx, args.waste_window, cluster=cluster), cluster)
        except InputError as err:
            out.caveats.append(f"{cluster}: waste detectors skipped: {err}")
            continue
        for finding in waste.findings:
            plan = finding_plan(ctx, finding, out)
            if plan is not None:
                candidates.append(plan)
        candidates = [with_findings(p, out, waste.findings) for p in candidates]
    merged: dict[str, Plan] = {}
    for plan in candidates:
        merged[plan.plan_id] = merge_plans(merged[plan.plan_id], plan) if plan.plan_id in merged else plan
    out.plans = rank_plans(list(merged.values()))
    return out
