"""``allot export focus``: the allocation as FOCUS 1.3 rows with the Allocated* columns.

Each billing row whose ChargePeriodStart falls in the window is an *origin charge*. A charge
``billing_attribution`` ties to a cluster is split into *allocated charges*, one per allocation
bucket it paid for (workload, ``__idle__`` of a pool, ``__shared__:*``, ``__unowned_storage__``,
``__unallocated__``):

* its cost is spread over the hours of its charge period (as allocation does), and in each
  hour split over the cluster's allocation rows in proportion to the matching cost component:
  node rows -> cpu + memory + gpu cost of the rows in the node's pool, volumes -> storage, load balancers and network ->
  network, observability -> observability, control plane and other -> other cost;
* the per-hour shares sum to the allocated charge's ratio. ``AllocatedMethodDetails`` carries
  it as ``{"Elements": [{"AllocatedRatio": r, "UsageUnit": "CPU"|"Memory"|"GPU"|...}]}`` (one
  element per cost component; a row's elements sum to its share), and the export adds
  ``x_AllocatedRatio`` (the row's total ratio) and ``x_OriginChargeId`` (``file name#row``);
* hours with no allocation row for the component keep their share in one allocated charge
  with ``AllocatedResourceId`` null (the unallocated portion, as FOCUS requires).

Summable cost columns are the origin's times the ratio; dimensions are copied. Every origin
charge's ratios sum to 1 and its allocated costs to its cost, so the export's totals equal the
bill. Charges tied to no cluster (out-of-cluster services) are exported unsplit with null
Allocated* columns. ``AllocatedMethodId`` is ``allot-k8s-hourly-v1``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Literal, TextIO

from pydantic import BaseModel

from tools.context import Context
from tools.windows import Window

METHOD_ID = "allot-k8s-hourly-v1"
COST_COLUMNS = ("billed_cost", "effective_cost", "list_cost", "contracted_cost", "consumed_quantity",
                "pricing_quantity")
DIMENSIONS = (
    ("BillingAccountId", "billing_account_id"), ("BillingAccountName", "billing_account_name"),
    ("SubAccountId", "sub_account_id"), ("SubAccountName", "sub_account_name"),
    ("BillingPeriodStart", "billing_period_start"), ("BillingPeriodEnd", "billing_period_end"),
    ("ChargePeriodStart", "charge_period_start"), ("ChargePeriodEnd", "charge_period_end"),
    ("ChargeCategory", "charge_category"), ("ChargeClass", "charge_class"),
    ("ChargeDescription", "charge_description"), ("ChargeFrequency", "charge_frequency"),
    ("PricingCategory", "pricing_category"), ("BillingCurrency", "billing_currency"),
    ("ConsumedUnit", "consumed_unit"), ("PricingUnit", "pricing_unit"), ("ListUnitPrice", "list_unit_price"),
    ("ContractedUnitPrice", "contracted_unit_price"), ("CommitmentDiscountId", "commitment_discount_id"),
    ("CommitmentDiscountType", "commitment_discount_type"), ("ResourceId", "resource_id"),
    ("ResourceName", "resource_name"), ("ResourceType", "resource_type"), ("RegionId", "region_id"),
    ("RegionName", "region_name"), ("AvailabilityZone", "availability_zone"), ("ServiceName", "service_name"),
    ("ServiceCategory", "service_category"), ("ServiceSubcategory", "service_subcategory"),
    ("ServiceProviderName", "service_provider_name"), ("HostProviderName", "host_provider_name"),
    ("InvoiceIssuerName", "invoice_issuer_name"), ("SkuId", "sku_id"), ("SkuPriceId", "sku_price_id"),
)
METRICS = (("BilledCost", "billed_cost"), ("EffectiveCost", "effective_cost"), ("ListCost", "list_cost"),
           ("ContractedCost", "contracted_cost"), ("ConsumedQuantity", "consumed_quantity"),
           ("PricingQuantity", "pricing_quantity"))
ALLOCATED = ("AllocatedMethodId", "AllocatedMethodDetails", "AllocatedResourceId", "AllocatedResourceName",
             "AllocatedTags", "x_AllocatedRatio", "x_OriginChargeId")
HEADER = [c for c, _ in DIMENSIONS] + [c for c, _ in METRICS] + ["Tags"] + list(ALLOCATED)

# attribution kind -> allocation cost components that paid for it (UsageUnit, column)
COMPONENTS = {
    "node": (("CPU", "cpu_cost"), ("Memory", "memory_cost"), ("GPU", "gpu_cost")),
    "volume": (("Storage", "storage_cost"),),
    "load_balancer": (("Network", "network_cost"),),
    "network": (("Network", "network_cost"),),
    "observability": (("Observability", "observability_cost"),),
    "control_plane": (("Other", "other_cost"),),
    "other": (("Other", "other_cost"),),
}


class FocusExportSummary(BaseModel):
    """What :func:`export_focus` wrote."""

    status: Literal["ok", "no_data"]
    reason: str | None = None
    window: Window
    origin_charges: int
    split_charges: int
    rows: int
    billed_total: float
    effective_total: float


_KIND_CASE = " ".join(f"WHEN '{k}' THEN " + " + ".join(f"a.{col}" for _, col in parts)
                      for k, parts in COMPONENTS.items())

_SPLIT_SQL = f"""
WITH origin AS (
    SELECT row_number() OVER (ORDER BY source_file, source_row, delivery_id) AS oid, *
    FROM billing_rows WHERE charge_period_start >= ? AND charge_period_start < ?
),
klass AS (
    SELECT o.oid, min(ba.cluster || chr(31) || ba.kind) AS ck
    FROM origin o JOIN billing_attribution ba
      ON ba.resource_id IS NOT DISTINCT FROM o.resource_id
     AND ba.resource_name IS NOT DISTINCT FROM o.resource_name
     AND ba.service_name IS NOT DISTINCT FROM o.service_name
     AND ba.hour >= date_trunc('hour', o.charge_period_start)
     AND ba.hour < greatest(o.charge_period_end, o.charge_period_start + INTERVAL 1 HOUR)
    WHERE ba.cluster <> ''
    GROUP BY o.oid
),
split AS (
    SELECT o.oid, split_part(k.ck, chr(31), 1) AS cluster, split_part(k.ck, chr(31), 2) AS kind,
           o.charge_period_start AS ps, o.charge_period_end AS pe,
           (SELECT min(n.node_pool) FROM nodes n
             WHERE n.cluster = split_part(k.ck, chr(31), 1) AND n.instance_id IS NOT NULL AND n.instance_id <> ''
               AND (lower(o.resource_id) = lower(n.instance_id)
                    OR lower(o.resource_id) LIKE '%/' || lower(n.instance_id))) AS pool
    FROM origin o JOIN klass k USING (oid)
),
hours AS (
    SELECT *, unnest(generate_series(date_trunc('hour', ps),
                     CASE WHEN pe > ps THEN pe - INTERVAL 1 MICROSECOND ELSE ps END, INTERVAL 1 HOUR)) AS hour
    FROM split
),
weighted AS (
    SELECT *, CASE WHEN pe > ps THEN (epoch(least(pe, hour + INTERVAL 1 HOUR)) - epoch(greatest(ps, hour)))
                                     / (epoch(pe) - epoch(ps)) ELSE 1.0 END AS share
    FROM hours
),
targets AS (
    SELECT w.oid, w.hour, w.share, a.cluster, a.bucket, a.namespace, a.workload_kind, a.workload_name, a.node_pool,
           {", ".join(f"a.{col}" for col in sorted({c for ps in COMPONENTS.values() for _, c in ps}))},
           CASE w.kind {_KIND_CASE} ELSE 0 END AS weight
    FROM weighted w JOIN allocation_hours a ON a.cluster = w.cluster AND a.hour = w.hour AND NOT a.estimated
     AND (w.kind <> 'node' OR w.pool IS NULL OR a.node_pool = w.pool)
),
pools AS (
    SELECT oid, hour, sum(weight) AS pool FROM targets GROUP BY oid, hour HAVING abs(sum(weight)) > 1e-12
)
SELECT s.oid, s.kind, t.cluster, t.bucket, t.namespace, t.workload_kind, t.workload_name, t.node_pool,
       {", ".join(f"sum(t.share * t.{col} / p.pool)" for col in sorted({c for ps in COMPONENTS.values() for _, c in ps}))}
