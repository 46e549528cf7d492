"""Tool ``billing_query``: cost straight from the bill, grouped, over a window.

Reads ``billing_rows`` (the FOCUS ingest) and shows BilledCost (what the invoice charges) and
EffectiveCost (amortized: commitments and discounts spread over the usage they cover) side by
side. Rules:

* a billing row belongs to the window that contains its ChargePeriodStart (rows are not
  prorated, so totals match the invoice lines);
* ``cluster`` grouping reads the cluster tags providers put on cluster-level resources, first
  present of ``eks:cluster-name``, ``aws:eks:cluster-name``, ``kubernetes.io/cluster/<name>``
  (key form), ``goog-k8s-cluster-name``, ``aks-managed-cluster-name``, ``kubernetes_cluster``;
  rows without one are ``(no cluster)``. Cost tied to a cluster only through resource ids
  (untagged nodes, disks, load balancers) is attributed by the allocation, not here;
* tag keys match exactly as the bill writes them (no trimming or case folding);
* one currency per answer: when the window holds several, the call must pick one;
* an empty result is ``no_data`` with the reason and the date range the bill covers, never $0.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from tools.cluster_tags import cluster_from_tags_sql
from tools.context import Context
from tools.errors import ToolRetry
from tools.warehouse.sql import literal
from tools.windows import Window, parse_window

GROUPINGS = ("service", "resource_type", "account", "region", "charge_category", "cluster", "tag:KEY")
NO_CLUSTER = "(no cluster)"


def describe_window(window: Window) -> str:
    """``2024-09-01 .. 2024-10-01``, prefixed by the name for named windows (``all (...)``)."""
    span = Window(start=window.start, end=window.end).describe()
    return span if not window.label or ".." in window.label else f"{window.label} ({span})"


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


class BillingQueryInput(BaseModel):
    """What to read from the bill: a window, a grouping and optional filters."""

    window: str = Field(
        "all",
        description="Time window: 'all' (every billing row), START..END with dates or datetimes "
        "(END exclusive, e.g. 2024-09-01..2024-10-01), an ISO week (2024-W38), or a name "
        "anchored to the data: this-week, previous-week, last-30d, Nd. Ignored when start "
        "and end are given.",
    )
    start: datetime | None = Field(None, description="Window start (UTC); use with end instead of window.")
    end: datetime | None = Field(None, description="Window end, exclusive (UTC).")
    group_by: str = Field(
        "service",
        description="service, resource_type, account (sub-account: AWS account, Azure "
        "subscription, GCP project), region, charge_category, cluster, or tag:KEY.",
    )
    service: str | None = Field(None, description="Only rows with this ServiceName.")
    account: str | None = Field(None, description="Only rows with this SubAccountId (or BillingAccountId).")
    region: str | None = Field(None, description="Only rows with this RegionId.")
    charge_category: str | None = Field(None, description="Only Usage, Purchase, Tax, Credit or Adjustment rows.")
    cluster: str | None = Field(None, description="Only rows whose cluster tag names this cluster.")
    tag: str | None = Field(None, description="Only rows carrying tag KEY=VALUE (or just KEY: any value).")
    currency: str | None = Field(None, description="BillingCurrency to report; needed when the window holds several.")
    limit: int | None = Field(None, ge=1, description="Return only the largest N groups; totals still cover all.")

    @field_validator("group_by")
    @classmethod
    def _known_grouping(cls, value: str) -> str:
        if value in GROUPINGS[:-1] or (value.startswith("tag:") and len(value) > 4):
            return value
        raise ValueError(f"group_by {value!r} is not one of {', '.join(GROUPINGS)}")

    @model_validator(mode="after")
    def _both_bounds(self) -> "BillingQueryInput":
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither (then window is used)")
        self.start, self.end = _naive_utc(self.start), _naive_utc(self.end)
        if self.start is not None and self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class BillingGroup(BaseModel):
    """One group of billing rows."""

    key: str = Field(description="Service, resource type, account id, region, category, cluster or tag value.")
    label: str | None = Field(None, description="Display name where the bill has one (account names).")
    billed_cost: float = Field(description="Sum of BilledCost: what the invoice charges.")
    effective_cost: float = Field(description="Sum of EffectiveCost: amortized, discounts applied.")
    rows: int = Field(description="Billing rows in the group.")


class BillingTotals(BaseModel):
    billed_cost: float
    effective_cost: float
    rows: int


class BillingQueryOutput(BaseModel):
    """Billed and effective cost per group; ``no_data`` says why nothing matched."""

    status: Literal["ok", "no_data", "error"]
    reason: str | None = Field(None, description="Why there is no data, when status is no_data.")
    group_by: str
    window: Window | None = None
    currency: str | None = None
    rows: list[BillingGroup] = Field(default_factory=list, description="Sorted by the configured cost basis, largest first.")
    totals: BillingTotals | None = None
    data_start: datetime | None = Field(None, description="First ChargePeriodStart in the warehouse.")
    data_end: datetime | None = Field(None, description="Last ChargePeriodEnd in the warehouse.")


_GROUP_SQL = {
    "service": ("coalesce(service_name, '(no service)')", "NULL"),
    "resource_type": ("coalesce(resource_type, '(no resource type)')", "NULL"),
    "account": ("coalesce(sub_account_id, billing_account_id)", "coalesce(sub_account_name, billing_account_name)"),
    "region": ("coalesce(region_id, '(no region)')", "any_value(region_name)"),
    "charge_category": ("coalesce(charge_category, '(no category)')", "NULL"),
    "cluster": (f"coalesce({cluster_from_tags_sql()}, '{NO_CLUSTER}')", "NULL"),
}


def _explicit_window(text: str) -> Window | None:
    """START..END and ISO weeks do not depend on the data (same rules as tools.windows)."""
    stripped = text.strip()
    if ".." in stripped:
        left, right = (part.strip() for part in stripped.split("..", 1))
        try:
            start, end = _instant(left), _instant(right)
        except ValueError:
            return None  # parse_window names what is wrong
        return Window(start=start, end=end, label=text) if end > start else None
    if m := re.fullmatch(r"(\d{4})-[wW](\d{1,2})", stripped):
        try:
            monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            return None
        start = datetime.combine(monday, time.min)
        return Window(start=start, end=start + timedelta(days=7), label=text)
    return None


def _instant(text: str) -> datetime:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), time.min)
    return _naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _filters(args: BillingQueryInput) -> tuple[list[str], dict]:
    where, params = [], {}
    simple = {
        "service": "service_name",
        "region": "region_id",
        "charge_category": "charge_category",
        "currency": "billing_currency",
    }
    for field, column in simple.items():
        value = getattr(args, field)
        if value is not None:
            where.append(f"{column} = ${field}")
            params[field] = value
    if args.account is not None:
        where.append("(sub_account_id = $account OR (sub_account_id IS NULL AND billing_account_id = $account))")
        params["account"] = args.account
    if args.cluster is not None:
        where.append(f"{cluster_from_tags_sql()} = $cluster")
        params["cluster"] = args.cluster
    if args.tag is not None:
        key, has_value, value = args.tag.partition("=")
        params["tag_key"] = key
        if has_value:
            where.append("tags[$tag_key] = $tag_value")
            params["tag_value"] = value
        else:
            where.append("list_contains(map_keys(tags), $tag_key)")
    return where, params


def _describe_filters(args: BillingQueryInput) -> str:
    names = ("service", "account", "region", "charge_category", "cluster", "tag", "currency")
    parts = [f"{n}={getattr(args, n)!r}" for n in names if getattr(args, n) is not None]
    return " and ".join(parts)


def billing_query(ctx: Context, args: BillingQueryInput) -> BillingQueryOutput:
    """Cost from the cloud bill (FOCUS billing rows) grouped by service, resource type, account, region, charge category, cluster tag or any tag, over a window.

    Shows BilledCost (invoiced) and EffectiveCost (amortized, discounts applied) side by
    side, largest first, with totals over every matching row. Use it for "what does the bill
    say" questions; use the allocation tools for cost per Kubernetes workload. Cluster
    grouping reads cluster tags only: untagged cluster resources show as "(no cluster)".

    Args:
        ctx: The warehouse to read.
        args: Window, grouping and filters (see BillingQueryInput).

    Returns:
        BillingQueryOutput: status ``ok`` with rows and totals, or ``no_data`` with the
        reason and the date range the bill covers.

    Raises:
        ToolRetry: the window holds several billing currencies; retry with ``currency`` set
            to one of ``valid``.
        InputError: the window expression is not understood.
    """
    con = ctx.db
    first, last, count = con.execute(
        "SELECT min(charge_period_start), max(charge_period_end), count(*) FROM billing_rows"
    ).fetchall()[0]
    out = BillingQueryOutput(status="no_data", group_by=args.group_by, data_start=first, data_end=last)
    if count == 0:
        out.reason = "the warehouse holds no billing rows; load a FOCUS export with `allot ingest focus FILE`"
        return out
    covers = f"the bill covers {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}"
    if args.start is not None:
        window = Window(start=args.start, end=args.end, label=f"{args.start.isoformat()}..{args.end.isoformat()}")
    elif args.window.strip().lower() == "all":
        window = Window(start=first, end=max(last, first + timedelta(hours=1)), label="all")
    else:
        window = _explicit_window(args.window) or parse_window(ctx, args.window)
    out.window = window

    in_window = "charge_period_start >= $start AND charge_period_start < $end"
    base = {"start": window.start, "end": window.end}
    if con.execute(f"SELECT count(*) FROM billing_rows WHERE {in_window}", base).fetchall()[0][0] == 0:
        out.reason = f"no billing rows are charged in {describe_window(window)}; {covers}"
        return out
    where, params = _filters(args)
    params.update(base)
    condition = " AND ".join([in_window, *where])
    currencies = [r[0] for r in con.execute(
        f"SELECT DISTINCT billing_currency FROM billing_rows WHERE {condition} ORDER BY 1", params
    ).fetchall()]
    if not currencies:
        out.reason = f"no billing rows match {_describe_filters(args)} in {describe_window(window)}; {covers}"
        return out
    if len(currencies) > 1:
        raise ToolRetry(
            f"billing rows in {describe_window(window)} are in several currencies ({', '.join(currencies)}); "
            "ask for one with currency=...",
            valid=currencies,
        )
    out.currency = currencies[0]

    if args.group_by.startswith("tag:"):
        params["group_tag"] = args.group_by[4:]
        key_sql, label_sql = f"coalesce(tags[$group_tag], {literal(f'(no {args.group_by[4:]} tag)')})", "NULL"
    else:
        key_sql, label_sql = _GROUP_SQL[args.group_by]
    if label_sql != "NULL" and not label_sql.startswith("any_value"):
        label_sql = f"any_value({label_sql})"
    basis = "effective_cost" if ctx.settings.allocation.cost_basis == "effective" else "billed_cost"
    grouped = con.execute(
        f"SELECT {key_sql} AS key, {label_sql} AS label, sum(billed_cost) AS billed_cost, "
        f"sum(effective_cost) AS effective_cost, count(*) AS rows FROM billing_rows WHERE {condition} "
        f"GROUP BY 1 ORDER BY {basis} DESC, key",
        params,
    ).fetchall()
    groups = [
        BillingGroup(key=k, label=lb, billed_cost=_money(b), effective_cost=_money(e), rows=n)
        for k, lb, b, e, n in grouped
    ]
    out.totals = BillingTotals(
        billed_cost=_money(sum(g[2] for g in grouped)),
        effective_cost=_money(sum(g[3] for g in grouped)),
        rows=sum(g.rows for g in groups),
    )
    out.rows = groups[: args.limit] if args.limit else groups
    out.status = "ok"
    return out


def _money(value: float) -> float:
    """Round away float noise; keep sub-cent amounts (usage rows are often fractions of a cent)."""
    return round(float(value), 10)
