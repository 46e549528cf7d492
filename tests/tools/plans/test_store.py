"""Plans and reviews live in the warehouse: a review survives closing and re-opening it."""

from __future__ import annotations

from datetime import datetime

import pytest

from tools.context import Context
from tools.errors import InputError
from tools.plans.compose import make_plan
from tools.plans.model import Action, EvidenceRef, FieldChange, ObjectRef, Reviewer, Risk
from tools.plans.render import ticket_markdown
from tools.plans.store import drop_stale_open, get_plan, list_plans, plan_reviews, review_plan, save_plans
from tools.settings import Settings


def _plan(to: str = "2"):
    obj = ObjectRef(cluster="gke-prod", kind="CronJob", namespace="ai-evals", name="nightly-evals")
    return make_plan(
        finding="ai-evals namespace drove 38% of this week's GKE increase",
        evidence=[EvidenceRef(tool="explain_change", ref="ai-evals", what="ai-evals +$1,234.00 (38.0%)")],
        action=Action(object=obj, changes=[FieldChange(field="parallelism", from_value="8", to_value=to)],
                      summary=f"reduce parallelism from 8 to {to}"),
        risk=Risk(level="medium", description="Slower evaluation cycle."),
        reviewer=Reviewer(name="ml-platform", source="controller", team="ml"), monthly_savings=900.0,
    )


def test_review_survives_a_restart(tmp_path):
    path = tmp_path / "w.duckdb"
    ctx = Context.open(path, Settings())
    ctx.clock = lambda: datetime(2026, 11, 28, 9, 30)
    plan = save_plans(ctx, [_plan()])[0]
    review = review_plan(ctx, plan.plan_id, "approve", by="dana", note="eval results can wait a day")
    ctx.close()

    ctx = Context.open(path, Settings())  # a new process would do exactly this
    try:
        stored = get_plan(ctx, plan.plan_id)
        assert stored.review_state == "approved"
        assert [p.plan_id for p in list_plans(ctx, "approved")] == [plan.plan_id]
        assert list_plans(ctx, "open") == [] and list_plans(ctx, "rejected") == []
        [again] = plan_reviews(ctx, plan.plan_id)
        assert (again.review_id, again.decision, again.reviewer, again.note, again.reviewed_at) == (
            review.review_id, "approved", "dana", "eval results can wait a day", "2026-11-28T09:30:00")
        ticket = ticket_markdown(stored, [again])
        assert "To: **ml-platform** (team ml)" in ticket
        assert "Approved by dana on 2026-11-28T09:30:00: eval results can wait a day" in ticket
        assert "parallelism: 2" in ticket and "Rollback:** restore parallelism 2 -> 8" in ticket
    finally:
        ctx.close()


def test_saving_again_keeps_the_state_unless_the_action_changed(ctx):
    plan = save_plans(ctx, [_plan()])[0]
    review_plan(ctx, plan.plan_id, "reject", by="sam", note="evals gate the release")
    assert save_plans(ctx, [_plan()])[0].review_state == "rejected"
    assert save_plans(ctx, [_plan(to="4")])[0].review_state == "open"  # a new proposal is reviewed anew
    assert [r.decision for r in plan_reviews(ctx, plan.plan_id)] == ["rejected"]


def test_ticket_needs_an_approved_plan_and_unknown_ids_are_named(ctx):
    plan = save_plans(ctx, [_plan()])[0]
    with pytest.raises(InputError, match=f"plan {plan.plan_id} is open, not approved; approve it first"):
        ticket_markdown(get_plan(ctx, plan.plan_id), [])
    with pytest.raises(InputError, match=f"plan 'p-nope' not found; known plans: {plan.plan_id}"):
        get_plan(ctx, "p-nope")
    with pytest.raises(InputError, match="--by NAME is required"):
        review_plan(ctx, plan.plan_id, "approve", by=" ")


def test_open_plans_no_longer_proposed_are_dropped_reviewed_ones_stay(ctx):
    reviewed, stale = _plan(), _other()
    save_plans(ctx, [reviewed, stale])
    review_plan(ctx, reviewed.plan_id, "approve", by="dana")
    assert drop_stale_open(ctx, keep=[], clusters=["gke-prod"]) == 1
    assert [p.plan_id for p in list_plans(ctx)] == [reviewed.plan_id]
    assert drop_stale_open(ctx, keep=[], clusters=["other-cluster"]) == 0


def _other():
    obj = ObjectRef(cluster="gke-prod", kind="Deployment", namespace="web", name="api")
    return make_plan(
        finding="web/api runs 6 replicas its HPA never needed",
        evidence=[EvidenceRef(tool="waste_detectors", ref="w-123", what="idle_replicas: 6 -> 3")],
        action=Action(object=obj, changes=[FieldChange(field="replicas", from_value="6", to_value="3")]),
        risk=Risk(level="low", description="Less headroom at peak."),
        reviewer=Reviewer(name="web-team", source="controller"), monthly_savings=50.0,
    )
