"""The one settings object, in sections. Environment prefix ``ALLOT_``.

Nested sections read ``ALLOT_<SECTION>__<FIELD>``, for example
``ALLOT_ALLOCATION__COST_BASIS=billed``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.detectors.thresholds import DetectorSettings


def default_db_path() -> Path:
    """The per-user warehouse: ``$XDG_DATA_HOME/allot/allot.duckdb``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "allot" / "allot.duckdb"


class AllocationSettings(BaseModel):
    """How billed dollars are split over workloads (DESIGN.md, allocation rules)."""

    cost_basis: Literal["effective", "billed"] = Field(
        "effective",
        description="FOCUS column that prices nodes, disks and the rest: EffectiveCost "
        "(amortized, discounts applied) or BilledCost.",
    )
    cpu_weight: float = Field(9.0, description="Weight of one vCPU-hour against one GiB-hour of memory.")
    memory_weight: float = Field(1.0, description="Weight of one GiB-hour of memory.")
    shared_namespaces: list[str] = Field(
        default_factory=lambda: [
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "monitoring",
            "ingress-nginx",
            "cert-manager",
            "istio-system",
            "gke-managed-system",
            "gmp-system",
            "calico-system",
            "tigera-operator",
        ],
        description="Namespaces whose cost is platform overhead, kept visible as __shared__:<namespace>.",
    )
    daemonsets_shared: bool = Field(False, description="Treat every DaemonSet's cost as __shared__:daemonsets.")
    shared_policy: Literal["none", "proportional", "even", "weights"] = Field(
        "none",
        description="How shared cost is distributed when a report asks for it: kept visible (none), "
        "proportional to direct cost, even, or fixed weights per team.",
    )
    team_weights: dict[str, float] = Field(
        default_factory=dict, description="Weights per team for the 'weights' shared-cost policy."
    )
    owners_file: Path | None = Field(None, description="owners.yaml mapping namespace patterns to owners.")


class WarehouseSettings(BaseModel):
    """How the DuckDB warehouse connection may use memory and disk."""

    memory_limit: str = Field(
        "3GB",
        description="DuckDB memory_limit of the warehouse connection (e.g. 3GB, 512MB). Large ingests and "
        "GROUP BYs spill to temp_directory beyond it instead of growing the process.",
    )
    temp_directory: Path | None = Field(
        None, description="Where DuckDB spills; default: '<warehouse file>.tmp' beside the warehouse."
    )


class Settings(BaseSettings):
    """allot's settings. Every command reads them once and hands them on in a Context."""

    model_config = SettingsConfigDict(env_prefix="ALLOT_", env_nested_delimiter="__", extra="ignore")

    db: Path = Field(default_factory=default_db_path, description="The DuckDB warehouse file.")
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    allocation: AllocationSettings = Field(default_factory=AllocationSettings)
    detectors: DetectorSettings = Field(default_factory=DetectorSettings)
