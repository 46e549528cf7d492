"""AI evaluation jobs on production or on-demand GPU pools, or outside their schedule window.

An evaluation workload has a ``workload_type`` (workload_owners) in ``eval_workload_types`` or
a namespace / workload name matching ``eval_name_patterns``. It is flagged when it used GPU
hours on a pool that is on-demand or has the prod / ha profile, or (when
``eval_schedule_hours`` is set) GPU hours outside those UTC hours. Only a profile named by
the ``allot.dev/profile`` node label or ``pool_profiles`` counts here, not the default.

Savings = its allocated GPU cost on those pools x (1 - the cluster's cheapest spot GPU pool's
allocated $/GPU-hour / the pool's $/GPU-hour), per window hour x 730. Without a spot GPU pool
to price from, ``spot_savings_share`` of the GPU cost is used, with low confidence.
"""

from __future__ import annotations

import re

from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.owners import OwnerLookup
from tools.detectors.pool_usage import pool_profile
from tools.detectors.pricing import pool_prices
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "eval_jobs_on_prod_gpu"


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    prices = pool_prices(scope)
    patterns = [re.compile(p) for p in s.eval_name_patterns]
    cond, cparams = scope.cluster_only()
    pools = {(r["cluster"], r["node_pool"]): r for r in scope.rows(
        f"""SELECT cluster, node_pool, bool_and(capacity_type = 'spot') AS spot, max(gpu_allocatable) AS gpus,
                   max(labels['allot.dev/profile']) AS profile_label
            FROM nodes WHERE {cond} GROUP BY ALL""", cparams)}
    spot_price: dict[str, float] = {}
    for (cluster, pool), meta in pools.items():
        per_gpu = prices[(cluster, pool)].per_gpu_hour if (cluster, pool) in prices else None
        if meta["spot"] and (meta["gpus"] or 0) > 0 and per_gpu:
            spot_price[cluster] = min(spot_price.get(cluster, per_gpu), per_gpu)
    hours_filter = ""
    if s.eval_schedule_hours is not None:
        allowed = ", ".join(str(int(h)) for h in s.eval_schedule_hours) or "-1"
        hours_filter = f", sum(gpu_hours) FILTER (WHERE hour(a.hour) NOT IN ({allowed})) AS off_hours"
    rows = scope.rows(
        f"""SELECT a.cluster, a.namespace, a.workload_kind, a.workload_name, a.node_pool,
                   sum(a.gpu_hours) AS gpu_hours, sum(a.gpu_cost) AS gpu_cost, o.workload_type{hours_filter}
            FROM allocation_hours a LEFT JOIN workload_owners o USING (cluster, namespace, workload_kind, workload_name)
            WHERE a.bucket = 'workload' AND a.gpu_hours > 0 AND {scope.where('a')}
            GROUP BY ALL ORDER BY ALL""",
        scope.params(),
    )
    by_workload: dict[tuple, list[dict]] = {}
    for r in rows:
        is_eval = (r["workload_type"] or "").lower() in s.eval_workload_types or any(
            p.search(r["namespace"]) or p.search(r["workload_name"]) for p in patterns)
        if is_eval:
            by_workload.setdefault((r["cluster"], r["namespace"], r["workload_kind"], r["workload_name"]), []).append(r)
    for key, pool_rows in by_workload.items():
        cluster = key[0]
        bad, reasons, saved, lacked = [], set(), 0.0, []
        gpu_hours = 0.0
        for r in pool_rows:
            meta = pools.get((cluster, r["node_pool"]), {})
            profile = pool_profile(scope, (cluster, r["node_pool"]), meta.get("profile_label"), default=False)
            why = []
            if not meta.get("spot", False):
                why.append("on-demand")
            if profile in ("prod", "ha"):
                why.append(f"{profile} profile")
            off = r.get("off_hours") or 0.0
            if not why and not off:
                continue
            bad.append(r["node_pool"])
            reasons.update(why)
            if off:
                reasons.add(f"{off:g} GPU-hours outside the schedule window")
            gpu_hours += r["gpu_hours"]
            price = prices.get((cluster, r["node_pool"]))
            here = price.per_gpu_hour if price else None
            if cluster in spot_price and here and spot_price[cluster] < here:
                saved += r["gpu_cost"] * (1 - spot_price[cluster] / here)
            else:
                saved += r["gpu_cost"] * s.spot_savings_share
                if "a spot GPU pool to price the move" not in lacked:
                    lacked.append("a spot GPU pool to price the move")
        if not bad:
            continue
        savings = round(saved / scope.hours * HOURS_PER_MONTH, 2)
        if savings < s.min_monthly_savings:
            continue
        obj = ObjectRef(cluster=cluster, namespace=key[1], kind=key[2], name=key[3])
        target = "a spot GPU pool" if cluster in spot_price else "spot GPU nodes"
        out.findings.append(Finding(
            detector=NAME, object=obj, owner=owners.workload(*key),
            evidence=scope.evidence(node_pools=", ".join(sorted(set(bad))), gpu_hours=round(gpu_hours, 2),
                                    gpu_cost=round(sum(r["gpu_cost"] for r in pool_rows), 2),
                                    workload_type=pool_rows[0]["workload_type"],
                                    spot_price_per_gpu_hour=spot_price.get(cluster)),
            title=f"Eval workload {key[1]}/{key[3]} runs on {', '.join(sorted(set(bad)))} ({', '.join(sorted(reasons))})",
            thresholds={"eval_workload_types": s.eval_workload_types, "eval_name_patterns": s.eval_name_patterns,
                        "eval_schedule_hours": s.eval_schedule_hours},
            action=f"move {key[2]} {key[3]} to {target} (nodeSelector/tolerations) and run it in a schedule window",
            changes=[Change(field="spec.template.spec.nodeSelector", current=", ".join(sorted(set(bad))),
                            recommended=target)],
            monthly_savings=savings,
            pricing="GPU cost on those pools x (1 - spot $/GPU-hour / pool $/GPU-hour), per window hour x 730 h",
            confidence="high" if not lacked else "low", lacked=lacked,
        ))
    return out
