"""FOCUS column catalogue: which columns each version has, and where each lands in billing_rows.

FOCUS renamed columns between versions. Every name any supported version uses maps to the
newest name's ``billing_rows`` column:

=================  =====================  ==========================
older name         newest name            billing_rows column
=================  =====================  ==========================
AmortizedCost      EffectiveCost          effective_cost
ChargeType         ChargeCategory         charge_category
UsageQuantity      ConsumedQuantity       consumed_quantity
UsageUnit          ConsumedUnit           consumed_unit
Region             RegionId               region_id
Provider(Name)     ServiceProviderName    service_provider_name
Publisher(Name)    HostProviderName       host_provider_name
InvoiceIssuer      InvoiceIssuerName      invoice_issuer_name
=================  =====================  ==========================

When a file carries both an old and a new name (FOCUS 1.3 keeps the deprecated
ProviderName and PublisherName beside ServiceProviderName and HostProviderName), the newest
name fills the column and the older one is kept in ``extra``. Every other column, FOCUS or
not (``x_*`` extensions, ``Id``, ``SkuPriceDetails``, ``ContractApplied``, ...), is kept in
``extra`` under its name as it appears in the file. Column names match case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "number", "timestamp", "tags"]


@dataclass(frozen=True)
class TargetColumn:
    """One typed billing_rows column and the FOCUS names that fill it, newest first."""

    column: str
    kind: Kind
    names: tuple[str, ...]

    @property
    def focus_name(self) -> str:
        return self.names[0]


def _col(column: str, kind: Kind, *names: str) -> TargetColumn:
    return TargetColumn(column, kind, names)


TARGET_COLUMNS: tuple[TargetColumn, ...] = (
    _col("billing_account_id", "text", "BillingAccountId"),
    _col("billing_account_name", "text", "BillingAccountName"),
    _col("sub_account_id", "text", "SubAccountId"),
    _col("sub_account_name", "text", "SubAccountName"),
    _col("billing_period_start", "timestamp", "BillingPeriodStart"),
    _col("billing_period_end", "timestamp", "BillingPeriodEnd"),
    _col("charge_period_start", "timestamp", "ChargePeriodStart"),
    _col("charge_period_end", "timestamp", "ChargePeriodEnd"),
    _col("charge_category", "text", "ChargeCategory", "ChargeType"),
    _col("charge_class", "text", "ChargeClass"),
    _col("charge_description", "text", "ChargeDescription"),
    _col("charge_frequency", "text", "ChargeFrequency"),
    _col("pricing_category", "text", "PricingCategory"),
    _col("billed_cost", "number", "BilledCost"),
    _col("effective_cost", "number", "EffectiveCost", "AmortizedCost"),
    _col("list_cost", "number", "ListCost"),
    _col("contracted_cost", "number", "ContractedCost"),
    _col("billing_currency", "text", "BillingCurrency"),
    _col("consumed_quantity", "number", "ConsumedQuantity", "UsageQuantity"),
    _col("consumed_unit", "text", "ConsumedUnit", "UsageUnit"),
    _col("pricing_quantity", "number", "PricingQuantity"),
    _col("pricing_unit", "text", "PricingUnit"),
    _col("list_unit_price", "number", "ListUnitPrice"),
    _col("contracted_unit_price", "number", "ContractedUnitPrice"),
    _col("commitment_discount_id", "text", "CommitmentDiscountId"),
    _col("commitment_discount_type", "text", "CommitmentDiscountType"),
    _col("commitment_discount_category", "text", "CommitmentDiscountCategory"),
    _col("commitment_discount_status", "text", "CommitmentDiscountStatus"),
    _col("capacity_reservation_id", "text", "CapacityReservationId"),
    _col("resource_id", "text", "ResourceId"),
    _col("resource_name", "text", "ResourceName"),
    _col("resource_type", "text", "ResourceType"),
    _col("region_id", "text", "RegionId", "Region"),
    _col("region_name", "text", "RegionName"),
    _col("availability_zone", "text", "AvailabilityZone"),
    _col("service_name", "text", "ServiceName"),
    _col("service_category", "text", "ServiceCategory"),
    _col("service_subcategory", "text", "ServiceSubcategory"),
    _col("service_provider_name", "text", "ServiceProviderName", "ProviderName", "Provider"),
    _col("host_provider_name", "text", "HostProviderName", "PublisherName", "Publisher"),
    _col("invoice_issuer_name", "text", "InvoiceIssuerName", "InvoiceIssuer"),
    _col("sku_id", "text", "SkuId"),
    _col("sku_price_id", "text", "SkuPriceId"),
    _col("tags", "tags", "Tags"),
)

# Columns allot cannot work without: the slice key, the charge period, the money and the
# dimensions every answer groups by. Other FOCUS Mandatory columns are read when present.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "billing_account_id",
    "billing_currency",
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "charge_period_end",
    "billed_cost",
    "effective_cost",
    "charge_category",
    "service_name",
)
# Of those, the ones that must not be null in any row (FOCUS: "MUST NOT be null").
NOT_NULL_COLUMNS: tuple[str, ...] = (
    "billing_account_id",
    "billing_currency",
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "charge_period_end",
    "billed_cost",
    "effective_cost",
)

# Columns that first appear in a version: the newest one present decides the version.
INTRODUCED: dict[str, tuple[str, ...]] = {
    "1.3": (
        "ServiceProviderName", "HostProviderName", "ContractApplied", "AllocatedMethodId",
        "AllocatedMethodDetails", "AllocatedResourceId", "AllocatedResourceName", "AllocatedTags",
    ),
    "1.2": (
        "BillingAccountType", "SubAccountType", "InvoiceId", "PricingCurrency",
        "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
    ),
    "1.1": (
        "CapacityReservationId", "CapacityReservationStatus", "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit", "ServiceSubcategory", "SkuMeter", "SkuPriceDetails",
    ),
}
# Names FOCUS used before 1.0 (0.5 and the 1.0 preview); a file using them is read as 1.0.
PRE_1_0_NAMES: tuple[str, ...] = (
    "AmortizedCost", "ChargeType", "UsageQuantity", "UsageUnit", "Region", "Provider",
    "Publisher", "InvoiceIssuer",
)


@dataclass(frozen=True)
class ColumnPlan:
    """How one file's columns land in billing_rows."""

    version: str
    sources: dict[str, str]  # billing_rows column -> the file's column name
    extra: tuple[str, ...]   # file columns kept in `extra`
    legacy: tuple[str, ...]  # pre-1.0 names that were mapped (for the report)

    def missing(self) -> list[str]:
        return [c for c in REQUIRED_COLUMNS if c not in self.sources]


