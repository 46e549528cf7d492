"""Compose a validated plan: rollback from the action, patches for both, merging per object."""

from __future__ import annotations

from tools.plans.model import (
    OWNER_PLACEHOLDER, UNSET, Action, EvidenceRef, FieldChange, ObjectRef, Plan, PlanKind, Reviewer, Risk,
    Rollback,
)
from tools.plans.patches import build_patches, check_patch

_LEVEL = {"low": 0, "medium": 1, "high": 2}


def make_plan(
    *,
    finding: str,
    evidence: list[EvidenceRef],
    action: Action,
    risk: Risk,
    reviewer: Reviewer,
    monthly_savings: float | None,
    confidence: str = "medium",
    source_findings: list[str] | None = None,
    plan_kind: PlanKind = "optimize",
    rollback_note: str = "",
    current: dict | None = None,
    notes: list[str] | None = None,
) -> Plan:
    """Build a plan whose rollback restores the action's previous values and whose patches are checked.

    Raises:
        pydantic.ValidationError: a field is missing or not concrete (the message names it and the fix).
        InputError: a patch is not valid Kubernetes for the object's kind.
    """
    rollback = Rollback(changes=[c.inverse() for c in action.changes], note=rollback_note)
    patch = build_patches(action, current)
    if notes and patch:
        patch[0] = patch[0].model_copy(update={"notes": patch[0].notes + list(notes)})
    rollback_patch = build_patches(Action(object=action.object, changes=rollback.changes), current)
    for p in patch + rollback_patch:
        check_patch(p, current if p.patch_type != "manifest" else None)
    return Plan(
        plan_kind=plan_kind, finding=finding, evidence=evidence, action=action, risk=risk,
        rollback=rollback, reviewer=reviewer, monthly_savings=monthly_savings, confidence=confidence,
        source_findings=source_findings or [], patch=patch, rollback_patch=rollback_patch,
    )


def assign_owner_plan(
    obj: ObjectRef, *, cost: float, window_label: str, evidence: list[EvidenceRef], reviewer: Reviewer,
    source_findings: list[str] | None = None,
) -> Plan:
    """The plan for an unowned workload: set its owner label, decided by whoever owns the namespace."""
    action = Action(
        object=obj,
        changes=[FieldChange(field="owner_label", from_value=UNSET, to_value=OWNER_PLACEHOLDER)],
        summary=f"assign an owner to {obj.describe()} (label owner={OWNER_PLACEHOLDER})",
    )
    return make_plan(
        plan_kind="assign_owner",
        finding=f"{obj.describe()} has no owner: {cost:,.2f} of cost in {window_label} that no team reviews",
        evidence=evidence,
        action=action,
        risk=Risk(level="low", description="None to the workload; labels do not change pods or scheduling."),
        reviewer=reviewer,
        monthly_savings=None,
        confidence="high",
        source_findings=source_findings,
        rollback_note="Remove the owner label.",
    )


def merge_plans(first: Plan, second: Plan) -> Plan:
    """One object, one plan: combine two plans on the same object into one.

    The changes of both are kept (for a field both change, the first plan's values win), the
    evidence and source findings are joined, savings combine without double counting
    (:func:`_merged_savings`), the higher risk and the lower confidence are kept.
    """
    seen = {(c.field, c.container) for c in first.action.changes}
    changes = list(first.action.changes) + [c for c in second.action.changes if (c.field, c.container) not in seen]
    refs = {(e.tool, e.ref) for e in first.evidence}
    evidence = list(first.evidence) + [e for e in second.evidence if (e.tool, e.ref) not in refs]
    risk = first.risk if _LEVEL[first.risk.level] >= _LEVEL[second.risk.level] else second.risk
    if first.risk.description != second.risk.description:
        risk = Risk(level=risk.level, description=f"{first.risk.description} {second.risk.description}")
    confidence = min(first.confidence, second.confidence, key=lambda lvl: _LEVEL[lvl])
    summary = "; ".join(s for s in (first.action.summary, second.action.summary) if s)
    savings = _merged_savings(first, second)
    notes = list(dict.fromkeys(n for p in (first, second) for patch in p.patch[:1] for n in patch.notes))
    return make_plan(
        notes=notes,
        finding=first.finding if first.finding == second.finding else f"{first.finding} {second.finding}",
        evidence=evidence,
        action=Action(object=first.action.object, changes=changes, summary=summary),
        risk=risk,
        reviewer=first.reviewer,
        monthly_savings=savings,
        confidence=confidence,
        source_findings=list(dict.fromkeys(first.source_findings + second.source_findings)),
        plan_kind=first.plan_kind,
    )


_WHOLE_WORKLOAD = {"replicas", "parallelism", "suspend"}


def _merged_savings(first: Plan, second: Plan) -> float | None:
    """Savings of two plans on one object: added when they touch different resources; when either
    scales the whole workload (replicas, parallelism, suspend) the larger one only, since the
    other's saving shrinks with it (a conservative, never double-counted figure)."""
    if first.monthly_savings is None and second.monthly_savings is None:
        return None
    a, b = first.monthly_savings or 0.0, second.monthly_savings or 0.0
    fields = {c.field for p in (first, second) for c in p.action.changes}
    return round(max(a, b) if fields & _WHOLE_WORKLOAD else a + b, 2)


def rank_plans(plans: list[Plan]) -> list[Plan]:
    """Largest savings first; at equal savings the lower risk first; assign-owner plans after."""
    return sorted(plans, key=lambda p: (p.plan_kind != "optimize", -(p.monthly_savings or 0.0),
                                        _LEVEL[p.risk.level], p.plan_id))
