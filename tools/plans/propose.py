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

import logging
import re
from typing import Literal

from pydantic import BaseModel, Field

from tools.context import Context
from tools.detectors.finding import Finding
from tools.detectors.registry import run_detectors
from tools.errors import InputError, ToolRetry
from tools.explain import PROVIDER_PRODUCT, ExplainInput, ExplainRow, explain_change
from tools.node_pool_breakdown import NodePoolInput, node_pool_breakdown
from tools.plans.compose import assign_owner_plan, make_plan, merge_plans, rank_plans
from tools.plans.model import UNSET, Action, EvidenceRef, FieldChange, ObjectRef, Plan, Reviewer, Risk
from tools.plans.reviewers import assign_owner_reviewer, resolve_reviewer
from tools.windows import parse_window

log = logging.getLogger(__name__)
HOURS_PER_MONTH = 730.0
MIB, GIB = 2**20, 2**30
RISKS = {
    "parallelism": ("medium", "Runs take longer: the same work runs on fewer parallel pods, so results arrive later."),
    "replicas": ("medium", "Less headroom at peak; a traffic spike waits for the autoscaler."),
    "cpu_request": ("low", "CPU throttling if the workload needs more than the new request at peak."),
    "memory_request": ("medium", "Pods may be evicted or OOM-killed if memory grows past the new request."),
    "schedule": ("low", "Runs less often, so its results are older when read."),
    "node_pool": ("medium", "Spot nodes can be reclaimed: runs may be interrupted and retried."),
    "storage_class": ("medium", "Lower IOPS/throughput on the cheaper class; data must be copied once."),
    "suspend": ("medium", "The job stops running until someone resumes it; its output stops updating."),
    "backoff_limit": ("low", "A job that fails transiently more often than the new limit is marked failed sooner."),
    "concurrency_policy": ("low", "A run that overlaps the previous one is skipped instead of started."),
}


class ProposeInput(BaseModel):
    """Arguments of :func:`propose_plans`."""

    cluster: str | None = Field(None, description="One cluster, or every cluster with allocated cost.")
    window: str = Field("this-week", description="Window whose increase is explained (explain's current window).")
    baseline: str = Field("previous-week", description="Window it is compared with.")
    waste_window: str = Field("14d", description="Window the waste detectors judge.")
    min_share: float = Field(5.0, description="Explain rows below this percent of the increase get no plan.")


class Unplanned(BaseModel):
    source: Literal["explain_change", "waste_detectors"]
    ref: str
    reason: str


class ProposeOutput(BaseModel):
    """Output of :func:`propose_plans`."""

    status: Literal["ok", "no_data", "error"]
    reason: str | None = None
    plans: list[Plan] = Field(default_factory=list)
    unplanned: list[Unplanned] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    workloads: dict[str, tuple[str, str, str, str]] = Field(
        default_factory=dict, exclude=True, description="plan id -> (cluster, namespace, kind, name) of the "
        "workload an explain plan came from, to attach waste findings on the same workload.")


def _cpu(v) -> str:
    v = float(v)
    return str(int(v)) if v >= 1 and v == int(v) else f"{round(v * 1000)}m"


def _mem(v) -> str:
    v = float(v)
    return f"{int(v // GIB)}Gi" if v >= GIB and v % GIB == 0 else f"{round(v / MIB)}Mi"