def detect_version(columns: list[str]) -> str:
    """FOCUS version from the columns present: the newest version whose new columns appear."""
    present = {c.strip().lower() for c in columns}
    for version in ("1.3", "1.2", "1.1"):
        if any(name.lower() in present for name in INTRODUCED[version]):
            return version
    return "1.0"


def plan_columns(columns: list[str]) -> ColumnPlan:
    """Match a file's header to billing_rows columns (newest FOCUS name wins)."""
    by_lower: dict[str, str] = {}
    for name in columns:
        by_lower.setdefault(name.strip().lower(), name)
    sources: dict[str, str] = {}
    used: set[str] = set()
    legacy: list[str] = []
    for target in TARGET_COLUMNS:
        for name in target.names:
            found = by_lower.get(name.lower())
            if found is not None:
                sources[target.column] = found
                used.add(found)
                if name in PRE_1_0_NAMES:
                    legacy.append(f"{found} -> {target.focus_name}")
                break
    extra = tuple(c for c in columns if c not in used)
    return ColumnPlan(detect_version(columns), sources, extra, tuple(legacy))


def describe_required(column: str) -> str:
    """'EffectiveCost (or AmortizedCost)' for an error message."""
    target = next(t for t in TARGET_COLUMNS if t.column == column)
    if len(target.names) == 1:
        return target.focus_name
    return f"{target.focus_name} (or {', '.join(target.names[1:])})"


def target(column: str) -> TargetColumn:
    return next(t for t in TARGET_COLUMNS if t.column == column)
