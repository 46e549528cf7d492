"""Over-requested CPU and memory: requests far above what containers use.

Per container over the window, CPU is judged at its p95 hourly average and memory at its
maximum working set. The recommendation is that value x 1.15 (``request_headroom``), floored
at 10m CPU and 100Mi memory, rounded up to whole millicores / MiB. A side is flagged when the
current request is at least ``over_request_min_ratio`` x the recommendation. A container needs
``min_samples`` (100) hourly samples spanning ``min_span_hours`` (24 h), else it is skipped
as "not enough data". A side an HPA scales on is skipped, naming the HPA.

Savings: (request - recommendation) x the workload's allocated $/core-hour (or $/GiB-hour)
x its average concurrent containers x 730 h.
"""

from __future__ import annotations

import math
from collections import defaultdict

from tools.detectors.finding import Change, Finding, ObjectRef, Skipped
from tools.detectors.owners import OwnerLookup
from tools.detectors.pricing import workload_prices
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import GIB, HOURS_PER_MONTH, MIB

NAME = "over_requested"


def _container_stats(scope: Scope) -> list[dict]:
    q = scope.settings.cpu_quantile
    return scope.rows(
        f"""
        SELECT c.cluster, c.namespace, p.workload_kind, p.workload_name, c.container,
               count(*) AS container_hours, {scope.distinct_hours('c')} AS hours,
               count(c.cpu_usage) AS cpu_samples, count(c.memory_usage) AS mem_samples,
               min(c.hour) FILTER (WHERE c.cpu_usage IS NOT NULL) AS cpu_first,
               max(c.hour) FILTER (WHERE c.cpu_usage IS NOT NULL) AS cpu_last,
               min(c.hour) FILTER (WHERE c.memory_usage IS NOT NULL) AS mem_first,
               max(c.hour) FILTER (WHERE c.memory_usage IS NOT NULL) AS mem_last,
               quantile_cont(c.cpu_usage, {q}) AS cpu_p95, max(c.memory_usage) AS mem_max,
               arg_max(c.cpu_request, c.hour) AS cpu_request, arg_max(c.memory_request, c.hour) AS mem_request
        FROM container_hours c JOIN pods p USING (cluster, namespace, pod)
        WHERE {scope.where('c')}
        GROUP BY ALL ORDER BY ALL""",
        scope.params(),
    )