def _scalar(v) -> str:
    """4.0 -> '4' (counts arrive as floats from the warehouse)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _owner_evidence(reviewer: Reviewer | None, obj: ObjectRef) -> EvidenceRef:
    return EvidenceRef(tool="workload_owners", ref=f"{obj.cluster}/{obj.namespace}/{obj.kind}/{obj.name}",
                       what=reviewer.label if reviewer else f"no owner label on {obj.describe()} or its namespace")


def _finalize(ctx: Context, obj: ObjectRef, build, cost: float, window_label: str, evidence: list[EvidenceRef],
              sources: list[str], workload: tuple[str, str] | None = None) -> Plan:
    """An optimize plan when the object (or the workload it belongs to) has an owner, else an assign-owner plan."""
    kind, name = workload or (obj.kind, obj.name)
    reviewer = resolve_reviewer(ctx, obj.cluster, obj.namespace, kind, name)
    owned = obj.model_copy(update={"kind": kind, "name": name})
    if reviewer is None:
        return assign_owner_plan(obj, cost=cost, window_label=window_label,
                                 evidence=evidence + [_owner_evidence(None, owned)],
                                 reviewer=assign_owner_reviewer(ctx, obj.cluster, obj.namespace),
                                 source_findings=sources)
    return build(reviewer, evidence + [_owner_evidence(reviewer, owned)])


# --- explain rows -------------------------------------------------------------------------

_REQUEST = re.compile(r"^requests\[(?P<c>[^\]]+)\]\.(?P<r>cpu|memory)$")


def _revert_change(change) -> FieldChange | None:
    """The FieldChange restoring a deploy-history change's previous value, when it raised cost."""
    before, after = change.from_value, change.to_value
    if before is None or after is None or before == after:
        return None
    if change.field in ("parallelism", "replicas"):
        b, a = _num(before), _num(after)
        if b is None or a is None or a <= b:
            return None
        return FieldChange(field=change.field, from_value=str(int(a)), to_value=str(int(b)))
    if change.field == "schedule" and change.kind == "CronJob":
        return FieldChange(field="schedule", from_value=after, to_value=before)
    if m := _REQUEST.match(change.field):
        b, a = _num(before), _num(after)
        if b is None or a is None or a <= b:
            return None
        fmt = _cpu if m["r"] == "cpu" else _mem
        return FieldChange(field=f"{m['r']}_request", container=m["c"], from_value=fmt(a), to_value=fmt(b))
    return None


def _job_history(ctx: Context, obj: ObjectRef, wk: tuple[str, str]) -> list[EvidenceRef]:
    """Job runs of the object (or of its workload's Jobs): when, parallelism, pods succeeded and failed."""
    rows = ctx.db.execute(
        """SELECT job, created_at, completion_time, parallelism, succeeded, failed FROM job_runs
           WHERE cluster = ? AND namespace = ? AND (job = ? OR cronjob = ?) ORDER BY created_at DESC LIMIT 5""",
        [obj.cluster, obj.namespace, obj.name, wk[1]]).fetchall()
    out = []
    for job, created, done, parallelism, ok, failed in rows:
        state = f"completed {done:%Y-%m-%d %H:%M}" if done else "still running"
        out.append(EvidenceRef(tool="deploy_history", ref=f"{obj.cluster}/{obj.namespace}/Job/{job}/job_runs",
                               what=f"Job history: {obj.namespace}/{job} created {created:%Y-%m-%d %H:%M}, {state}, "
                                    f"parallelism {parallelism}, {ok or 0} pods succeeded, {failed or 0} failed",
                               figures={"parallelism": parallelism or 0, "succeeded": ok or 0, "failed": failed or 0}))
    return out


def _workload_increase(ctx: Context, obj: ObjectRef, wk: tuple[str, str], base, cur) -> float:
    sql = ("SELECT coalesce(sum(cost), 0) FROM allocation_hours WHERE cluster = ? AND namespace = ? "
           "AND workload_kind = ? AND workload_name = ? AND hour >= ? AND hour < ?")
    c1 = ctx.db.execute(sql, [obj.cluster, obj.namespace, *wk, cur.start, cur.end]).fetchone()[0]
    c0 = ctx.db.execute(sql, [obj.cluster, obj.namespace, *wk, base.start, base.end]).fetchone()[0]
    return max(c1 - c0, 0.0)


def _explain_plans(ctx: Context, cluster: str, args: ProposeInput, out: ProposeOutput) -> list[Plan]:
    explained = explain_change(ctx, ExplainInput(cluster=cluster, current=args.window, baseline=args.baseline,
                                                 by="namespace"))
    if explained.status != "ok" or not explained.total_delta or explained.total_delta <= 0:
        if explained.reason:
            out.caveats.append(f"{cluster}: {explained.reason}")
        return []
    pools = node_pool_breakdown(ctx, NodePoolInput(cluster=cluster, current=args.window, baseline=args.baseline))
    pool_rows = {p.node_pool: p for p in pools.pools} if pools.status == "ok" else {}
    provider = ctx.db.execute("SELECT provider FROM clusters WHERE cluster = ?", [cluster]).fetchone()
    product = PROVIDER_PRODUCT.get(provider[0] if provider else "", cluster)
    period = "this week's" if args.window == "this-week" else f"{args.window}'s"
    cur = parse_window(ctx, args.window, cluster=cluster)
    base = parse_window(ctx, args.baseline, relative_to=cur, cluster=cluster)
    plans = []
    for row in explained.rows:
        if row.bucket != "workload" or row.delta <= 0 or (row.share_of_increase or 0) < args.min_share:
            continue
        plans += _row_plans(ctx, cluster, row, pool_rows, product, period, explained.total_delta, base, cur, out)
    return plans


