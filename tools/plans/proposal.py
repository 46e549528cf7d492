"""What every plan source shares: the propose tool's input and output models, risk texts per
field, value formatting, and the owner check that turns an unowned object into an
``assign_owner`` plan (:func:`finalize`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.context import Context
from tools.plans.compose import assign_owner_plan
from tools.plans.model import EvidenceRef, ObjectRef, Plan, Reviewer
from tools.plans.reviewers import assign_owner_reviewer, resolve_reviewer

MIB, GIB = 2**20, 2**30
HOURS_PER_MONTH = 730.0
RISKS = {
    "parallelism": ("medium", "Runs take longer: the same work runs on fewer parallel pods, so results arrive later."),
    "replicas": ("medium", "Less headroom at peak; a traffic spike waits for the autoscaler."),
    "cpu_request": ("low", "CPU throttling if the workload needs more than the new request at peak."),
    "memory_request": ("medium", "Pods may be evicted or OOM-killed if memory grows past the new request."),
    "schedule": ("low", "Runs less often, so its results are older when read."),
    "node_pool": ("medium", "Spot nodes can be reclaimed: runs may be interrupted and retried."),
    "storage_class": ("medium", "Lower IOPS/throughput on the cheaper class; data must be copied once."),
    "suspend": ("medium", "The job stops running until someone resumes it; its output stops updating."),
    "backoff_limit": ("low", "A job that fails transiently more often than the new limit is marked failed sooner."),
    "concurrency_policy": ("low", "A run that overlaps the previous one is skipped instead of started."),
}


class ProposeInput(BaseModel):
    """Arguments of :func:`propose_plans`."""

    cluster: str | None = Field(None, description="One cluster, or every cluster with allocated cost.")
    window: str = Field("this-week", description="Window whose increase is explained (explain's current window).")
    baseline: str = Field("previous-week", description="Window it is compared with.")
    waste_window: str = Field("14d", description="Window the waste detectors judge.")
    min_share: float = Field(5.0, description="Explain rows below this percent of the increase get no plan.")


class Unplanned(BaseModel):
    source: Literal["explain_change", "waste_detectors"]
    ref: str
    reason: str


class ProposeOutput(BaseModel):
    """Output of :func:`propose_plans`."""

    status: Literal["ok", "no_data", "error"]
    reason: str | None = None
    plans: list[Plan] = Field(default_factory=list)
    unplanned: list[Unplanned] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    workloads: dict[str, tuple[str, str, str, str]] = Field(
        default_factory=dict, exclude=True, description="plan id -> (cluster, namespace, kind, name) of the "
        "workload an explain plan came from, to attach waste findings on the same workload.")


def cpu_quantity(v) -> str:
    v = float(v)
    return str(int(v)) if v >= 1 and v == int(v) else f"{round(v * 1000)}m"


def memory_quantity(v) -> str:
    v = float(v)
    return f"{int(v // GIB)}Gi" if v >= GIB and v % GIB == 0 else f"{round(v / MIB)}Mi"


def scalar_text(v) -> str:
    """4.0 -> '4' (counts arrive as floats from the warehouse)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _owner_evidence(reviewer: Reviewer | None, obj: ObjectRef) -> EvidenceRef:
    return EvidenceRef(tool="workload_owners", ref=f"{obj.cluster}/{obj.namespace}/{obj.kind}/{obj.name}",
                       what=reviewer.label if reviewer else f"no owner label on {obj.describe()} or its namespace")


def finalize(ctx: Context, obj: ObjectRef, build, cost: float, window_label: str, evidence: list[EvidenceRef],
              sources: list[str], workload: tuple[str, str] | None = None) -> Plan:
    """An optimize plan when the object (or the workload it belongs to) has an owner, else an assign-owner plan."""
    kind, name = workload or (obj.kind, obj.name)
    reviewer = resolve_reviewer(ctx, obj.cluster, obj.namespace, kind, name)
    owned = obj.model_copy(update={"kind": kind, "name": name})
    if reviewer is None:
        return assign_owner_plan(obj, cost=cost, window_label=window_label,
                                 evidence=evidence + [_owner_evidence(None, owned)],
                                 reviewer=assign_owner_reviewer(ctx, obj.cluster, obj.namespace),
                                 source_findings=sources)
    return build(reviewer, evidence + [_owner_evidence(reviewer, owned)])
