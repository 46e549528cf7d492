"""A bad plan cannot be built: each missing or vague field is rejected with a message naming the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tools.plans.compose import assign_owner_plan, make_plan, merge_plans, rank_plans
from tools.plans.model import Action, EvidenceRef, FieldChange, ObjectRef, Plan, Reviewer, Risk

EVALS = ObjectRef(cluster="gke-prod", kind="CronJob", namespace="ai-evals", name="nightly-evals")


def _action(**kw) -> Action:
    return Action(object=EVALS, changes=[FieldChange(field="parallelism", from_value="8", to_value="2")],
                  summary="reduce parallelism from 8 to 2", **kw)


def _fields() -> dict:
    """A complete plan as plain data (what an LLM or a JSON file would hand in)."""
    return {
        "finding": "ai-evals namespace drove 38% of this week's GKE increase",
        "evidence": [{"tool": "explain_change", "ref": "ai-evals", "what": "ai-evals +$1,234.00 (38.0%)"}],
        "action": _action().model_dump(),
        "risk": {"level": "medium", "description": "Slower evaluation cycle."},
        "rollback": {"changes": [{"field": "parallelism", "from_value": "2", "to_value": "8"}]},
        "reviewer": {"name": "ml-platform", "source": "controller", "label": "owner=ml-platform"},
        "monthly_savings": 900.0,
    }


def test_complete_plan_is_accepted_with_a_stable_id():
    plan = Plan.model_validate(_fields())
    again = Plan.model_validate(_fields())
    assert plan.plan_id == again.plan_id and plan.plan_id.startswith("p-")
    assert plan.review_state == "open"


@pytest.mark.parametrize("field", ["finding", "evidence", "action", "risk", "rollback", "reviewer"])
def test_each_missing_field_is_rejected_naming_it(field):
    data = _fields()
    del data[field]
    with pytest.raises(ValidationError, match=f"plan is missing `{field}`"):
        Plan.model_validate(data)


def test_missing_evidence_as_empty_list_is_rejected():
    data = _fields()
    data["evidence"] = []
    with pytest.raises(ValidationError, match="missing `evidence`: reference tool results"):
        Plan.model_validate(data)


def test_evidence_must_name_a_tool_and_a_result():
    data = _fields()
    data["evidence"] = [{"tool": "gut_feeling", "ref": "x", "what": "it looked expensive"}]
    with pytest.raises(ValidationError, match="explain_change"):
        Plan.model_validate(data)
    data["evidence"] = [{"tool": "explain_change", "ref": " ", "what": "ai-evals +$1,234"}]
    with pytest.raises(ValidationError, match="tool result id or key"):
        Plan.model_validate(data)


def test_owner_label_alone_is_not_evidence_for_an_optimization():
    data = _fields()
    data["evidence"] = [{"tool": "workload_owners", "ref": "ai-evals/CronJob/nightly-evals", "what": "owner=ml"}]
    with pytest.raises(ValidationError, match="evidence: reference tool results"):
        Plan.model_validate(data)


def test_vague_action_is_rejected_with_the_fix():
    data = _fields()
    data["action"] = "Reduce Kubernetes costs by lowering requests"
    with pytest.raises(ValidationError) as err:
        Plan.model_validate(data)
    message = str(err.value)
    assert "is not concrete" in message and "name the object (kind, namespace, name)" in message
    assert "from -> to" in message


def test_action_without_object_or_field_or_values_is_rejected():
    with pytest.raises(ValidationError, match="action names no object"):
        Action.model_validate({"changes": [{"field": "cpu_request", "from_value": "1", "to_value": "500m"}]})
    with pytest.raises(ValidationError, match="action names no field"):
        Action.model_validate({"object": EVALS.model_dump(), "changes": []})
    with pytest.raises(ValidationError, match="give both values"):
        FieldChange(field="parallelism", from_value="8", to_value="")
    with pytest.raises(ValidationError, match="a change must change the value"):
        FieldChange(field="parallelism", from_value="8", to_value="8")
    with pytest.raises(ValidationError, match="name the container"):
        FieldChange(field="cpu_request", from_value="1", to_value="500m")
    with pytest.raises(ValidationError, match="not a Kubernetes quantity"):
        FieldChange(field="memory_request", container="app", from_value="lots", to_value="512Mi")
    with pytest.raises(ValidationError, match="not a cron schedule"):
        FieldChange(field="schedule", from_value="0 * * * *", to_value="less often")


def test_field_must_exist_on_the_kind():
    deploy = ObjectRef(cluster="c", kind="Deployment", namespace="web", name="api")
    with pytest.raises(ValidationError, match="parallelism is not a field of a Deployment"):
        Action(object=deploy, changes=[FieldChange(field="parallelism", from_value="8", to_value="2")])


def test_missing_rollback_values_or_wrong_direction_is_rejected():
    data = _fields()
    data["rollback"] = {"changes": [{"field": "parallelism", "from_value": "8", "to_value": "2"}]}
    with pytest.raises(ValidationError, match=r"rollback must restore parallelism 2 -> 8 on CronJob ai-evals/nightly-evals"):
        Plan.model_validate(data)
    data["rollback"] = {"changes": [{"field": "replicas", "from_value": "2", "to_value": "8"}]}
    with pytest.raises(ValidationError, match="rollback must restore parallelism 2 -> 8"):
        Plan.model_validate(data)


def test_reviewer_must_be_resolved_never_unowned():
    data = _fields()
    data["reviewer"] = {"name": "unowned", "source": "controller"}
    with pytest.raises(ValidationError, match="resolve it from the workload's owner labels or owners.yaml"):
        Plan.model_validate(data)
    data["reviewer"] = {"name": "platform owner of cluster gke-prod", "source": "fallback"}
    with pytest.raises(ValidationError, match="assign_owner plan instead"):
        Plan.model_validate(data)


def test_make_plan_derives_rollback_and_patches():
    plan = make_plan(
        finding="ai-evals namespace drove 38% of this week's GKE increase",
        evidence=[EvidenceRef(tool="deploy_history", ref="ai-evals/CronJob/nightly-evals/parallelism",
                              what="parallelism 2 -> 8 on 2026-11-20")],
        action=_action(), risk=Risk(level="medium", description="Slower evaluation cycle."),
        reviewer=Reviewer(name="ml-platform", source="controller"), monthly_savings=900.0,
    )
    assert [(c.field, c.from_value, c.to_value) for c in plan.rollback.changes] == [("parallelism", "2", "8")]
    assert "parallelism: 2" in plan.patch[0].body and "parallelism: 8" in plan.rollback_patch[0].body


def test_unowned_workload_gets_an_assign_owner_plan():
    obj = ObjectRef(cluster="gke-prod", kind="Deployment", namespace="scratch", name="tmp-api")
    plan = assign_owner_plan(
        obj, cost=412.5, window_label="last-30d",
        evidence=[EvidenceRef(tool="workload_owners", ref="scratch/Deployment/tmp-api", what="owner=unowned")],
        reviewer=Reviewer(name="platform owner of cluster gke-prod", source="fallback"),
    )
    assert plan.plan_kind == "assign_owner" and plan.monthly_savings is None
    assert plan.action.changes[0].field == "owner_label"
    assert plan.patch[0].command.endswith("label deployment/tmp-api owner=<owner> --overwrite")
    assert plan.rollback_patch[0].command.endswith("label deployment/tmp-api owner- --overwrite")
    assert plan.rollback_patch[0].body == "metadata:\n  labels:\n    owner: null\n"  # null deletes the label


def test_two_plans_on_one_object_merge_into_one():
    common = dict(evidence=[EvidenceRef(tool="explain_change", ref="ai-evals", what="+$1,234")],
                  reviewer=Reviewer(name="ml-platform", source="controller"))
    first = make_plan(finding="ai-evals namespace drove 38% of this week's GKE increase", action=_action(),
                      risk=Risk(level="medium", description="Slower evaluation cycle."), monthly_savings=900.0,
                      source_findings=["explain:ai-evals"], **common)
    second = make_plan(
        finding="Eval CronJob runs on the on-demand GPU pool outside a schedule window",
        action=Action(object=EVALS, changes=[FieldChange(field="schedule", from_value="0 * * * *",
                                                          to_value="0 2 * * *")]),
        risk=Risk(level="low", description="Results arrive once a day."), monthly_savings=300.0,
        source_findings=["waste:ai_eval_jobs:1"], confidence="low", **common)
    merged = merge_plans(first, second)
    assert merged.plan_id == first.plan_id == second.plan_id
    assert [c.field for c in merged.action.changes] == ["parallelism", "schedule"]
    # parallelism scales the whole workload: the schedule's saving shrinks with it, so the larger one counts
    assert merged.monthly_savings == 900.0 and merged.risk.level == "medium" and merged.confidence == "low"
    requests = make_plan(
        finding="Eval container requests 4 CPUs and uses 0.5 at p95",
        action=Action(object=EVALS, changes=[FieldChange(field="cpu_request", container="eval", from_value="4",
                                                          to_value="600m")]),
        risk=Risk(level="low", description="Throttling at peak."), monthly_savings=120.0, **common)
    assert merge_plans(second, requests).monthly_savings == 420.0  # different resources: savings add up
    assert merged.source_findings == ["explain:ai-evals", "waste:ai_eval_jobs:1"]
    cheap = make_plan(finding="api Deployment runs 6 replicas its HPA never needed",
                      action=Action(object=ObjectRef(cluster="c", kind="Deployment", namespace="web", name="api"),
                                    changes=[FieldChange(field="replicas", from_value="6", to_value="3")]),
                      risk=Risk(level="low", description="Less headroom at peak."), monthly_savings=50.0, **common)
    assert [p.plan_id for p in rank_plans([cheap, merged])] == [merged.plan_id, cheap.plan_id]
