"""Persistent volumes nobody uses: no claim, Released, or a claim no pod mounted for days.

* a PV with no claim (``Available``) or ``Released`` / ``Failed`` (its claim is gone) that is
  still billed;
* a bound PVC that no pod mounted (``pod_volumes`` joined to the pods' last sighting) in the
  last ``unmounted_days`` of the window, and that is at least that old.

Savings = the volume's billed cost in the window (billing_attribution rows matched to the
PV's volume id) per hour x 730. A volume with no billing row is priced at the cluster's
allocated storage $/GiB-hour x its size, with medium confidence.
"""

from __future__ import annotations

from datetime import timedelta

from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.owners import OwnerLookup
from tools.detectors.pricing import storage_price_per_gib_hour, volume_costs
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import GIB, HOURS_PER_MONTH

NAME = "orphaned_volume"


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    billed = volume_costs(scope)
    per_gib = storage_price_per_gib_hour(scope)
    end = scope.window.end
    since = max(scope.window.start, end - timedelta(days=s.unmounted_days))
    cond, params = scope.cluster_only("v")
    rows = scope.rows(
        f"""
        WITH mounted AS (
            SELECT m.cluster, m.namespace, m.pvc, max(p.last_seen) AS last_mounted
            FROM pod_volumes m JOIN pods p USING (cluster, namespace, pod) GROUP BY ALL
        )
        SELECT v.cluster, v.pv, v.phase, v.claim_namespace, v.claim_name, v.volume_id, v.storage_class,
               coalesce(v.capacity_bytes, c.request_bytes) AS size_bytes,
               coalesce(c.created_at, v.created_at) AS created_at, c.pvc IS NOT NULL AS claim_exists,
               m.last_mounted
        FROM pvs v
        LEFT JOIN pvcs c ON c.cluster = v.cluster AND c.namespace = v.claim_namespace AND c.pvc = v.claim_name
        LEFT JOIN mounted m ON m.cluster = v.cluster AND m.namespace = v.claim_namespace AND m.pvc = v.claim_name
        WHERE {cond} AND (v.created_at IS NULL OR v.created_at < ?)
        ORDER BY ALL""",
        params + [end],
    )
    has_mounts = {r["cluster"] for r in scope.rows("SELECT DISTINCT cluster FROM pod_volumes", [])}
    for r in rows:
        phase = (r["phase"] or "").capitalize()
        if r["claim_name"] is None or phase in ("Available",):
            reason, kind = "has no claim", "PersistentVolume"
        elif phase in ("Released", "Failed") or not r["claim_exists"]:
            reason, kind = f"is {phase or 'unbound'}: its claim {r['claim_namespace']}/{r['claim_name']} is gone", \
                "PersistentVolume"
        elif r["cluster"] not in has_mounts:  # no pod volume data at all: cannot tell unmounted
            continue
        else:
            old = r["created_at"] is None or r["created_at"] <= since
            if r["last_mounted"] is not None and r["last_mounted"] >= since or not old:
                continue
            last = r["last_mounted"].isoformat() if r["last_mounted"] else "never in the data"
            reason, kind = f"claim is mounted by no pod (last: {last})", "PersistentVolumeClaim"
        lacked = []
        cost = billed.get((r["cluster"], r["pv"]))
        if cost is not None:
            per_hour, pricing, confidence = cost / scope.hours, "the volume's billed cost per hour x 730 h", "high"
        elif r["size_bytes"] and r["cluster"] in per_gib:
            per_hour = r["size_bytes"] / GIB * per_gib[r["cluster"]]
            pricing, confidence = "size x the cluster's allocated storage $/GiB-hour x 730 h", "medium"
            lacked.append("a billing row for this volume")
        else:
            per_hour, pricing, confidence = None, "", "low"
            lacked.append("a billing row or storage price for this volume")
        savings = None if per_hour is None else round(per_hour * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        if kind == "PersistentVolume":
            obj = ObjectRef(cluster=r["cluster"], kind=kind, name=r["pv"])
            owner = owners.namespace(r["cluster"], r["claim_namespace"]) if r["claim_namespace"] else None
        else:
            obj = ObjectRef(cluster=r["cluster"], namespace=r["claim_namespace"], kind=kind, name=r["claim_name"])
            owner = owners.namespace(r["cluster"], r["claim_namespace"])
        size_gib = round(r["size_bytes"] / GIB, 2) if r["size_bytes"] else None
        out.findings.append(Finding(
            detector=NAME, object=obj, owner=owner or owners.namespace(r["cluster"], ""),
            evidence=scope.evidence(pv=r["pv"], phase=r["phase"], claim=f"{r['claim_namespace']}/{r['claim_name']}"
                                    if r["claim_name"] else None, volume_id=r["volume_id"], size_gib=size_gib,
                                    storage_class=r["storage_class"],
                                    last_mounted=r["last_mounted"].isoformat() if r["last_mounted"] else None,
                                    billed_cost_in_window=cost),
            title=f"Volume {r['pv']} ({size_gib if size_gib is not None else '?'} GiB) {reason}",
            thresholds={"unmounted_days": s.unmounted_days},
            action=(f"snapshot, then delete {kind} {obj.name}" + (" and its PV" if kind != "PersistentVolume" else "")),
            changes=[Change(field="object", current="present", recommended="deleted (after a snapshot)")],
            monthly_savings=savings, pricing=pricing, confidence=confidence, lacked=lacked,
        ))
    return out
