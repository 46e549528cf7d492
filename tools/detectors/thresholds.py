"""Every threshold and default the waste detectors use, in one settings section.

``Settings.detectors`` holds a :class:`DetectorSettings`; environment variables read
``ALLOT_DETECTORS__<FIELD>`` (e.g. ``ALLOT_DETECTORS__PREVIEW_TTL_DAYS=14``). Detectors copy
the values they judged with into each finding's ``thresholds``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MIB = 1024.0**2
GIB = 1024.0**3
HOURS_PER_MONTH = 730.0

Profile = Literal["dev", "prod", "ha"]


class DetectorSettings(BaseModel):
    """Thresholds of the waste detectors (issue 5). Money is monthly: 730 hours."""

    default_window: str = Field("14d", description="Window the waste tool judges when none is given.")
    min_monthly_savings: float = Field(
        5.0, description="Findings saving less than this many dollars a month are not reported."
    )

    # over_requested
    request_headroom: float = Field(1.15, description="Recommendation = judged usage x this headroom.")
    cpu_quantile: float = Field(0.95, description="CPU usage is judged at this quantile of hourly averages.")
    cpu_floor_cores: float = Field(0.010, description="Lowest CPU request recommended (10m).")
    memory_floor_bytes: float = Field(100 * MIB, description="Lowest memory request recommended (100Mi).")
    min_samples: int = Field(100, description="Hourly usage samples a container needs to be judged.")
    min_span_hours: float = Field(24.0, description="Hours the samples must span to be judged.")
    over_request_min_ratio: float = Field(
        1.5, description="Flag a container when its request is at least this multiple of the recommendation."
    )
    high_confidence_span_hours: float = Field(
        168.0, description="Samples spanning at least this many hours give high confidence."
    )

    # idle_replicas
    idle_days: float = Field(3.0, description="Days of near-zero CPU and no traffic before replicas count as idle.")
    idle_cpu_cores: float = Field(0.005, description="Per-pod hourly CPU average at or below this is 'near zero'.")
    idle_network_bytes_per_hour: float = Field(
        64 * 1024.0, description="Per-pod bytes sent per hour at or below this is 'no traffic'."
    )

    # cronjob_too_frequent
    cronjob_max_runs_per_day: float = Field(
        96.0, description="More runs a day than this (every 15 minutes) is too frequent."
    )
    cronjob_short_run_seconds: float = Field(
        300.0, description="Runs shorter than this on average do little work per run."
    )

    # job_retry_loop
    job_min_failures: int = Field(
        6, description="Failed pods (Kubernetes' default backoffLimit) before a Job counts as retrying endlessly."
    )

    # stale_preview_env
    preview_patterns: list[str] = Field(
        default_factory=lambda: [r"^preview-", r"^pr-\d+", r"-pr-\d+$", r"^review-", r"^pr\d+-"],
        description="Regular expressions naming preview / pull-request namespaces.",
    )
    preview_ttl_days: float = Field(7.0, description="A preview namespace older than this with no deploy is stale.")

    # overprovisioned_node_pool / missing_autoscaler
    profile_targets: dict[str, float] = Field(
        default_factory=lambda: {"dev": 0.8, "prod": 0.65, "ha": 0.5},
        description="Target max(CPU, memory) requests / allocatable per node-pool profile.",
    )
    default_profile: Profile = Field("prod", description="Profile of a node pool no rule names.")
    pool_profiles: dict[str, Profile] = Field(
        default_factory=dict,
        description="Profile per 'cluster/pool' glob (e.g. {'*/batch-*': 'dev'}); the node label "
        "'allot.dev/profile' wins over this.",
    )
    pool_utilization_quantile: float = Field(
        0.95, description="Hourly pool utilization is judged at this quantile (peaks above it are bursts)."
    )
    pool_min_nodes: int = Field(1, description="Fewest nodes a right-sized pool is recommended.")
    autoscaler_workload_patterns: list[str] = Field(
        default_factory=lambda: [r"cluster-autoscaler", r"^karpenter$"],
        description="Workload names that show an autoscaler runs in the cluster.",
    )

    # orphaned_volume
    unmounted_days: float = Field(7.0, description="A PVC mounted by no pod for this many days is orphaned.")

    # expensive_default_storage_class
    premium_storage_tiers: dict[str, str] = Field(
        default_factory=lambda: {
            "io1": "gp3", "io2": "gp3", "pd-ssd": "pd-balanced", "pd-extreme": "pd-balanced",
            "hyperdisk-extreme": "pd-balanced", "premium_lrs": "StandardSSD_LRS",
            "premium_zrs": "StandardSSD_ZRS", "premiumv2_lrs": "StandardSSD_LRS", "ultrassd_lrs": "StandardSSD_LRS",
        },
        description="Premium disk types (lowercase) and the cheaper tier recommended instead.",
    )
    premium_storage_savings_share: dict[str, float] = Field(
        default_factory=lambda: {
            "io1": 0.36, "io2": 0.36, "pd-ssd": 0.41, "pd-extreme": 0.41, "hyperdisk-extreme": 0.41,
            "premium_lrs": 0.5, "premium_zrs": 0.5, "premiumv2_lrs": 0.5, "ultrassd_lrs": 0.5,
        },
        description="Share of a premium volume's billed cost the cheaper tier saves (per GB-month ratio).",
    )

    # gpu_warm_idle
    gpu_active_threshold: float = Field(0.05, description="A GPU-hour with engine activity above this is busy.")
    gpu_busy_share: float = Field(0.3, description="Flag GPU pools busy less than this share of billed node-hours.")

    # eval_jobs_on_prod_gpu
    eval_workload_types: list[str] = Field(
        default_factory=lambda: ["eval", "evals", "evaluation", "ai-eval", "model-eval"],
        description="workload_type label values that mark AI evaluation workloads.",
    )
    eval_name_patterns: list[str] = Field(
        default_factory=lambda: [r"(^|[-_.])evals?($|[-_.])", r"evaluation"],
        description="Regular expressions on namespace or workload name that mark evaluation workloads.",
    )
    eval_schedule_hours: list[int] | None = Field(
        None, description="UTC hours evaluation jobs may run in (e.g. 0..6); None = any hour."
    )
    spot_savings_share: float = Field(
        0.6, description="Share of GPU cost saved on spot when the cluster has no cheaper GPU pool to price from."
    )

    # embedding_growth
    volume_growth_min_gib_per_week: float = Field(5.0, description="Namespace volume growth below this is not flagged.")
    volume_growth_min_share_per_week: float = Field(
        0.10, description="Namespace volume growth below this share of its size per week is not flagged."
    )

    # log_volume_growth
    log_growth_min_share: float = Field(0.5, description="Week-over-week log volume growth flagged at this share.")
    log_min_gib_per_week: float = Field(1.0, description="Namespaces logging less than this a week are ignored.")

    def profile_target(self, profile: str) -> float:
        return self.profile_targets.get(profile, self.profile_targets[self.default_profile])
