"""The demo world's ground truth as pydantic models (``ground_truth.json`` in the output folder).

Tests and evals load it with :func:`load_ground_truth` and check answers against it: every
planted story names its object, the detector expected to find it and the monthly savings the
generator computed from the prices it billed (with the formula written next to the number);
``explain`` holds the GKE week-over-week figures; ``healthy_controls`` lists what no detector
may flag.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

DETECTORS = (
    "over_requested", "idle_replicas", "cronjob_too_frequent", "job_retry_loop", "stale_preview_env",
    "overprovisioned_node_pool", "missing_autoscaler", "orphaned_volume", "expensive_default_storage_class",
    "gpu_warm_idle", "eval_jobs_on_prod_gpu", "embedding_growth", "log_volume_growth",
)


class ObjectRef(BaseModel):
    cluster: str
    namespace: str = Field(description="'' for cluster-scoped objects (node pools, PVs, storage classes)")
    kind: str = Field(description="Deployment, Job, CronJob, Namespace, NodePool, PersistentVolume, ...")
    name: str


class Story(BaseModel):
    id: str
    title: str
    detector: str
    object: ObjectRef
    expected_monthly_savings: float | None = Field(
        description="USD per month (730 h) from the generator's own prices; None = not a savings finding")
    savings_formula: str
    figures: dict[str, float | int | str] = Field(default_factory=dict)


class HealthyControl(BaseModel):
    object: ObjectRef
    why: str


class Window(BaseModel):
    start: datetime
    end: datetime


class ExplainTruth(BaseModel):
    """GKE this-week vs previous-week, computed from the planted numbers (not from the files)."""

    cluster: str
    basis: str = "effective"
    current: Window
    baseline: Window
    baseline_total: float
    current_total: float
    total_delta: float
    ai_evals_delta: float
    ai_evals_share_pct: float
    other_deltas: dict[str, float]
    formula: str
    evidence: dict[str, str]


class PoolTruth(BaseModel):
    cluster: str
    pool: str
    instance_type: str
    capacity_type: str
    nodes_at_end: int
    hourly_price: float
    effective_hourly_price: float
    requests_utilization: float = Field(description="max(CPU, memory) requests / allocatable at the hourly p95")
    autoscaling: dict


class ClusterFigures(BaseModel):
    cluster: str
    provider: str
    nodes_at_end: int
    pods: int
    pod_hours: int
    billed_total: float
    effective_total: float
    billed_by_week: list[float]


class GroundTruth(BaseModel):
    world: str
    seed: int
    start: datetime
    end: datetime
    hours: int
    clusters: list[ClusterFigures]
    external_billed_total: float
    billed_total: float
    effective_total: float
    stories: list[Story]
    healthy_controls: list[HealthyControl]
    explain: ExplainTruth | None
    node_pools: list[PoolTruth]
    notes: list[str] = Field(default_factory=list)

    def story(self, story_id: str) -> Story:
        return next(s for s in self.stories if s.id == story_id)


def load_ground_truth(path: Path | str) -> GroundTruth:
    """Read ``ground_truth.json`` (a file, or the world folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "ground_truth.json"
    return GroundTruth.model_validate(json.loads(path.read_text()))
