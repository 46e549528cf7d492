"""What world to generate: the seed, the time range and the scale, with named presets.

The demo preset is the estate ``allot demo`` builds (three clusters, planted stories, about
50k pod-hours). The tiers S, M and L reuse the same estate and add a ``bulk`` node pool per
cluster filled with Deployments and CronJob churn, to reach the benchmark's sizes
(issue 6: S about 50 nodes, M 1,000 nodes / ~30,000 pods / ~10M pod-hours, L ~100M pod-hours).

Time is fixed, never taken from the clock: the data ends at ``end`` (exclusive) and covers
``days`` days of hourly data before it, so every run produces the same files.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

Preset = Literal["demo", "S", "M", "L"]

DEMO_END = datetime(2026, 11, 23)
# what each preset's files take on disk, measured (GB; L's history gzip-compressed)
FILES_GB: dict[str, float] = {"demo": 0.13, "S": 0.86, "M": 19.9, "L": 11.3}


class WorldSpec(BaseModel):
    """Parameters of a generated world. Same spec -> byte-identical files."""

    name: str = Field("demo", description="Preset name, used in file names and the summary.")
    seed: int = Field(20261123, description="Seed of every pseudo-random draw.")
    end: datetime = Field(DEMO_END, description="End of the data (exclusive), naive UTC, on an hour.")
    days: int = Field(14, ge=2, description="Days of hourly data before `end`.")
    stories: bool = Field(True, description="Plant the cost stories and write their ground truth.")
    bulk_nodes_per_cluster: int = Field(
        0, ge=0, description="Extra nodes per cluster in a `bulk` pool filled with generic workloads."
    )
    bulk_pods_per_node: int = Field(30, ge=1, description="Average concurrent pods per bulk node.")
    bulk_job_share: float = Field(
        0.3, ge=0.0, le=1.0, description="Share of bulk pod capacity used by CronJob runs (Job churn)."
    )
    billing_format: Literal["csv", "parquet"] = Field("csv", description="FOCUS file format.")
    metrics_gzip: bool = Field(False, description="Write the OpenMetrics history gzip-compressed (<cluster>.om.gz).")

    @property
    def hours(self) -> int:
        return self.days * 24

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)

    def at(self, hour: int) -> datetime:
        """The timestamp of hour index ``hour`` (0 = first hour of the data; negative = before)."""
        return self.start + timedelta(hours=hour)

    def story_hour(self, hour_in_two_weeks: int) -> int:
        """Hour index of a story moment given as an hour of the last two weeks (0..335).

        Stories are anchored to the end of the data, so "the second week" is always the last
        7 days, whatever `days` is (the default 14 days makes this the identity)."""
        return hour_in_two_weeks + self.hours - 14 * 24

    @classmethod
    def preset(cls, name: Preset, seed: int | None = None) -> "WorldSpec":
        """The named preset: ``demo``, or benchmark tier ``S``, ``M`` or ``L``."""
        presets: dict[str, dict] = {
            "demo": {},
            "S": {"bulk_nodes_per_cluster": 12, "stories": True},
            "M": {"bulk_nodes_per_cluster": 325, "bulk_pods_per_node": 30},
            "L": {"bulk_nodes_per_cluster": 1000, "bulk_pods_per_node": 33, "days": 42, "metrics_gzip": True},
        }
        if name not in presets:
            raise ValueError(f"unknown world preset {name!r}; use one of {sorted(presets)}")
        values = {"name": name, **presets[name]}
        if seed is not None:
            values["seed"] = seed
        return cls(**values)


def world_room_shortfall(spec: WorldSpec, free_bytes: int) -> str | None:
    """Why a disk with ``free_bytes`` free cannot hold the preset's files, else None (also for a
    spec that is no preset, whose size is not known)."""
    need = FILES_GB.get(spec.name)
    if need is None or free_bytes >= need * 1e9:
        return None
    free = f"{free_bytes / 1e9:.1f} GB" if free_bytes >= 1e9 else f"{free_bytes / 1e6:.0f} MB"
    return (f"the '{spec.name}' world's files take about {need:g} GB and that disk has {free} free "
            "(the warehouse and DuckDB's spill need more beside them)")
