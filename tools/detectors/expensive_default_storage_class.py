"""Expensive default StorageClass: the default is a premium disk tier nobody showed a need for.

The default StorageClass is premium when its ``type`` / ``skuName`` / ``storageaccounttype``
parameter is one of ``premium_storage_tiers`` (io1, io2, pd-ssd, pd-extreme, Premium_LRS, ...).
The warehouse holds no per-volume IOPS series, so the IOPS need of the volumes on it is
unknown; the finding says so and its confidence is medium. Only classes with volumes on them
are reported. Savings = the billed cost of those volumes in the window (billing_attribution)
per hour x the tier's ``premium_storage_savings_share`` x 730.
"""

from __future__ import annotations

from collections import defaultdict

from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.pricing import volume_costs
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import GIB, HOURS_PER_MONTH

NAME = "expensive_default_storage_class"
TIER_PARAMETERS = ("type", "skuName", "skuname", "storageaccounttype", "storageAccountType")


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    billed = volume_costs(scope)
    cond, params = scope.cluster_only("sc")
    classes = scope.rows(
        f"SELECT cluster, name, provisioner, parameters FROM storage_classes sc WHERE {cond} AND is_default "
        "ORDER BY ALL", params)
    volumes = defaultdict(list)
    for v in scope.rows(
        f"""SELECT v.cluster, v.pv, coalesce(v.storage_class, c.storage_class) AS storage_class, v.capacity_bytes
            FROM pvs v LEFT JOIN pvcs c ON c.cluster = v.cluster AND c.namespace = v.claim_namespace
                 AND c.pvc = v.claim_name
            WHERE {cond.replace('sc.', 'v.')} AND (v.created_at IS NULL OR v.created_at < ?)""",
        params + [scope.window.end],
    ):
        volumes[(v["cluster"], v["storage_class"])].append(v)
    for sc in classes:
        parameters = sc["parameters"] or {}
        tier = next((parameters[k] for k in TIER_PARAMETERS if k in parameters), None)
        if tier is None or tier.lower() not in s.premium_storage_tiers:
            continue
        vols = volumes.get((sc["cluster"], sc["name"]), [])
        if not vols:
            continue
        cheaper = s.premium_storage_tiers[tier.lower()]
        share = s.premium_storage_savings_share.get(tier.lower(), 0.0)
        costs = [billed.get((v["cluster"], v["pv"])) for v in vols]
        known = [c for c in costs if c is not None]
        lacked = ["IOPS need of the volumes (no per-volume IOPS series)"]
        if len(known) < len(costs):
            lacked.append(f"billing rows for {len(costs) - len(known)} of {len(costs)} volumes")
        cost = sum(known) if known else None
        savings = None if cost is None else round(cost / scope.hours * share * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        size = sum(v["capacity_bytes"] or 0.0 for v in vols) / GIB
        out.findings.append(Finding(
            detector=NAME, object=ObjectRef(cluster=sc["cluster"], kind="StorageClass", name=sc["name"]),
            evidence=scope.evidence(provisioner=sc["provisioner"], tier=tier, volumes=len(vols),
                                    provisioned_gib=round(size, 2), billed_cost_in_window=cost,
                                    cheaper_tier=cheaper, tier_savings_share=share),
            title=f"Default StorageClass {sc['cluster']}/{sc['name']} is premium {tier} for {len(vols)} volumes "
                  "with no known IOPS need",
            thresholds={"premium_tiers": sorted(s.premium_storage_tiers), "savings_share": share},
            action=f"make a {cheaper} StorageClass the default and migrate volumes without an IOPS need to it",
            changes=[Change(field="parameters.type", current=tier, recommended=cheaper),
                     Change(field="annotations[storageclass.kubernetes.io/is-default-class]",
                            current="true", recommended="false")],
            monthly_savings=savings,
            pricing=f"billed cost of its volumes per hour x {share:.0%} (the {cheaper} price gap) x 730 h",
            confidence="medium", lacked=lacked,
        ))
    return out
