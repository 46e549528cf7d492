"""FOCUS columns and per-provider defaults for the demo's billing files.

AWS and GCP files are FOCUS 1.2 (every 1.2 column); the Azure file is FOCUS 1.3 (adds
``ServiceProviderName`` and ``HostProviderName``, keeps the deprecated provider columns as the
Azure export does). Costs are written with 10 decimals and the writer's ledger adds the
written values, so totals computed from the files equal the ledger exactly.
"""

from __future__ import annotations

import json
from datetime import datetime

FOCUS_12 = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId",
    "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName",
    "SubAccountType", "Tags",
)
FOCUS_13 = FOCUS_12 + ("ServiceProviderName", "HostProviderName")

MANDATORY_12 = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
)

PROVIDER_DEFAULTS: dict[str, dict[str, str]] = {
    "aws": {"ProviderName": "AWS", "PublisherName": "AWS", "InvoiceIssuerName": "Amazon Web Services, Inc.",
            "BillingAccountName": "Acme Corp", "BillingAccountType": "Billing Account",
            "SubAccountType": "Linked Account", "RegionName": "US East (N. Virginia)"},
    "gcp": {"ProviderName": "Google Cloud", "PublisherName": "Google Cloud", "InvoiceIssuerName": "Google",
            "BillingAccountName": "Acme Corp GCP", "BillingAccountType": "Billing Account",
            "SubAccountType": "Project", "RegionName": "Netherlands"},
    "azure": {"ProviderName": "Microsoft", "PublisherName": "Microsoft", "InvoiceIssuerName": "Microsoft",
              "ServiceProviderName": "Microsoft", "HostProviderName": "Microsoft",
              "BillingAccountName": "Acme Corp EA", "BillingAccountType": "Billing Profile",
              "SubAccountType": "Subscription", "RegionName": "West Europe"},
}
VERSION = {"aws": "1.2", "gcp": "1.2", "azure": "1.3"}


def ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def money(value: float) -> str:
    return f"{value:.10f}"


def qty(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"


def tags(values: dict[str, str]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":")) if values else ""
