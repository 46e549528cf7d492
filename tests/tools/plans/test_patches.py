"""Every patch parses as YAML and deserializes into the kubernetes client's model for its kind."""

from __future__ import annotations

import json

import pytest
import yaml

from tools.errors import InputError
from tools.plans.model import Action, FieldChange, ObjectRef, Patch, Toleration
from tools.plans.patches import build_patches, check_patch


def _obj(kind: str, name: str = "app", namespace: str = "team-a") -> ObjectRef:
    return ObjectRef(cluster="gke-prod", kind=kind, namespace=namespace, name=name)


def _one(kind: str, *changes: FieldChange, current: dict | None = None):
    patches = build_patches(Action(object=_obj(kind), changes=list(changes)), current)
    assert len(patches) == 1
    patch = patches[0]
    body = yaml.safe_load(patch.body)  # valid YAML
    assert isinstance(body, dict)
    return patch, body, check_patch(patch, current if patch.patch_type != "manifest" else None)


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job"])
def test_requests_on_pod_template_kinds(kind):
    patch, body, model = _one(kind, FieldChange(field="cpu_request", container="web", from_value="2", to_value="500m"),
                              FieldChange(field="memory_request", container="web", from_value="4Gi", to_value="1Gi"))
    container = body["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "web", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
    web = next(c for c in model.spec.template.spec.containers if c.name == "web")
    assert web.resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert patch.command.startswith(f"kubectl --context gke-prod -n team-a patch {kind.lower()}/app --type strategic -p ")
    assert json.loads(patch.command.split(" -p ", 1)[1].strip("'")) == body


def test_requests_on_a_cronjob_live_under_job_template():
    _, body, model = _one("CronJob", FieldChange(field="cpu_request", container="eval", from_value="4", to_value="1"))
    assert body["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["name"] == "eval"
    assert model.spec.job_template.spec.template.spec.containers[0].resources.requests == {"cpu": "1"}


def test_parallelism_on_job_and_cronjob():
    _, body, model = _one("Job", FieldChange(field="parallelism", from_value="8", to_value="2"))
    assert body == {"spec": {"parallelism": 2}} and model.spec.parallelism == 2
    _, body, model = _one("CronJob", FieldChange(field="parallelism", from_value="8", to_value="2"))
    assert body == {"spec": {"jobTemplate": {"spec": {"parallelism": 2}}}}
    assert model.spec.job_template.spec.parallelism == 2


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_replicas(kind):
    _, body, model = _one(kind, FieldChange(field="replicas", from_value="6", to_value="3"))
    assert body == {"spec": {"replicas": 3}} and model.spec.replicas == 3


def test_cronjob_schedule():
    _, body, model = _one("CronJob", FieldChange(field="schedule", from_value="*/5 * * * *", to_value="0 2 * * 1-5"))
    assert body == {"spec": {"schedule": "0 2 * * 1-5"}} and model.spec.schedule == "0 2 * * 1-5"


def test_move_to_cheaper_pool_sets_node_selector_and_tolerations():
    spot = Toleration(key="cloud.google.com/gke-spot", value="true")
    _, body, model = _one("Deployment", FieldChange(
        field="node_pool", from_value="gpu-a100", to_value="spot-t4", pool_label="cloud.google.com/gke-nodepool",
        tolerations=[spot]))
    spec = body["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"cloud.google.com/gke-nodepool": "spot-t4"}
    assert model.spec.template.spec.node_selector == {"cloud.google.com/gke-nodepool": "spot-t4"}
    assert model.spec.template.spec.tolerations[0].key == "cloud.google.com/gke-spot"
    assert model.spec.template.spec.tolerations[0].effect == "NoSchedule"


def test_rollback_of_a_pool_move_restores_the_previous_tolerations():
    gpu = Toleration(key="nvidia.com/gpu", operator="Exists")
    change = FieldChange(field="node_pool", from_value="gpu-a100", to_value="spot-t4",
                         pool_label="cloud.google.com/gke-nodepool",
                         tolerations=[Toleration(key="cloud.google.com/gke-spot", value="true"), gpu],
                         from_tolerations=[gpu])
    back = build_patches(Action(object=_obj("Job"), changes=[change.inverse()]))[0]
    spec = yaml.safe_load(back.body)["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"cloud.google.com/gke-nodepool": "gpu-a100"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    check_patch(back)


def test_storage_class_is_a_new_claim_manifest():
    current = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "data", "namespace": "team-a", "labels": {"app": "db"}},
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "premium-rwo",
                        "resources": {"requests": {"storage": "500Gi"}}, "volumeName": "pv-123"}}
    patch, body, model = _one("PersistentVolumeClaim", FieldChange(field="storage_class", from_value="premium-rwo",
                                                                   to_value="standard-rwo"), current=current)
    assert patch.patch_type == "manifest" and body["kind"] == "PersistentVolumeClaim"
    assert model.spec.storage_class_name == "standard-rwo"
    assert model.spec.resources.requests == {"storage": "500Gi"} and model.spec.volume_name is None
    assert model.metadata.name == "app-standard-rwo" and "immutable" in patch.notes[0]


def test_owner_label_is_a_kubectl_label_command():
    patch, body, model = _one("Deployment", FieldChange(field="owner_label", from_value="(unset)", to_value="web-team"))
    assert body == {"metadata": {"labels": {"owner": "web-team"}}} and model.metadata.labels["owner"] == "web-team"
    assert patch.command == "kubectl --context gke-prod -n team-a label deployment/app owner=web-team --overwrite"


def test_a_field_the_kind_does_not_have_is_caught():
    typo = Patch(kind="CronJob", namespace="a", name="b", patch_type="strategic",
                 body="spec:\n  jobTemplate:\n    spec:\n      paralellism: 2\n", command="")
    with pytest.raises(InputError, match="spec.jobTemplate.spec.paralellism is not a field of CronJob"):
        check_patch(typo)
    wrong_kind = Patch(kind="Deployment", namespace="a", name="b", patch_type="strategic",
                       body="spec:\n  schedule: '0 * * * *'\n", command="")
    with pytest.raises(InputError, match="spec.schedule is not a field of Deployment"):
        check_patch(wrong_kind)
    not_yaml = Patch(kind="Job", namespace="a", name="b", patch_type="strategic", body="spec: [unclosed", command="")
    with pytest.raises(InputError, match="not YAML"):
        check_patch(not_yaml)


def test_job_suspend_backoff_limit_and_cronjob_concurrency_policy():
    _, body, model = _one("Job", FieldChange(field="suspend", from_value="false", to_value="true"),
                          FieldChange(field="backoff_limit", from_value="1000", to_value="3"))
    assert body == {"spec": {"suspend": True, "backoffLimit": 3}}
    assert model.spec.suspend is True and model.spec.backoff_limit == 3
    _, body, model = _one("CronJob", FieldChange(field="concurrency_policy", from_value="Allow", to_value="Forbid"),
                          FieldChange(field="backoff_limit", from_value="6", to_value="2"))
    assert model.spec.concurrency_policy == "Forbid" and model.spec.job_template.spec.backoff_limit == 2


def test_unset_removes_the_field_in_the_patch_and_in_the_patched_object():
    change = FieldChange(field="node_pool", from_value="(unset)", to_value="spot-t4",
                         pool_label="cloud.google.com/gke-nodepool",
                         tolerations=[Toleration(key="cloud.google.com/gke-spot", value="true")])
    back = build_patches(Action(object=_obj("Deployment"), changes=[change.inverse()]))[0]
    spec = yaml.safe_load(back.body)["spec"]["template"]["spec"]
    assert spec == {"nodeSelector": {"cloud.google.com/gke-nodepool": None}, "tolerations": None}
    current = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "team-a"},
               "spec": {"selector": {"matchLabels": {"app": "app"}}, "template": {
                   "metadata": {"labels": {"app": "app"}},
                   "spec": {"containers": [{"name": "web", "image": "web:1"}],
                            "nodeSelector": {"cloud.google.com/gke-nodepool": "spot-t4"},
                            "tolerations": [{"key": "cloud.google.com/gke-spot", "value": "true",
                                             "effect": "NoSchedule"}]}}}}
    model = check_patch(back, current)
    assert not model.spec.template.spec.node_selector and not model.spec.template.spec.tolerations