def _row_plans(ctx, cluster, row: ExplainRow, pool_rows, product, period, total, base, cur, out) -> list[Plan]:
    finding = (f"{row.key} namespace drove {row.share_of_increase:.0f}% of {period} {product} increase "
               f"({row.delta:+,.2f} of {total:+,.2f}; {row.baseline_cost:,.2f} -> {row.current_cost:,.2f})")
    drivers = ", ".join(f"{k} {v:+,.2f}" for k, v in sorted(row.drivers.items(), key=lambda kv: -abs(kv[1]))
                        if abs(v) >= 0.005)
    evidence = [EvidenceRef(tool="explain_change", ref=f"{cluster}/{row.key}",
                            what=f"{row.key}: {row.delta:+,.2f} ({row.share_of_increase:.1f}% of the increase); "
                                 f"drivers {drivers}",
                            figures={"delta": round(row.delta, 2), "share_of_increase": round(row.share_of_increase, 2)})]
    for move in sorted(row.node_pools, key=lambda m: -m.delta)[:3]:
        if move.delta <= 0:
            continue
        types = f" ({'GPU ' if move.gpu else ''}{', '.join(move.instance_types)})" if move.instance_types else ""
        evidence.append(EvidenceRef(
            tool="node_pool_breakdown", ref=f"{cluster}/{move.node_pool}",
            what=f"node pool {move.node_pool}{types}: {row.key} cost {move.baseline_cost:,.2f} -> "
                 f"{move.current_cost:,.2f}", figures={"delta": round(move.delta, 2)}))
        p = pool_rows.get(move.node_pool)
        if p is not None and (p.gpu or p.current_gpu_node_hours or p.baseline_gpu_node_hours):
            evidence.append(EvidenceRef(
                tool="node_pool_breakdown", ref=f"{cluster}/{move.node_pool}/gpu_node_hours",
                what=f"GPU node hours on {move.node_pool}: {p.baseline_gpu_node_hours:,.0f} -> "
                     f"{p.current_gpu_node_hours:,.0f}",
                figures={"baseline_gpu_node_hours": p.baseline_gpu_node_hours,
                         "current_gpu_node_hours": p.current_gpu_node_hours}))
    seen_events: set[tuple[str, str]] = set()
    for c in row.changes:
        if c.field.startswith("event:"):
            if (c.namespace, c.field) in seen_events:
                continue  # one event of each reason is enough evidence
            seen_events.add((c.namespace, c.field))
        evidence.append(EvidenceRef(tool="deploy_history",
                                    ref=f"{c.timestamp:%Y-%m-%dT%H:%M}/{c.namespace}/{c.kind}/{c.name}/{c.field}",
                                    what=f"{'event' if c.field.startswith('event:') else 'deploy'}: {c.describe()}"))
    plans, seen = [], set()
    for c in row.changes:
        revert = _revert_change(c)
        if revert is None:
            continue
        kind, name = (c.workload_kind or c.kind, c.workload_name or c.name) if c.kind == "ReplicaSet" else (c.kind, c.name)
        obj = ObjectRef(cluster=cluster, kind=kind, namespace=c.namespace, name=name)
        if (obj.kind, obj.name, revert.field, revert.container) in seen:
            continue
        seen.add((obj.kind, obj.name, revert.field, revert.container))
        wk = (c.workload_kind or kind, c.workload_name or name)
        rise = _workload_increase(ctx, obj, wk, base, cur)
        savings = round(rise / cur.hours * HOURS_PER_MONTH, 2)
        level, text = RISKS[revert.field]
        verb = "reduce" if revert.field != "schedule" else "restore"
        what = revert.field.replace("_", " ") + (f" of container {revert.container}" if revert.container else "")

        ev_here = list(evidence) + _job_history(ctx, obj, wk)
        twins = [o for o in row.changes if o is not c and o.from_value == c.from_value and o.to_value == c.to_value
                 and (o.kind, o.name) != (c.kind, c.name)]
        notes = [f"The same {c.from_value} -> {c.to_value} came with {o.namespace}/{o.kind}/{o.name} {o.field} at "
                 f"{o.timestamp:%Y-%m-%d %H:%M}: set it back too, or the next object it creates brings "
                 f"{c.to_value} back." for o in twins]

        def build(reviewer, ev, obj=obj, revert=revert, savings=savings, level=level, text=text, verb=verb,
                  what=what, c=c, notes=notes):
            return make_plan(
                notes=notes,
                finding=finding, evidence=ev,
                action=Action(object=obj, changes=[revert],
                              summary=f"{verb} {what} from {revert.from_value} -> {revert.to_value} "
                                      f"(the value before {c.timestamp:%Y-%m-%d %H:%M})"),
                risk=Risk(level=level, description=text), reviewer=reviewer, monthly_savings=savings,
                confidence="high" if set(c.drivers) & set(row.main_drivers) else "medium",
                source_findings=[f"explain:{cluster}/{row.key}"],
                rollback_note=f"This restores the value set at {c.timestamp:%Y-%m-%d %H:%M}.")

        plan = _finalize(ctx, obj, build, row.current_cost, cur.label, ev_here, [f"explain:{cluster}/{row.key}"],
                         workload=wk)
        out.workloads[plan.plan_id] = (cluster, obj.namespace, *wk)
        plans.append(plan)
    if not plans:
        out.unplanned.append(Unplanned(source="explain_change", ref=f"{cluster}/{row.key}",
                                       reason="no change in the window that raised parallelism, replicas, requests "
                                              "or a schedule to restore"))
    return plans


