"""On-demand prices for common node instance types, used when the bill has no row for a node.

A node-hour with no matching billing row is priced from this table and marked ``estimated``
(DESIGN.md rule 2); the GPU share of an instance's price also comes from here (rule 3).

Prices are public on-demand list prices in USD per hour for a common region (AWS us-east-1,
GCP us-central1, Azure East US) and are deliberately approximate: they only price what the
bill does not. Spot nodes are priced at the on-demand price (an upper bound), and said so in
the caveat. ``gpu_share`` is the part of the instance price attributed to its GPUs, taken from
the provider's own price of the GPU where the provider sells it separately (GCP, accelerator-
optimised families) or from the instance price minus an equivalent CPU-only instance.

An instance type missing from the table is priced from its allocatable resources with the
fallback rates below (per vCPU-hour, GiB-hour and GPU-hour), and its GPU share is the GPU part
of that same sum.
"""

from __future__ import annotations

from typing import NamedTuple


class InstancePrice(NamedTuple):
    hourly: float        # USD per hour, on-demand
    gpu_share: float     # part of `hourly` that pays for GPUs (0 for CPU-only types)


FALLBACK_CPU_HOUR = 0.031611      # USD per vCPU-hour
FALLBACK_GIB_HOUR = 0.004237      # USD per GiB-hour
FALLBACK_GPU_HOUR = 0.95          # USD per GPU-hour

INSTANCE_PRICES: dict[str, InstancePrice] = {
    # AWS general purpose / compute / memory
    "t3.medium": InstancePrice(0.0416, 0.0),
    "t3.large": InstancePrice(0.0832, 0.0),
    "t3.xlarge": InstancePrice(0.1664, 0.0),
    "m5.large": InstancePrice(0.096, 0.0),
    "m5.xlarge": InstancePrice(0.192, 0.0),
    "m5.2xlarge": InstancePrice(0.384, 0.0),
    "m5.4xlarge": InstancePrice(0.768, 0.0),
    "m6i.large": InstancePrice(0.096, 0.0),
    "m6i.xlarge": InstancePrice(0.192, 0.0),
    "m6i.2xlarge": InstancePrice(0.384, 0.0),
    "m6i.4xlarge": InstancePrice(0.768, 0.0),
    "m7i.xlarge": InstancePrice(0.2016, 0.0),
    "m7i.2xlarge": InstancePrice(0.4032, 0.0),
    "m6g.xlarge": InstancePrice(0.154, 0.0),
    "c5.xlarge": InstancePrice(0.17, 0.0),
    "c5.2xlarge": InstancePrice(0.34, 0.0),
    "c6i.2xlarge": InstancePrice(0.34, 0.0),
    "r5.xlarge": InstancePrice(0.252, 0.0),
    "r5.2xlarge": InstancePrice(0.504, 0.0),
    "r6i.2xlarge": InstancePrice(0.504, 0.0),
    # AWS GPU
    "g4dn.xlarge": InstancePrice(0.526, 0.70),
    "g4dn.2xlarge": InstancePrice(0.752, 0.55),
    "g5.xlarge": InstancePrice(1.006, 0.80),
    "g5.2xlarge": InstancePrice(1.212, 0.70),
    "g5.4xlarge": InstancePrice(1.624, 0.55),
    "g5.12xlarge": InstancePrice(5.672, 0.70),
    "g5.48xlarge": InstancePrice(16.288, 0.70),
    "p3.2xlarge": InstancePrice(3.06, 0.85),
    "p4d.24xlarge": InstancePrice(32.7726, 0.85),
    "p5.48xlarge": InstancePrice(98.32, 0.88),
    # GCP
    "e2-standard-2": InstancePrice(0.067, 0.0),
    "e2-standard-4": InstancePrice(0.134, 0.0),
    "e2-standard-8": InstancePrice(0.268, 0.0),
    "e2-standard-16": InstancePrice(0.536, 0.0),
    "n2-standard-4": InstancePrice(0.1942, 0.0),
    "n2-standard-8": InstancePrice(0.3885, 0.0),
    "n2-standard-16": InstancePrice(0.7769, 0.0),
    "n2-highmem-8": InstancePrice(0.5241, 0.0),
    "n1-standard-4": InstancePrice(0.19, 0.0),
    "n1-standard-8": InstancePrice(0.38, 0.0),
    "a2-highgpu-1g": InstancePrice(3.6733, 0.80),
    "a2-highgpu-2g": InstancePrice(7.3466, 0.80),
    "a2-highgpu-8g": InstancePrice(29.3874, 0.80),
    "g2-standard-4": InstancePrice(0.7068, 0.80),
    "g2-standard-8": InstancePrice(0.8536, 0.66),
    "g2-standard-24": InstancePrice(2.0004, 0.70),
    # Azure
    "standard_d2s_v3": InstancePrice(0.096, 0.0),
    "standard_d4s_v3": InstancePrice(0.192, 0.0),
    "standard_d8s_v3": InstancePrice(0.384, 0.0),
    "standard_d4s_v5": InstancePrice(0.192, 0.0),
    "standard_d8s_v5": InstancePrice(0.384, 0.0),
    "standard_d16s_v5": InstancePrice(0.768, 0.0),
    "standard_e4s_v5": InstancePrice(0.252, 0.0),
    "standard_e8s_v5": InstancePrice(0.504, 0.0),
    "standard_b2s": InstancePrice(0.0416, 0.0),
    "standard_nc6s_v3": InstancePrice(3.06, 0.85),
    "standard_nc4as_t4_v3": InstancePrice(0.526, 0.70),
    "standard_nc8as_t4_v3": InstancePrice(0.752, 0.55),
    "standard_nc24ads_a100_v4": InstancePrice(3.673, 0.80),
    "standard_nd96asr_v4": InstancePrice(27.197, 0.85),
}


def instance_price(instance_type: str | None) -> InstancePrice | None:
    """The table's price for ``instance_type`` (case-insensitive), or None when unknown."""
    if not instance_type:
        return None
    return INSTANCE_PRICES.get(instance_type.strip().lower())


def price_rows() -> list[tuple[str, float, float]]:
    """(instance_type, hourly, gpu_share) rows, for loading into a SQL table."""
    return [(name, p.hourly, p.gpu_share) for name, p in INSTANCE_PRICES.items()]
