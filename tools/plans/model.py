"""The optimization plan: six concrete fields that make a bad plan impossible to build.

A plan says what was found (``finding``), which tool results prove it (``evidence``), what to
change (``action``: one object, its fields, from -> to), what could go wrong (``risk``), how
to undo it (``rollback``: the action's to -> from) and who decides (``reviewer``: resolved
from owner labels or ``owners.yaml``). "Reduce Kubernetes costs by lowering requests" fails
validation: it names no object, no field and no values.

An unowned workload does not get a guessed reviewer: it gets an ``assign_owner`` plan whose
action is to set the ``owner`` label, reviewed by whoever owns the namespace or the cluster.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from kubernetes.utils import parse_quantity
from pydantic import BaseModel, Field, field_validator, model_validator

PlanKind = Literal["optimize", "assign_owner"]
Level = Literal["low", "medium", "high"]
ReviewState = Literal["open", "approved", "rejected"]
ChangeField = Literal[
    "cpu_request", "memory_request", "parallelism", "replicas", "schedule", "node_pool",
    "storage_class", "owner_label", "suspend", "backoff_limit", "concurrency_policy",
]
EvidenceTool = Literal[
    "explain_change", "waste_detectors", "node_pool_breakdown", "deploy_history",
    "workload_usage", "billing_query", "workload_owners", "allocate_window",
]
OwnerSource = Literal["pod", "controller", "namespace", "owners.yaml", "fallback"]

POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
# Which fields a change may touch on which kind (the patch builder knows where they live).
FIELD_KINDS: dict[str, tuple[str, ...]] = {
    "cpu_request": POD_TEMPLATE_KINDS,
    "memory_request": POD_TEMPLATE_KINDS,
    "parallelism": ("Job", "CronJob"),
    "replicas": ("Deployment", "StatefulSet"),
    "schedule": ("CronJob",),
    "node_pool": POD_TEMPLATE_KINDS,
    "storage_class": ("PersistentVolumeClaim",),
    "owner_label": POD_TEMPLATE_KINDS + ("PersistentVolumeClaim", "Namespace", "Pod"),
    "suspend": ("Job", "CronJob"),
    "backoff_limit": ("Job", "CronJob"),
    "concurrency_policy": ("CronJob",),
}
UNSET = "(unset)"
OWNER_PLACEHOLDER = "<owner>"
VAGUE_EXAMPLE = "CronJob ai-evals/nightly-evals parallelism 8 -> 2"
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class EvidenceRef(BaseModel):
    """A pointer to one tool result: which tool, which row/finding/change, and what it showed."""

    tool: EvidenceTool = Field(description="The tool that produced the result.")
    ref: str = Field(description="The result's id or key in that tool's output: an explain row key, "
                                 "a waste finding id, a node pool name, a deploy change id.")
    what: str = Field(description="One line the reader sees, with the figures.")
    figures: dict[str, float | int | str] = Field(default_factory=dict,
                                                  description="The figures behind `what`, by name.")

    @field_validator("ref", "what")
    @classmethod
    def _not_blank(cls, value: str, info) -> str:
        if not value or not value.strip():
            raise ValueError(f"evidence `{info.field_name}` is empty: name the {('tool result id or key' if info.field_name == 'ref' else 'figures it showed')}")
        return value.strip()


class ObjectRef(BaseModel):
    """The Kubernetes object a plan changes."""

    cluster: str
    kind: str
    namespace: str
    name: str

    @model_validator(mode="after")
    def _named(self) -> "ObjectRef":
        for attr in ("cluster", "kind", "name"):
            if not getattr(self, attr).strip():
                raise ValueError(f"action object has no {attr}: name the object as kind, namespace and name, "
                                 f"e.g. {VAGUE_EXAMPLE}")
        if self.kind not in {k for kinds in FIELD_KINDS.values() for k in kinds}:
            raise ValueError(f"action object kind {self.kind!r} is not one plans can change; use one of "
                             f"{', '.join(sorted({k for ks in FIELD_KINDS.values() for k in ks}))}")
        if self.kind != "Namespace" and not self.namespace.strip():
            raise ValueError(f"action object {self.kind} {self.name!r} has no namespace")
        return self

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class Toleration(BaseModel):
    """A toleration the pods need on the target pool (e.g. its spot taint)."""

    key: str
    value: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class FieldChange(BaseModel):
    """One field of the object, from its current value to the proposed one."""

    field: ChangeField
    from_value: str = Field(description=f"The current value; {UNSET!r} when the field is not set.")
    to_value: str = Field(description="The proposed value.")
    container: str | None = Field(None, description="The container, for cpu_request and memory_request.")
    pool_label: str | None = Field(None, description="The node label that selects the pool, for node_pool.")
    tolerations: list[Toleration] = Field(default_factory=list, description="For node_pool: the pod "
                                          "tolerations on the target pool (the full list, it replaces).")
    from_tolerations: list[Toleration] = Field(default_factory=list, description="For node_pool: the pod "
                                               "tolerations today, restored by the rollback.")

    @model_validator(mode="after")
    def _concrete(self) -> "FieldChange":
        where = f"{self.field}" + (f" of container {self.container}" if self.container else "")
        if not self.from_value.strip() or not self.to_value.strip():
            raise ValueError(f"{where}: give both values (from -> to); write {UNSET!r} for a field not set")
        if self.from_value == self.to_value:
            raise ValueError(f"{where}: from and to are both {self.from_value!r}; a change must change the value")
        if self.field in ("cpu_request", "memory_request"):
            if not self.container:
                raise ValueError(f"{self.field}: name the container whose request changes")
            for side in (self.from_value, self.to_value):
                if side == UNSET:
                    continue
                try:
                    parse_quantity(side)
                except ValueError:
                    raise ValueError(f"{where}: {side!r} is not a Kubernetes quantity; write e.g. "
                                     f"{'500m' if self.field == 'cpu_request' else '512Mi'}") from None
        elif self.field == "suspend":
            for side in (self.from_value, self.to_value):
                if side not in ("true", "false", UNSET):
                    raise ValueError(f"suspend: {side!r} is not true or false")
        elif self.field == "concurrency_policy":
            for side in (self.from_value, self.to_value):
                if side not in ("Allow", "Forbid", "Replace", UNSET):
                    raise ValueError(f"concurrency_policy: {side!r} is not Allow, Forbid or Replace")
        elif self.field in ("parallelism", "replicas", "backoff_limit"):
            for side in (self.from_value, self.to_value):
                if side != UNSET and not side.isdigit():
                    raise ValueError(f"{where}: {side!r} is not a whole number; write e.g. 8 -> 2")
        elif self.field == "schedule":
            for side in (self.from_value, self.to_value):
                if side != UNSET and side not in _CRON_MACROS and len(side.split()) != 5:
                    raise ValueError(f"schedule: {side!r} is not a cron schedule; write five fields, "
                                     f"e.g. '0 2 * * 1-5'")
        elif self.field == "node_pool":
            if not self.pool_label:
                raise ValueError("node_pool: name the node label that selects the pool "
                                 "(pool_label, e.g. cloud.google.com/gke-nodepool)")
            if self.to_value != UNSET and not _DNS.match(self.to_value):
                raise ValueError(f"node_pool: {self.to_value!r} is not a node pool name")
        elif self.field == "storage_class" and not _DNS.match(self.to_value):
            raise ValueError(f"storage_class: {self.to_value!r} is not a StorageClass name")
        return self

    def inverse(self) -> "FieldChange":
        """The change that undoes this one."""
        return self.model_copy(update={"from_value": self.to_value, "to_value": self.from_value,
                                       "tolerations": self.from_tolerations, "from_tolerations": self.tolerations})

    def describe(self) -> str:
        what = f"{self.field} of container {self.container}" if self.container else self.field
        return f"{what} {self.from_value} -> {self.to_value}"


class Action(BaseModel):
    """What to change: one object, one or more of its fields, each from -> to."""

    object: ObjectRef
    changes: list[FieldChange] = Field(min_length=1)
    summary: str = Field("", description="One line for people, e.g. 'reduce parallelism from 8 to 2'.")

    @model_validator(mode="before")
    @classmethod
    def _not_vague(cls, data):
        if isinstance(data, str):
            raise ValueError(
                f"action {data!r} is not concrete: name the object (kind, namespace, name), the field "
                f"and the from -> to values, e.g. {VAGUE_EXAMPLE}")
        if isinstance(data, dict):
            if not data.get("object"):
                raise ValueError(f"action names no object: give kind, namespace and name, e.g. {VAGUE_EXAMPLE}")
            if not data.get("changes"):
                raise ValueError(f"action names no field: give the field and its from -> to values, "
                                 f"e.g. {VAGUE_EXAMPLE}")
        return data

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> "Action":
        seen = set()
        for change in self.changes:
            if self.object.kind not in FIELD_KINDS[change.field]:
                raise ValueError(f"action: {change.field} is not a field of a {self.object.kind}; it exists "
                                 f"on {', '.join(FIELD_KINDS[change.field])}")
            key = (change.field, change.container)
            if key in seen:
                raise ValueError(f"action changes {change.field} twice; merge them into one from -> to")
            seen.add(key)
        return self

    def describe(self) -> str:
        return f"{self.object.describe()}: " + "; ".join(c.describe() for c in self.changes)


class Risk(BaseModel):
    level: Level
    description: str = Field(min_length=8, description="What could go wrong, in words a reviewer weighs.")


class Rollback(BaseModel):
    """The changes that restore the previous values: the action's to -> from."""

    changes: list[FieldChange] = Field(min_length=1)
    note: str = ""

    def describe(self) -> str:
        return "; ".join(c.describe() for c in self.changes)


