"""Plans and their reviews in the warehouse (tables ``plans`` and ``plan_reviews``, migration 0008).

Saving plans again keeps their state: an approved plan stays approved while its action is the
one that was approved; when a new run proposes different values, the plan is open again. Open
plans a new run no longer proposes are dropped (:func:`drop_stale_open`); reviewed ones stay.
Every review is kept (append-only), with the plan as it was when reviewed.
"""

from __future__ import annotations

import uuid

from tools.context import Context
from tools.errors import InputError
from tools.plans.model import Plan, PlanReview, ReviewState
from tools.warehouse import transaction

_DECISION = {"approve": "approved", "reject": "rejected", "approved": "approved", "rejected": "rejected"}


def _same_action(a: Plan, b: Plan) -> bool:
    return a.action.model_dump() == b.action.model_dump()


def save_plans(ctx: Context, plans: list[Plan]) -> list[Plan]:
    """Insert or update ``plans`` by their stable id; returns them with their stored review state."""
    now = ctx.clock()
    saved = []
    with transaction(ctx.db):
        for plan in plans:
            row = ctx.db.execute("SELECT state, body, created_at FROM plans WHERE plan_id = ?",
                                 [plan.plan_id]).fetchone()
            state: ReviewState = "open"
            created = now
            if row is not None:
                old = Plan.model_validate_json(row[1])
                created = row[2]
                state = row[0] if _same_action(old, plan) else "open"
            plan = plan.model_copy(update={"review_state": state})
            ctx.db.execute("DELETE FROM plans WHERE plan_id = ?", [plan.plan_id])
            obj = plan.action.object
            ctx.db.execute(
                "INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [plan.plan_id, obj.cluster, obj.namespace, obj.kind, obj.name, plan.plan_kind, plan.title,
                 plan.monthly_savings, plan.risk.level, plan.confidence, plan.reviewer.name, state,
                 plan.model_dump_json(), created, now],
            )
            saved.append(plan)
    return saved


def drop_stale_open(ctx: Context, keep: list[str], clusters: list[str]) -> int:
    """Delete open plans of ``clusters`` that a new run no longer proposes; reviewed plans stay.

    Returns the number of plans dropped."""
    if not clusters:
        return 0
    marks = ", ".join("?" for _ in clusters)
    keep_sql = f"AND plan_id NOT IN ({', '.join('?' for _ in keep)})" if keep else ""
    sql = f"FROM plans WHERE state = 'open' AND cluster IN ({marks}) {keep_sql}"
    n = ctx.db.execute(f"SELECT count(*) {sql}", [*clusters, *keep]).fetchone()[0]
    ctx.db.execute(f"DELETE {sql}", [*clusters, *keep])
    return n


def get_plan(ctx: Context, plan_id: str) -> Plan:
    """One stored plan. Raises InputError naming the ids that exist when it is not found."""
    row = ctx.db.execute("SELECT body, state FROM plans WHERE plan_id = ?", [plan_id]).fetchone()
    if row is None:
        known = [r[0] for r in ctx.db.execute("SELECT plan_id FROM plans ORDER BY plan_id LIMIT 20").fetchall()]
        hint = f"known plans: {', '.join(known)}" if known else "no plans are stored; run `allot plan` first"
        raise InputError(f"plan {plan_id!r} not found; {hint}")
    return Plan.model_validate_json(row[0]).model_copy(update={"review_state": row[1]})


def list_plans(ctx: Context, state: ReviewState | None = None, cluster: str | None = None) -> list[Plan]:
    """Stored plans, largest savings first, filtered by review state and cluster."""
    sql = "SELECT body, state FROM plans WHERE (? IS NULL OR state = ?) AND (? IS NULL OR cluster = ?)"
    sql += " ORDER BY plan_kind = 'assign_owner', coalesce(monthly_savings, 0) DESC, plan_id"
    rows = ctx.db.execute(sql, [state, state, cluster, cluster]).fetchall()
    return [Plan.model_validate_json(body).model_copy(update={"review_state": st}) for body, st in rows]


def review_plan(ctx: Context, plan_id: str, decision: str, by: str, note: str | None = None) -> PlanReview:
    """Record who approved or rejected a plan, when and why; the plan takes that state."""
    if decision not in _DECISION:
        raise InputError(f"review decision {decision!r}: use approve or reject")
    if not by or not by.strip():
        raise InputError("review: --by NAME is required (who decided)")
    plan = get_plan(ctx, plan_id)
    review = PlanReview(
        review_id="r-" + uuid.uuid4().hex[:12], plan_id=plan_id, decision=_DECISION[decision],
        reviewer=by.strip(), note=note, reviewed_at=ctx.clock().isoformat(timespec="seconds"),
    )
    with transaction(ctx.db):
        ctx.db.execute(
            "INSERT INTO plan_reviews VALUES (?, ?, ?, ?, ?, ?, ?)",
            [review.review_id, plan_id, review.decision, review.reviewer, note, ctx.clock(),
             plan.model_dump_json()],
        )
        ctx.db.execute("UPDATE plans SET state = ?, updated_at = ? WHERE plan_id = ?",
                       [review.decision, ctx.clock(), plan_id])
    return review


def plan_reviews(ctx: Context, plan_id: str) -> list[PlanReview]:
    """Every review of a plan, oldest first."""
    rows = ctx.db.execute(
        """SELECT review_id, plan_id, decision, reviewer, note, reviewed_at FROM plan_reviews
           WHERE plan_id = ? ORDER BY reviewed_at, review_id""", [plan_id]).fetchall()
    return [PlanReview(review_id=r[0], plan_id=r[1], decision=r[2], reviewer=r[3], note=r[4],
                       reviewed_at=r[5].isoformat(timespec="seconds")) for r in rows]
