"""Plans as text: the six-field Markdown view, a one-line list row, and the ticket body."""

from __future__ import annotations

from tools.errors import InputError
from tools.plans.model import Plan, PlanReview


def _money(value: float | None) -> str:
    return "not priced" if value is None else f"${value:,.2f}/month"


def _evidence_label(e) -> str:
    """What kind of proof a reference is, for the one-line summary."""
    if e.tool == "deploy_history":
        return "Job history" if e.ref.endswith("/job_runs") else (
            "scaling events" if "/event:" in e.ref else "deploy")
    if e.tool == "node_pool_breakdown":
        return "GPU node hours" if e.ref.endswith("/gpu_node_hours") else "node pool"
    return {"explain_change": "explain row", "workload_owners": "owner label", "waste_detectors": "waste finding",
            "workload_usage": "requests vs usage", "billing_query": "bill", "allocate_window": "allocation"}[e.tool]


def plan_markdown(plan: Plan, heading: str = "###") -> str:
    """The plan as its six fields, then savings, patch and rollback patch."""
    obj = plan.action.object
    lines = [
        f"{heading} {plan.plan_id}: {plan.title}",
        "",
        f"- **Finding:** {plan.finding}",
        "- **Evidence:** " + ", ".join(dict.fromkeys(_evidence_label(e) for e in plan.evidence)),
    ]
    lines += [f"  - {e.what} ({e.tool} `{e.ref}`)" for e in plan.evidence]
    lines += [
        f"- **Action:** {plan.action.summary or plan.action.describe()} — {obj.describe()} in cluster {obj.cluster}: "
        + "; ".join(c.describe() for c in plan.action.changes),
        f"- **Risk:** {plan.risk.level}. {plan.risk.description}",
        f"- **Rollback:** restore {plan.rollback.describe()}" + (f". {plan.rollback.note}" if plan.rollback.note else ""),
        f"- **Reviewer:** {plan.reviewer.name}" + (f" (team {plan.reviewer.team})" if plan.reviewer.team else "")
        + f" — {plan.reviewer.label}",
        f"- **Expected savings:** {_money(plan.monthly_savings)}; confidence {plan.confidence}; "
        f"state {plan.review_state}",
    ]
    if plan.source_findings:
        lines.append(f"- **From:** {', '.join(plan.source_findings)}")
    for title, patches in (("Patch (not applied by allot)", plan.patch), ("Rollback patch", plan.rollback_patch)):
        for p in patches:
            lines += ["", f"{title}, {p.patch_type} on {p.kind} {p.namespace}/{p.name}:", ""]
            if p.body:
                lines += ["```yaml", p.body.rstrip(), "```", ""]
            lines += ["```sh", p.command, "```"]
            lines += [f"> {n}" for n in p.notes]
    return "\n".join(lines)


def plans_markdown(plans: list[Plan], title: str) -> str:
    if not plans:
        return f"## {title}\n\nNo plans."
    total = sum(p.monthly_savings or 0.0 for p in plans)
    head = [f"## {title}", "", f"{len(plans)} plans, expected savings ${total:,.2f}/month.", ""]
    return "\n".join(head) + "\n\n".join(plan_markdown(p) for p in plans) + "\n"


def plan_line(plan: Plan) -> str:
    """One plan in two lines: id, state, savings, risk, reviewer; then object and change."""
    obj = plan.action.object
    savings = "assign owner" if plan.monthly_savings is None else f"${plan.monthly_savings:,.2f}/mo"
    return (f"{plan.plan_id}  {plan.review_state:<8} {savings:>14}  risk {plan.risk.level:<6} "
            f"reviewer {plan.reviewer.name}\n    {obj.cluster} {obj.describe()}: "
            + "; ".join(c.describe() for c in plan.action.changes))


def plans_text(plans: list[Plan], title: str) -> str:
    if not plans:
        return f"{title}: none"
    total = sum(p.monthly_savings or 0.0 for p in plans)
    return f"{title}: {len(plans)}, expected savings ${total:,.2f}/month\n" + "\n".join(plan_line(p) for p in plans)


def ticket_markdown(plan: Plan, reviews: list[PlanReview]) -> str:
    """An approved plan as a ticket body addressed to its owner.

    Raises:
        InputError: the plan is not approved (names its state and the review command).
    """
    if plan.review_state != "approved":
        raise InputError(f"plan {plan.plan_id} is {plan.review_state}, not approved; approve it first with "
                         f"`allot plan review {plan.plan_id} --approve --by NAME`")
    approval = next((r for r in reversed(reviews) if r.decision == "approved"), None)
    obj = plan.action.object
    lines = [
        f"# {plan.title}",
        "",
        f"To: **{plan.reviewer.name}**" + (f" (team {plan.reviewer.team})" if plan.reviewer.team else "")
        + f", owner of {obj.describe()} in cluster {obj.cluster} ({plan.reviewer.label}).",
    ]
    if approval:
        lines.append(f"Approved by {approval.reviewer} on {approval.reviewed_at}"
                     + (f": {approval.note}" if approval.note else "."))
    lines += ["", plan_markdown(plan, heading="##").split("\n", 1)[1].lstrip("\n"), "",
              "## Checklist", "",
              "- [ ] Apply the patch in a maintenance window (allot does not apply it).",
              "- [ ] Watch the workload for one full cycle (error rate, duration, queue length).",
              "- [ ] If anything degrades, apply the rollback patch.",
              f"- [ ] Close this ticket; allot tracks the plan as {plan.plan_id}."]
    return "\n".join(lines) + "\n"
