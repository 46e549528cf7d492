"""Plans from waste findings: each proposed change a patch can express becomes a plan priced by
the finding's savings; findings on the workload an explain plan changes join it as evidence."""

from __future__ import annotations

import re

from tools.context import Context
from tools.detectors.finding import Finding
from tools.plans.compose import make_plan
from tools.plans.model import UNSET, Action, EvidenceRef, FieldChange, ObjectRef, Plan, Risk
from tools.plans.proposal import (
    RISKS, ProposeOutput, Unplanned, cpu_quantity, finalize, memory_quantity, scalar_text,
)

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
            fmt = cpu_quantity if m["r"] == "cpu" else memory_quantity
            changes.append(FieldChange(field=f"{m['r']}_request", container=m["c"], from_value=fmt(ch.current),
                                       to_value=fmt(ch.recommended)))
        elif ch.field in ("spec.replicas", "spec.parallelism", "spec.jobTemplate.spec.parallelism", "spec.schedule") \
                and ch.current is not None and ch.recommended is not None:
            field = ch.field.rsplit(".", 1)[-1]
            changes.append(FieldChange(field=field, from_value=scalar_text(ch.current), to_value=scalar_text(ch.recommended)))
        elif ch.field in ("spec.suspend", "spec.backoffLimit", "spec.concurrencyPolicy") and ch.recommended is not None:
            field = {"spec.suspend": "suspend", "spec.backoffLimit": "backoff_limit",
                     "spec.concurrencyPolicy": "concurrency_policy"}[ch.field]
            norm = (lambda v: str(v).lower()) if field == "suspend" else scalar_text
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


def finding_plan(ctx: Context, f: Finding, out: ProposeOutput) -> Plan | None:
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
    return finalize(ctx, obj, build, f.monthly_savings, window, evidence, [f"waste:{f.id}"])


def with_findings(plan: Plan, out: ProposeOutput, findings: list[Finding]) -> Plan:
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