class Reviewer(BaseModel):
    """Who approves: the owner resolved from labels or owners.yaml, never a guess."""

    name: str
    source: OwnerSource = Field(description="Where the name came from: pod, controller or namespace "
                                "labels, owners.yaml, or the cluster fallback (assign-owner plans only).")
    team: str | None = None
    label: str = Field("", description="The label that named them, e.g. 'owner=ml-platform on CronJob labels'.")

    @field_validator("name")
    @classmethod
    def _resolved(cls, value: str) -> str:
        if not value.strip() or value.strip().lower() in ("unowned", "unknown", "none", "n/a"):
            raise ValueError(f"reviewer {value!r} is not an owner: resolve it from the workload's owner "
                             f"labels or owners.yaml, or produce an assign_owner plan")
        return value.strip()


class Patch(BaseModel):
    """A ready change the tool never applies: a strategic-merge patch (YAML) and its kubectl command."""

    kind: str
    namespace: str
    name: str
    patch_type: Literal["strategic", "merge", "manifest", "label"]
    body: str = Field(description="The YAML patch (or manifest); empty for label commands.")
    command: str = Field(description="The kubectl command that applies it, for a human to run.")
    notes: list[str] = Field(default_factory=list)


class PlanReview(BaseModel):
    review_id: str
    plan_id: str
    decision: Literal["approved", "rejected"]
    reviewer: str
    note: str | None = None
    reviewed_at: str