# --- waste findings -----------------------------------------------------------------------

_FINDING_REQUEST = re.compile(r"^containers\[(?P<c>[^\]]+)\]\.resources\.requests\.(?P<r>cpu|memory)$")


def _spot_gpu_pool(ctx: Context, cluster: str) -> tuple[str, str] | None:
    row = ctx.db.execute(
        """SELECT node_pool, labels FROM nodes WHERE cluster = ? AND capacity_type = 'spot'
           AND coalesce(gpu_allocatable, 0) > 0 ORDER BY node_pool LIMIT 1""", [cluster]).fetchone()
    if row is None:
        return None
    labels = row[1] or {}
    for key in ("cloud.google.com/gke-nodepool", "eks.amazonaws.com/nodegroup", "karpenter.sh/nodepool",
                "kubernetes.azure.com/agentpool", "agentpool", "node.kubernetes.io/pool"):
        if labels.get(key) == row[0]:
            return row[0], key
    return None


def _finding_changes(ctx: Context, f: Finding) -> tuple[list[FieldChange], list[str]]:
    changes, skipped = [], []
    for ch in f.changes:
        m = _FINDING_REQUEST.match(ch.field)
        if m and ch.current is not None and ch.recommended is not None:
            fmt = _cpu if m["r"] == "cpu" else _mem
            changes.append(FieldChange(field=f"{m['r']}_request", container=m["c"], from_value=fmt(ch.current),
                                       to_value=fmt(ch.recommended)))
        elif ch.field in ("spec.replicas", "spec.parallelism", "spec.jobTemplate.spec.parallelism", "spec.schedule") \
                and ch.current is not None and ch.recommended is not None:
            field = ch.field.rsplit(".", 1)[-1]
            changes.append(FieldChange(field=field, from_value=_scalar(ch.current), to_value=_scalar(ch.recommended)))
        elif ch.field in ("spec.suspend", "spec.backoffLimit", "spec.concurrencyPolicy") and ch.recommended is not None:
            field = {"spec.suspend": "suspend", "spec.backoffLimit": "backoff_limit",
                     "spec.concurrencyPolicy": "concurrency_policy"}[ch.field]
            norm = (lambda v: str(v).lower()) if field == "suspend" else _scalar
            changes.append(FieldChange(field=field, from_value=norm(ch.current) if ch.current is not None else UNSET,
                                       to_value=norm(ch.recommended)))
        elif ch.field.endswith("nodeSelector") and (spot := _spot_gpu_pool(ctx, f.object.cluster)):
            changes.append(FieldChange(field="node_pool", from_value=str(ch.current), to_value=spot[0],
                                       pool_label=spot[1]))
        elif ch.field.endswith("storageClassName") and ch.recommended:
            changes.append(FieldChange(field="storage_class", from_value=str(ch.current), to_value=str(ch.recommended)))
        else:
            skipped.append(f"{ch.field} {ch.current} -> {ch.recommended}")
    return changes, skipped


