"""The shape every waste detector returns: a :class:`Finding` (and :class:`Skipped` notes).

Findings are what plans (issue 7) consume: the object, its owner, the evidence and window,
the thresholds judged with, the proposed change (field from -> to) and the monthly savings
priced from the allocation (730 hours a month). ``monthly_savings`` is ``None`` when the
allocation holds no price for the object: never rendered as $0.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

Confidence = Literal["high", "medium", "low"]
Scalar = float | int | str | bool | None


class ObjectRef(BaseModel):
    """The Kubernetes object a finding is about. ``namespace`` is '' for cluster-scoped objects."""

    cluster: str
    namespace: str = ""
    kind: str = Field(description="Deployment, StatefulSet, CronJob, Job, Namespace, NodePool, "
                      "PersistentVolume, PersistentVolumeClaim, StorageClass, ...")
    name: str

    def key(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.kind}/{self.name}"

    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.cluster}:{where}{self.kind.lower()}/{self.name}"


class Owner(BaseModel):
    """Who reviews a change to the object (from workload_owners, DESIGN.md rule 7)."""

    owner: str = Field("unowned", description="Owner label value, 'unowned' when nothing resolves.")
    team: str | None = None
    source: str = Field("none", description="pod, controller, namespace, owners.yaml or none.")


class Point(BaseModel):
    t: datetime
    v: float | None


class Series(BaseModel):
    """A series the finding was judged on (usually daily or hourly points)."""

    name: str
    unit: str
    points: list[Point]


class Evidence(BaseModel):
    """The figures and series judged on, and the window they cover."""

    window_start: datetime
    window_end: datetime
    figures: dict[str, Scalar] = Field(default_factory=dict)
    series: list[Series] = Field(default_factory=list)


class Change(BaseModel):
    """One proposed change: ``field`` of the object from ``current`` to ``recommended``."""

    field: str = Field(description="e.g. containers[app].resources.requests.cpu, spec.replicas, spec.schedule")
    current: Scalar
    recommended: Scalar


class Finding(BaseModel):
    """One piece of waste on one object, with its evidence and its price."""

    detector: str
    title: str = Field(description="One short line a human reads first.")
    object: ObjectRef
    owner: Owner = Field(default_factory=Owner)
    evidence: Evidence
    thresholds: dict[str, Scalar | list[str] | list[int]] = Field(default_factory=dict)
    action: str = Field(description="What to change, in words.")
    changes: list[Change] = Field(default_factory=list)
    monthly_savings: float | None = Field(
        description="Estimated dollars a month (730 h) saved, priced from allocation_hours / "
        "billing_attribution; None when no price is known."
    )
    pricing: str = Field("", description="How the savings were priced, in words.")
    confidence: Confidence
    lacked: list[str] = Field(default_factory=list, description="Data the detector wanted but did not have.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Stable: the same detector on the same object gives the same id across runs."""
        return finding_id(self.detector, self.object)


def finding_id(detector: str, obj: ObjectRef) -> str:
    digest = hashlib.sha256(f"{detector}|{obj.key()}".encode()).hexdigest()
    return f"w-{digest[:12]}"


class Skipped(BaseModel):
    """An object a detector looked at and did not judge, and why (e.g. not enough data, HPA)."""

    detector: str
    object: ObjectRef
    reason: str
