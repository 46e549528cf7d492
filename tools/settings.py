"""The one settings object, in sections. Environment prefix ``ALLOT_``.

Nested sections read ``ALLOT_<SECTION>__<FIELD>``, for example
``ALLOT_ALLOCATION__COST_BASIS=billed``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.detectors.thresholds import DetectorSettings
from tools.errors import ConfigError

ENV_PREFIX = "ALLOT_"
# a size DuckDB's memory_limit and max_temp_directory_size take: a number and a unit; the memory
# limit may also be a share of the machine's memory
_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*([KMGT]i?B|B|bytes)\s*", re.IGNORECASE)
_SHARE = re.compile(r"\s*\d+(\.\d+)?\s*%\s*")


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
        description="DuckDB memory_limit of the warehouse connection (e.g. 3GB, 512MB, or 50% of the machine's "
        "memory). Large ingests and GROUP BYs spill to temp_directory beyond it instead of growing the process.",
    )
    temp_directory: Path | None = Field(
        None, description="Where DuckDB spills; default: '<warehouse file>.tmp' beside the warehouse."
    )
    max_temp_size: str | None = Field(
        None, description="Most disk the spill may take (e.g. 50GB); default: 90% of the free space of its disk."
    )

    @field_validator("memory_limit")
    @classmethod
    def _a_size_or_share(cls, value: str) -> str:
        if not (_SIZE.fullmatch(value) or _SHARE.fullmatch(value)):
            raise ValueError("give a size with its unit, such as 3GB, 512MB or 2GiB, or a share of the "
                             "machine's memory, such as 50%")
        return value

    @field_validator("max_temp_size")
    @classmethod
    def _a_size(cls, value: str | None) -> str | None:
        if value is not None and not _SIZE.fullmatch(value):
            raise ValueError("give a size with its unit, such as 50GB or 200GiB")
        return value


class Settings(BaseSettings):
    """allot's settings. Every command reads them once and hands them on in a Context."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore")

    db: Path = Field(default_factory=default_db_path, description="The DuckDB warehouse file.")
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    allocation: AllocationSettings = Field(default_factory=AllocationSettings)
    detectors: DetectorSettings = Field(default_factory=DetectorSettings)


def env_name(*field: str | int) -> str:
    """The environment variable of a setting: ``("warehouse", "memory_limit")`` is
    ``ALLOT_WAREHOUSE__MEMORY_LIMIT``."""
    return ENV_PREFIX + "__".join(str(part) for part in field).upper()


def load_settings() -> Settings:
    """The settings from the environment; a wrong value is a ConfigError naming its variable."""
    try:
        return Settings()
    except ValidationError as err:
        problems = [f"{env_name(*e['loc'])}={e['input']!r}: {e['msg'].removeprefix('Value error, ')}"
                    for e in err.errors()]
        raise ConfigError("; ".join(problems)) from None