def _hpa_resources(scope: Scope) -> dict[tuple[str, str, str, str], list[tuple[str, str]]]:
    cond, params = scope.cluster_only()
    out: dict[tuple[str, str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in scope.rows(
        f"SELECT cluster, namespace, hpa, target_kind, target_name, metric_resources FROM hpas WHERE {cond}", params
    ):
        for res in r["metric_resources"] or []:
            out[(r["cluster"], r["namespace"], r["target_kind"], r["target_name"])].append((res, r["hpa"]))
    return out


def _quantity(change: Change) -> str:
    """``4 -> 659m`` for CPU, ``8192Mi -> 1225Mi`` for memory (Kubernetes quantities)."""
    if change.field.endswith(".cpu"):
        return f"{change.current * 1000:.0f}m -> {change.recommended * 1000:.0f}m"
    return f"{change.current / MIB:.0f}Mi -> {change.recommended / MIB:.0f}Mi"


def _span_hours(first, last) -> float:
    return 0.0 if first is None else (last - first).total_seconds() / 3600 + 1


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    prices = workload_prices(scope)
    owners = OwnerLookup(scope)
    hpas = _hpa_resources(scope)
    thresholds = {
        "cpu_quantile": s.cpu_quantile, "headroom": s.request_headroom, "cpu_floor_cores": s.cpu_floor_cores,
        "memory_floor_bytes": s.memory_floor_bytes, "min_samples": s.min_samples,
        "min_span_hours": s.min_span_hours, "min_ratio": s.over_request_min_ratio,
    }
    by_workload: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
    for row in _container_stats(scope):
        by_workload[(row["cluster"], row["namespace"], row["workload_kind"], row["workload_name"])].append(row)

    for key, containers in by_workload.items():
        cluster, namespace, kind, name = key
        obj = ObjectRef(cluster=cluster, namespace=namespace, kind=kind, name=name)
        scaled_on = dict(hpas.get(key, []))
        price = prices.get(key)
        changes: list[Change] = []
        figures: dict = {}
        lacked: list[str] = []
        monthly = 0.0
        priced = True
        short_span = False
        for c in containers:
            cname = c["container"]
            instances = c["container_hours"] / c["hours"] if c["hours"] else 0.0
            sides = []
            for res, samples, first, last, value, request in (
                ("cpu", c["cpu_samples"], c["cpu_first"], c["cpu_last"], c["cpu_p95"], c["cpu_request"]),
                ("memory", c["mem_samples"], c["mem_first"], c["mem_last"], c["mem_max"], c["mem_request"]),
            ):
                if res in scaled_on:
                    out.skipped.append(Skipped(detector=NAME, object=obj, reason=(
                        f"container {cname}: {res} not judged, HPA {scaled_on[res]} scales on {res}")))
                    continue
                if not request:
                    continue
                span = _span_hours(first, last)
                if samples == 0:
                    lacked.append(f"{res} usage of container {cname}")
                    out.skipped.append(Skipped(detector=NAME, object=obj, reason=(
                        f"container {cname}: no {res} usage data in the window")))
                    continue
                if samples < s.min_samples or span < s.min_span_hours:
                    out.skipped.append(Skipped(detector=NAME, object=obj, reason=(
                        f"container {cname}: not enough data for {res}: {samples} samples over {span:.0f} h "
                        f"(needs {s.min_samples} over {s.min_span_hours:.0f} h)")))
                    continue
                short_span = short_span or span < s.high_confidence_span_hours
                if res == "cpu":
                    rec = max(math.ceil(value * s.request_headroom * 1000 - 1e-9) / 1000, s.cpu_floor_cores)
                    unit_price = price.cpu_per_core_hour if price else None
                    delta_units = request - rec
                else:
                    rec = max(math.ceil(value * s.request_headroom / MIB - 1e-9) * MIB, s.memory_floor_bytes)
                    unit_price = price.memory_per_gib_hour if price else None
                    delta_units = (request - rec) / GIB
                figures[f"{cname}.{res}_request"] = request
                figures[f"{cname}.{res}_{'p95' if res == 'cpu' else 'max'}"] = round(value, 6)
                figures[f"{cname}.{res}_samples"] = samples
                if request < s.over_request_min_ratio * rec:
                    continue
                sides.append(res)
                changes.append(Change(field=f"containers[{cname}].resources.requests.{res}",
                                      current=request, recommended=rec))
                if unit_price is None:
                    priced = False
                else:
                    monthly += delta_units * unit_price * instances * HOURS_PER_MONTH
            if sides:
                figures[f"{cname}.avg_instances"] = round(instances, 4)
        if not changes:
            continue
        if not priced:
            lacked.append("allocated unit price for this workload")
        if price:
            figures["cpu_price_per_core_hour"] = price.cpu_per_core_hour
            figures["memory_price_per_gib_hour"] = price.memory_per_gib_hour
        if scaled_on:
            figures["hpa"] = ", ".join(sorted(set(scaled_on.values())))
        savings = round(monthly, 2) if priced else None
        if savings is not None and savings < s.min_monthly_savings:
            continue
        ev = scope.evidence(**figures)
        what = " and ".join(sorted({ch.field.rsplit(".", 1)[1] for ch in changes}))
        out.findings.append(Finding(
            detector=NAME, object=obj, owner=owners.workload(cluster, namespace, kind, name), evidence=ev,
            title=f"{kind} {namespace}/{name} requests far more {what} than it uses",
            thresholds=thresholds,
            action="lower requests to the recommendation: " + "; ".join(
                f"{ch.field} {_quantity(ch)}" for ch in changes),
            changes=changes, monthly_savings=savings,
            pricing="(request - recommendation) x the workload's allocated unit price x avg containers x 730 h",
            confidence="medium" if short_span or lacked else "high", lacked=lacked,
        ))
    return out
