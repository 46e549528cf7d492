"""The ``waste_detectors`` tool: every waste detector over a window, findings priced in dollars."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tools.clusters import known_clusters
from tools.context import Context
from tools.detectors.finding import Finding, Skipped
from tools.detectors.registry import detector_names, run_detectors
from tools.errors import ToolRetry
from tools.windows import data_range, parse_window


class WasteInput(BaseModel):
    """What to look for waste in."""

    cluster: str | None = Field(None, description="Only this cluster; every cluster when omitted.")
    window: str | None = Field(
        None, description="Window judged, e.g. 14d, this-week, 2026-W47, 2026-11-01..2026-11-15. "
        "Default: settings.detectors.default_window (14d)."
    )
    detector: str | None = Field(None, description="Only this detector (see the registry for names).")


class WasteOutput(BaseModel):
    """Findings sorted by monthly savings, largest first."""

    status: Literal["ok", "no_data", "error"]
    message: str = ""
    cluster: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    detectors: list[str] = Field(default_factory=list, description="Detectors that ran.")
    findings: list[Finding] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list, description="Objects not judged, and why.")
    total_monthly_savings: float | None = Field(
        None, description="Sum of the priced findings' monthly savings; None when nothing was found."
    )
    unpriced_findings: int = Field(0, description="Findings whose savings could not be priced.")


def waste_detectors(ctx: Context, args: WasteInput) -> WasteOutput:
    """Find Kubernetes and AI-workload waste, each finding priced from the allocation.

    Runs the waste detectors (over-requested CPU/memory, idle replicas, too-frequent CronJobs,
    retry loops, stale preview namespaces, overprovisioned node pools, missing autoscaling,
    orphaned volumes, premium default storage, warm GPU pools, eval jobs on production GPUs,
    growing embedding volumes, growing log volume) over the window. Each finding names the
    object, its owner, the evidence and thresholds, the proposed change, the estimated monthly
    savings in dollars (730 h, priced from allocated cost) and a confidence.

    Args:
        ctx: The warehouse, clock and settings.
        args: Optional cluster, window (default 14d) and detector name.

    Returns:
        ``ok`` with findings (possibly none: no waste found), or ``no_data`` when the
        warehouse holds no hourly data for the cluster.

    Raises:
        ToolRetry: Unknown detector name or cluster (``valid`` lists the names).
        InputError: The window is not understood or lies outside the data (the message names
            the range of data that is there).
    """
    names = detector_names()
    if args.detector is not None and args.detector not in names:
        raise ToolRetry(f"unknown detector {args.detector!r}; pick one of {', '.join(names)}", valid=names)
    text = args.window or ctx.settings.detectors.default_window
    if data_range(ctx, args.cluster) is None:
        known = known_clusters(ctx) if args.cluster else []
        if known:   # a name that is not one of them, not an empty warehouse
            raise ToolRetry(f"cluster {args.cluster!r} has no hourly data; known clusters: {', '.join(known)}",
                            valid=known)
        where = f" for cluster {args.cluster!r}" if args.cluster else ""
        return WasteOutput(status="no_data", cluster=args.cluster,
                           message=f"the warehouse holds no hourly data{where}; load some with `allot demo` "
                                   "or `allot ingest ...`")
    window = parse_window(ctx, text, cluster=args.cluster)
    chosen = [args.detector] if args.detector else names
    result = run_detectors(ctx, window, cluster=args.cluster, detectors=chosen)
    priced = [f.monthly_savings for f in result.findings if f.monthly_savings is not None]
    return WasteOutput(
        status="ok",
        message=f"{len(result.findings)} findings in {window.describe()}",
        cluster=args.cluster, window_start=window.start, window_end=window.end, detectors=chosen,
        findings=result.findings, skipped=result.skipped,
        total_monthly_savings=round(sum(priced), 2) if priced else None,
        unpriced_findings=len(result.findings) - len(priced),
    )
