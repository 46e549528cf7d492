"""The one list of waste detectors, and the function that runs them over a window.

Each detector module exposes ``NAME`` and ``detect(scope) -> Outcome``; this registry maps the
names (agreed with the demo world's ground truth) to them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tools.context import Context
from tools.detectors import (
    cronjob_too_frequent,
    embedding_growth,
    eval_jobs_on_prod_gpu,
    expensive_default_storage_class,
    gpu_warm_idle,
    idle_replicas,
    job_retry_loop,
    log_volume_growth,
    missing_autoscaler,
    orphaned_volume,
    over_requested,
    overprovisioned_node_pool,
    stale_preview_env,
)
from tools.detectors.finding import Finding, Skipped
from tools.detectors.scope import Detector, Scope
from tools.errors import ToolRetry
from tools.windows import Window

log = logging.getLogger(__name__)

DETECTORS: dict[str, Detector] = {
    m.NAME: m.detect
    for m in (
        over_requested, idle_replicas, cronjob_too_frequent, job_retry_loop, stale_preview_env,
        overprovisioned_node_pool, missing_autoscaler, orphaned_volume, expensive_default_storage_class,
        gpu_warm_idle, eval_jobs_on_prod_gpu, embedding_growth, log_volume_growth,
    )
}


@dataclass
class DetectionResult:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def detector_names() -> list[str]:
    return list(DETECTORS)


def run_detectors(
    ctx: Context, window: Window, cluster: str | None = None, detectors: list[str] | None = None
) -> DetectionResult:
    """Run the named detectors (all when None) over ``window``; findings sorted by savings."""
    names = detectors or detector_names()
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise ToolRetry(f"unknown detector {', '.join(unknown)}; pick one of {', '.join(DETECTORS)}",
                        valid=detector_names())
    scope = Scope(ctx=ctx, window=window, cluster=cluster)
    result = DetectionResult()
    for name in names:
        outcome = DETECTORS[name](scope)
        log.info("detector %s: %d findings, %d skipped", name, len(outcome.findings), len(outcome.skipped))
        result.findings += outcome.findings
        result.skipped += outcome.skipped
    result.findings.sort(key=lambda f: (-(f.monthly_savings or 0.0), f.detector, f.object.key()))
    return result