FROM split s
JOIN targets t USING (oid)
JOIN pools p ON p.oid = t.oid AND p.hour = t.hour
WHERE t.weight <> 0
GROUP BY ALL
ORDER BY s.oid, t.cluster, t.bucket, t.namespace, t.workload_kind, t.workload_name, t.node_pool
"""
_SPLIT_COLUMNS = sorted({c for ps in COMPONENTS.values() for _, c in ps})


def _fmt(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    return str(value)


_VOLATILE = {"pod-template-hash", "controller-revision-hash", "controller-uid", "job-name",
             "statefulset.kubernetes.io/pod-name", "kubernetes.io/metadata.name"}


def _volatile(key: str) -> bool:
    """Labels Kubernetes sets per revision or run: not tags anyone allocates by."""
    return key in _VOLATILE or key.startswith("batch.kubernetes.io/")


def _resource_id(cluster: str, bucket: str, ns: str, kind: str, name: str, pool: str) -> str:
    if bucket == "idle":
        return f"k8s://{cluster}/node-pool/{pool}/__idle__"
    if bucket == "workload":
        return f"k8s://{cluster}/{ns}/{kind}/{name}"
    return f"k8s://{cluster}/{name}" + (f"/{ns}" if ns else "")


def export_focus(ctx: Context, window: Window, out: TextIO) -> FocusExportSummary:
    """Write the window's bill as FOCUS 1.3 CSV rows to ``out``, cluster charges split by the allocation.

    Args:
        ctx: Warehouse context.
        window: Billing rows whose ChargePeriodStart falls in it are exported.
        out: A text stream opened by the caller (newline='').

    Returns:
        Counts and totals; status no_data (with the reason) when the window holds no billing rows.
    """
    cols = ", ".join(c for _, c in DIMENSIONS + METRICS)
    origins = ctx.db.execute(
        f"""SELECT row_number() OVER (ORDER BY source_file, source_row, delivery_id) AS oid, source_file, source_row,
                   tags, {cols}
            FROM billing_rows WHERE charge_period_start >= ? AND charge_period_start < ? ORDER BY oid""",
        [window.start, window.end]).fetchall()
    parts: dict[int, list[tuple]] = {}
    for row in ctx.db.execute(_SPLIT_SQL, [window.start, window.end]).fetchall():
        parts.setdefault(row[0], []).append(row)
    owners = {(c, ns, k, n): (labels or {}) for c, ns, k, n, labels in ctx.db.execute(
        "SELECT cluster, namespace, workload_kind, workload_name, labels FROM workload_owners").fetchall()}
    n_dims = len(DIMENSIONS)
    written = 0
    billed = effective = 0.0
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for origin in origins:
        oid, source_file, source_row, tags = origin[:4]
        dims = [_fmt(v) for v in origin[4:4 + n_dims]]
        metrics = origin[4 + n_dims:]
        tag_text = json.dumps(tags or {}, sort_keys=True)
        origin_id = f"{Path(source_file).name}#{source_row}"
        billed += metrics[0] or 0.0
        effective += metrics[1] or 0.0
        splits = parts.get(oid)
        if not splits:
            writer.writerow(dims + [_fmt(m) for m in metrics] + [tag_text, "", "", "", "", "", "", origin_id])
            written += 1
            continue
        kind = splits[0][1]
        rows_out = []
        for s in splits:
            comp = dict(zip(_SPLIT_COLUMNS, s[8:]))
            elements = [{"AllocatedRatio": comp[col], "UsageUnit": unit}
                        for unit, col in COMPONENTS[kind] if comp[col]]
            ratio = sum(e["AllocatedRatio"] for e in elements)
            cluster, bucket, ns, wkind, name, pool = s[2:8]
            labels = owners.get((cluster, ns, wkind, name), {}) if bucket == "workload" else {}
            atags = {"allot/cluster": cluster, "allot/bucket": bucket, "allot/namespace": ns,
                     "allot/workload": f"{wkind}/{name}" if bucket == "workload" else name,
                     "allot/node_pool": pool,
                     **{f"k8s/{k}": v for k, v in sorted(labels.items()) if not _volatile(k)}}
            rows_out.append((ratio, elements, _resource_id(cluster, bucket, ns, wkind, name, pool),
                             f"{ns}/{name}" if ns and bucket == "workload" else name, atags))
        rest = 1.0 - sum(r[0] for r in rows_out)
        if abs(rest) > 1e-9:  # hours with nothing to split over: the unallocated portion
            rows_out.append((rest, [{"AllocatedRatio": rest, "UsageUnit": "Unallocated"}], None, None, None))
        for ratio, elements, rid, rname, atags in rows_out:
            scaled = ["" if m is None else _fmt(m * ratio) for m in metrics]
            writer.writerow(dims + scaled + [
                tag_text, METHOD_ID, json.dumps({"Elements": elements, "x_Kind": kind}),
                rid or "", rname or "", json.dumps(atags, sort_keys=True) if atags else "", repr(ratio), origin_id])
            written += 1
    reason = None if origins else f"no billing rows with a charge period starting in {window.describe()}"
    return FocusExportSummary(status="ok" if origins else "no_data", reason=reason, window=window,
                              origin_charges=len(origins), split_charges=len(parts), rows=written,
                              billed_total=billed, effective_total=effective)
