"""Check a staged FOCUS file and build the SQL that types it into billing_rows.

All checks run as set-based SQL over the staging table (one aggregate scan plus one
duplicate scan), so millions of rows cost seconds, not a Python loop. The first failing
check raises an InputError that names the file, the 1-based data row, the column, the value
and the fix. Accepted conventions:

* numbers: plain decimals, optionally in exponent form (``1.2E-5``); NaN and infinity refused;
* timestamps: ISO 8601 with or without ``T``; a value without a zone is UTC, a value with a
  zone is converted to UTC; stored naive;
* Tags: a JSON object, stored as MAP(VARCHAR, VARCHAR) with keys exactly as written (the
  official sample carries both ``"org"`` and ``" org"``: trimming would merge two different
  keys, so nothing is trimmed); non-string values are kept as their JSON text; a repeated key
  in one row is refused;
* one file holds one billing currency; exact duplicate rows (every column equal) are refused,
  because they double-count cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from tools.errors import InputError
from tools.sources.focus_columns import (
    NOT_NULL_COLUMNS,
    ColumnPlan,
    describe_required,
    target,
)
from tools.sources.focus_read import StagedFile, quote_identifier
from tools.warehouse.sql import literal

_MAX_LISTED = 3


def number_sql(column: str) -> str:
    return f"TRY_CAST(trim({column}) AS DOUBLE)"


def timestamp_sql(column: str) -> str:
    return f"timezone('UTC', TRY_CAST(trim({column}) AS TIMESTAMPTZ))"


def tags_sql(column: str) -> str:
    return (
        f"CASE WHEN {column} IS NULL OR json_type({column}::JSON) = 'NULL' THEN NULL "
        f"ELSE {column}::JSON::MAP(VARCHAR, VARCHAR) END"
    )


@dataclass(frozen=True)
class _Check:
    """One rule: `bad` is a SQL condition true for an offending row."""

    source: str      # the file's column name
    bad: str
    problem: str     # "is not a number"
    fix: str


def _checks(plan: ColumnPlan) -> list[_Check]:
    checks: list[_Check] = []
    for column, source in plan.sources.items():
        kind = target(column).kind
        quoted = quote_identifier(source)
        if kind == "number":
            checks.append(_Check(
                source,
                f"{quoted} IS NOT NULL AND coalesce(NOT isfinite({number_sql(quoted)}), true)",
                "is not a number",
                "write a plain decimal such as 12.34 (no currency symbol or thousands separator)",
            ))
        elif kind == "timestamp":
            checks.append(_Check(
                source,
                f"{quoted} IS NOT NULL AND {timestamp_sql(quoted)} IS NULL",
                "is not a timestamp",
                "write an ISO 8601 timestamp such as 2024-09-01 00:00:00 or 2024-09-01T00:00:00Z",
            ))
        elif kind == "tags":
            checks.append(_Check(
                source,
                f"CASE WHEN {quoted} IS NULL THEN false WHEN NOT json_valid({quoted}) THEN true "
                f"WHEN json_type({quoted}::JSON) NOT IN ('OBJECT', 'NULL') THEN true "
                f"WHEN json_type({quoted}::JSON) = 'OBJECT' "
                f"THEN len(json_keys({quoted})) <> len(list_distinct(json_keys({quoted}))) ELSE false END",
                "is not a JSON object with unique keys",
                'write Tags as a JSON object such as {"team": "data"}, each key once',
            ))
    for column in NOT_NULL_COLUMNS:
        source = plan.sources[column]
        checks.append(_Check(
            source,
            f"{quote_identifier(source)} IS NULL",
            "is empty (FOCUS requires a value)",
            f"fill {describe_required(column)} in every row or re-export the file",
        ))
    return checks


def check_staged(con: duckdb.DuckDBPyConnection, staged: StagedFile, plan: ColumnPlan) -> None:
    """Raise InputError for the first problem in ``staged``; return quietly if it is clean."""
    missing = plan.missing()
    if missing:
        names = ", ".join(describe_required(c) for c in missing)
        raise InputError(
            f"{staged.path}: missing mandatory FOCUS column(s) {names}. Found {len(staged.columns)} "
            f"columns: {', '.join(staged.columns)}. Fix: export the full FOCUS dataset (AWS Data "
            "Exports FOCUS table, Azure FocusCost, GCP FOCUS view) or add the missing column."
        )
    checks = _checks(plan)
    aggregates = ", ".join(
        f"min(rowid) FILTER (WHERE {c.bad}), count(*) FILTER (WHERE {c.bad})" for c in checks
    )
    found = con.execute(f"SELECT {aggregates} FROM {staged.table}").fetchall()[0]
    for i, check in enumerate(checks):
        first, count = found[2 * i], found[2 * i + 1]
        if first is None:
            continue
        value = con.execute(
            f"SELECT {quote_identifier(check.source)} FROM {staged.table} WHERE rowid = ?", [first]
        ).fetchall()[0][0]
        shown = "" if value is None else f" {value!r}"
        more = f" ({count - 1} more rows have the same problem)" if count > 1 else ""
        raise InputError(
            f"{staged.path}, data row {first + 1}, column {check.source}: value{shown} "
            f"{check.problem}{more}. Fix: {check.fix}."
        )
    _check_currency(con, staged, plan)
    _check_duplicates(con, staged)


def _check_currency(con: duckdb.DuckDBPyConnection, staged: StagedFile, plan: ColumnPlan) -> None:
    column = quote_identifier(plan.sources["billing_currency"])
    currencies = con.execute(
        f"SELECT {column}, count(*), min(rowid) + 1 FROM {staged.table} GROUP BY ALL ORDER BY 1"
    ).fetchall()
    if len(currencies) > 1:
        listed = ", ".join(f"{c} ({n} rows, first at data row {r})" for c, n, r in currencies)
        raise InputError(
            f"{staged.path}: mixes billing currencies in column {plan.sources['billing_currency']}: "
            f"{listed}. allot keeps one currency per file so that no total silently adds euros to "
            "dollars. Fix: export each billing account (currency) to its own file."
        )


def _check_duplicates(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    # A 64-bit hash of every column finds candidate rows in one cheap pass; only those are
    # compared column by column, so a clean file costs one hash aggregate.
    columns = ", ".join(quote_identifier(c) for c in staged.columns)
    candidates = (
        f"SELECT rowid FROM {staged.table} WHERE hash({columns}) IN ("
        f"SELECT hash({columns}) FROM {staged.table} GROUP BY 1 HAVING count(*) > 1)"
    )
    groups = con.execute(
        f"SELECT list(rowid + 1 ORDER BY rowid), count(*) OVER () FROM {staged.table} "
        f"WHERE rowid IN ({candidates}) "
        f"GROUP BY {columns} HAVING count(*) > 1 ORDER BY min(rowid) LIMIT {_MAX_LISTED}"
    ).fetchall()
    if groups:
        listed = "; ".join("data rows " + ", ".join(str(r) for r in rows) for rows, _ in groups)
        total = groups[0][1]
        raise InputError(
            f"{staged.path}: {total} group(s) of exactly duplicated rows (every column equal): "
            f"{listed}{' ...' if total > len(groups) else ''}. Duplicates would count the same cost "
            "twice. Fix: remove the repeated rows or re-export the file."
        )


def typed_select(staged: StagedFile, plan: ColumnPlan) -> tuple[list[str], str]:
    """The billing_rows column list and the SELECT that fills it from ``staged``."""
    columns = ["delivery_id", "source_file", "source_row", "focus_version"]
    values = ["$delivery_id", "$source_file", "rowid + 1", "$focus_version"]
    for column, source in plan.sources.items():
        quoted = quote_identifier(source)
        kind = target(column).kind
        columns.append(column)
        if kind == "number":
            values.append(number_sql(quoted))
        elif kind == "timestamp":
            values.append(timestamp_sql(quoted))
        elif kind == "tags":
            values.append(tags_sql(quoted))
        else:
            values.append(quoted)
    columns.append("extra")
    if plan.extra:
        pairs = ", ".join(f"{literal(c)}, {quote_identifier(c)}" for c in plan.extra)
        values.append(f"json_object({pairs})")
    else:
        values.append("NULL")
    return columns, f"SELECT {', '.join(values)} FROM {staged.table}"


def slice_select(staged: StagedFile, plan: ColumnPlan) -> str:
    """The distinct (billing_account_id, billing_period_start) slices of a staged file."""
    account = quote_identifier(plan.sources["billing_account_id"])
    period = timestamp_sql(quote_identifier(plan.sources["billing_period_start"]))
    return (
        f"SELECT DISTINCT {account} AS billing_account_id, {period} AS billing_period_start "
        f"FROM {staged.table}"
    )
