"""Plans from explain rows: a namespace that drove a share of the increase, with a change in the
window that raised parallelism, replicas or a request (or changed a CronJob schedule), gets a
plan restoring the previous value. Evidence: the explain row, the node pools (and GPU node
hours) where its cost moved, the deploys, scaling events and Job history, and the owner label."""

from __future__ import annotations

import re

from tools.context import Context
from tools.explain import PROVIDER_PRODUCT, ExplainInput, ExplainRow, explain_change
from tools.node_pool_breakdown import NodePoolInput, node_pool_breakdown
from tools.plans.compose import make_plan
from tools.plans.model import Action, EvidenceRef, FieldChange, ObjectRef, Plan, Risk
from tools.plans.proposal import (
    HOURS_PER_MONTH, RISKS, ProposeInput, ProposeOutput, Unplanned, cpu_quantity, finalize, memory_quantity, number,
)
from tools.windows import parse_window

_REQUEST = re.compile(r"^requests\[(?P<c>[^\]]+)\]\.(?P<r>cpu|memory)$")


def _revert_change(change) -> FieldChange | None:
    """The FieldChange restoring a deploy-history change's previous value, when it raised cost."""
    before, after = change.from_value, change.to_value
    if before is None or after is None or before == after:
        return None
    if change.field in ("parallelism", "replicas"):
        b, a = number(before), number(after)
        if b is None or a is None or a <= b:
            return None
        return FieldChange(field=change.field, from_value=str(int(a)), to_value=str(int(b)))
    if change.field == "schedule" and change.kind == "CronJob":
        return FieldChange(field="schedule", from_value=after, to_value=before)
    if m := _REQUEST.match(change.field):
        b, a = number(before), number(after)
        if b is None or a is None or a <= b:
            return None
        fmt = cpu_quantity if m["r"] == "cpu" else memory_quantity
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


def explain_plans(ctx: Context, cluster: str, args: ProposeInput, out: ProposeOutput) -> list[Plan]:
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

        plan = finalize(ctx, obj, build, row.current_cost, cur.label, ev_here, [f"explain:{cluster}/{row.key}"],
                         workload=wk)
        out.workloads[plan.plan_id] = (cluster, obj.namespace, *wk)
        plans.append(plan)
    if not plans:
        out.unplanned.append(Unplanned(source="explain_change", ref=f"{cluster}/{row.key}",
                                       reason="no change in the window that raised parallelism, replicas, requests "
                                              "or a schedule to restore"))
    return plans