REQUIRED = {
    "finding": "say what was found, with the figure, e.g. 'ai-evals namespace drove 38% of this week's GKE increase'",
    "evidence": "reference tool results (tool + result id): explain row, waste finding, node pool, deploy change",
    "action": f"name the object, the field and from -> to, e.g. {VAGUE_EXAMPLE}",
    "risk": "give the risk level and what could go wrong",
    "rollback": "give the changes that restore the previous values (the action's to -> from)",
    "reviewer": "resolve the reviewer from owner labels or owners.yaml (else make an assign_owner plan)",
}


def plan_id_for(obj: ObjectRef, kind: PlanKind) -> str:
    """Stable id: the same object and plan kind always get the same id."""
    key = f"{obj.cluster}|{obj.kind}|{obj.namespace}|{obj.name}|{kind}"
    return "p-" + hashlib.sha1(key.encode()).hexdigest()[:10]


class Plan(BaseModel):
    """A reviewed optimization plan. Build one with :func:`tools.plans.build.make_plan`."""

    plan_id: str = ""
    plan_kind: PlanKind = "optimize"
    title: str = ""
    finding: str
    evidence: list[EvidenceRef]
    action: Action
    risk: Risk
    rollback: Rollback
    reviewer: Reviewer
    monthly_savings: float | None = Field(None, description="Expected savings per month, in the bill's currency.")
    confidence: Level = "medium"
    source_findings: list[str] = Field(default_factory=list, description="Ids of the findings and explain "
                                       "rows the plan comes from.")
    patch: list[Patch] = Field(default_factory=list, description="The patches that apply the action.")
    rollback_patch: list[Patch] = Field(default_factory=list, description="The patches that apply the rollback.")
    review_state: ReviewState = "open"

    @model_validator(mode="before")
    @classmethod
    def _six_fields(cls, data):
        if isinstance(data, dict):
            for name, fix in REQUIRED.items():
                value = data.get(name)
                if value is None or value == "" or value == [] or value == {}:
                    raise ValueError(f"plan is missing `{name}`: {fix}")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "Plan":
        if len(self.finding.strip()) < 12:
            raise ValueError(f"finding {self.finding!r} is too thin: {REQUIRED['finding']}")
        expected = {(c.field, c.container): c.inverse() for c in self.action.changes}
        got = {(c.field, c.container): c for c in self.rollback.changes}
        for key, inverse in expected.items():
            have = got.get(key)
            if have is None or (have.from_value, have.to_value) != (inverse.from_value, inverse.to_value):
                shown = f"{have.from_value} -> {have.to_value}" if have else "nothing"
                raise ValueError(f"rollback must restore {inverse.describe()} on {self.action.object.describe()} "
                                 f"(the action's to -> from); it has {shown}")
        if extra := set(got) - set(expected):
            raise ValueError(f"rollback changes {sorted(f for f, _ in extra)} that the action does not touch")
        if self.plan_kind == "optimize":
            if self.reviewer.source == "fallback":
                raise ValueError("reviewer: an optimize plan's reviewer must come from owner labels or owners.yaml; "
                                 "an unowned workload gets an assign_owner plan instead")
            if self.monthly_savings is None or self.monthly_savings < 0:
                raise ValueError("monthly_savings: an optimize plan needs its expected monthly savings (>= 0)")
            if not any(e.tool != "workload_owners" for e in self.evidence):
                raise ValueError(f"evidence: {REQUIRED['evidence']}")
        else:
            if [c.field for c in self.action.changes] != ["owner_label"]:
                raise ValueError("an assign_owner plan's action sets the owner label and nothing else")
        if not self.plan_id:
            self.plan_id = plan_id_for(self.action.object, self.plan_kind)
        if not self.title:
            self.title = self.action.summary or self.action.describe()
        return self