def _finding_plan(ctx: Context, f: Finding, out: ProposeOutput) -> Plan | None:
    try:
        changes, skipped = _finding_changes(ctx, f)
    except ValueError as err:
        out.unplanned.append(Unplanned(source="waste_detectors", ref=f.id, reason=f"change not concrete: {err}"))
        return None
    if not changes:
        out.unplanned.append(Unplanned(source="waste_detectors", ref=f.id, reason=(
            f"{f.detector} on {f.object.label()}: no field edit a patch can express ({'; '.join(skipped) or f.action})")))
        return None
    if f.monthly_savings is None:
        out.unplanned.append(Unplanned(source="waste_detectors", ref=f.id, reason="finding has no priced savings"))
        return None
    try:
        obj = ObjectRef(cluster=f.object.cluster, kind=f.object.kind, namespace=f.object.namespace, name=f.object.name)
        action = Action(object=obj, changes=changes, summary=f.action)
    except ValueError as err:
        out.unplanned.append(Unplanned(source="waste_detectors", ref=f.id, reason=str(err).splitlines()[-1]))
        return None
    figures = {k: v for k, v in f.evidence.figures.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    evidence = [EvidenceRef(tool="waste_detectors", ref=f.id, figures=figures,
                            what=f"{f.detector}: {f.title} ({f.evidence.window_start:%Y-%m-%d} .. "
                                 f"{f.evidence.window_end:%Y-%m-%d}); {f.pricing}")]
    worst = max(changes, key=lambda c: ["low", "medium", "high"].index(RISKS[c.field][0]))
    level, text = RISKS[worst.field]
    if skipped:
        text += f" Not in the patch: {'; '.join(skipped)}."

    def build(reviewer, ev):
        return make_plan(finding=f.title, evidence=ev, action=action, risk=Risk(level=level, description=text),
                         reviewer=reviewer, monthly_savings=f.monthly_savings, confidence=f.confidence,
                         source_findings=[f"waste:{f.id}"])

    window = f"{f.evidence.window_start:%Y-%m-%d}..{f.evidence.window_end:%Y-%m-%d}"
    return _finalize(ctx, obj, build, f.monthly_savings, window, evidence, [f"waste:{f.id}"])


def _with_findings(plan: Plan, out: ProposeOutput, findings: list[Finding]) -> Plan:
    """Add waste findings on the workload an explain plan changes as evidence (e.g. GPU hours of an eval Job)."""
    workload = out.workloads.get(plan.plan_id)
    if workload is None:
        return plan
    extra = [f for f in findings if (f.object.cluster, f.object.namespace, f.object.kind, f.object.name) == workload
             and f"waste:{f.id}" not in plan.source_findings]
    if not extra:
        return plan
    attached = {f.id for f in extra}
    out.unplanned = [u for u in out.unplanned if not (u.source == "waste_detectors" and u.ref in attached)]
    evidence = list(plan.evidence)
    for f in extra:
        figures = {k: v for k, v in f.evidence.figures.items() if isinstance(v, (int, float, str))
                   and not isinstance(v, bool)}
        evidence.insert(-1, EvidenceRef(tool="waste_detectors", ref=f.id, figures=figures,
                                        what=f"{f.detector}: {f.title}; " + ", ".join(
                                            f"{k} {v}" for k, v in figures.items())))
    return plan.model_copy(update={"evidence": evidence,
                                   "source_findings": plan.source_findings + [f"waste:{f.id}" for f in extra]})


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
    known = [r[0] for r in ctx.db.execute(
        "SELECT DISTINCT cluster FROM allocation_hours WHERE cluster <> '' ORDER BY 1").fetchall()]
    if not known:
        return ProposeOutput(status="no_data", reason="no allocated cost; run `allot demo` or `allot ingest ...` first")
    if args.cluster is not None and args.cluster not in known:
        raise ToolRetry(f"cluster {args.cluster!r} has no allocated cost; known clusters: {', '.join(known)}",
                        valid=known)
    out = ProposeOutput(status="ok")
    candidates: list[Plan] = []
    for cluster in [args.cluster] if args.cluster else known:
        try:
            candidates += _explain_plans(ctx, cluster, args, out)
        except InputError as err:
            out.caveats.append(f"{cluster}: explain skipped: {err}")
        try:
            waste = run_detectors(ctx, parse_window(ctx, args.waste_window, cluster=cluster), cluster)
        except InputError as err:
            out.caveats.append(f"{cluster}: waste detectors skipped: {err}")
            continue
        for finding in waste.findings:
            plan = _finding_plan(ctx, finding, out)
            if plan is not None:
                candidates.append(plan)
        candidates = [_with_findings(p, out, waste.findings) for p in candidates]
    merged: dict[str, Plan] = {}
    for plan in candidates:
        merged[plan.plan_id] = merge_plans(merged[plan.plan_id], plan) if plan.plan_id in merged else plan
    out.plans = rank_plans(list(merged.values()))
    return out
