"""FOCUS billing ingest: ``allot ingest focus PATH...``.

Reads FOCUS 1.0, 1.1, 1.2 and 1.3 exports (CSV, CSV.gz, Parquet; the AWS Data Exports FOCUS
table, the Azure FocusCost export, the GCP FOCUS view) into ``billing_rows``.

Delivery semantics:

* one call is one *delivery*; its id is derived from the content (sha256) of its files;
* a delivery replaces, for every (BillingAccountId, BillingPeriodStart) slice it contains,
  all rows ingested earlier for that slice: a restated period from a newer export supersedes
  the old rows, and slices the delivery does not mention are left alone (the delivery
  ingested last wins: export dates inside the files are not compared);
* ingesting the same files again while their rows are still current changes nothing (not
  even ``billing_deliveries``); the report says so;
* anything wrong in any file (see tools.sources.focus_validate) raises InputError and the
  warehouse is left exactly as it was (one transaction for the whole delivery).

Column mapping and version detection: tools.sources.focus_columns. File reading:
tools.sources.focus_read. After a successful ingest the allocation is rebuilt
(tools.sources.after_ingest.refresh_allocation).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import duckdb

from tools.context import Context
from tools.errors import InputError
from tools.sources.after_ingest import refresh_allocation
from tools.sources.focus_columns import ColumnPlan, plan_columns
from tools.sources.focus_read import StagedFile, file_sha256, stage_file
from tools.sources.focus_validate import check_staged, slice_select, typed_select
from tools.sources.ingest_log import record_run
from tools.sources.report import IngestReport
from tools.warehouse import transaction

log = logging.getLogger(__name__)

def delivery_id_for(shas: list[str]) -> str:
    """Content-derived id: the same set of files is the same delivery."""
    return "focus-" + hashlib.sha256("\n".join(sorted(shas)).encode()).hexdigest()[:16]


def ingest_focus_files(ctx: Context, paths: list[Path]) -> IngestReport:
    """Ingest FOCUS files as one delivery and rebuild the allocation.

    Args:
        ctx: the warehouse to write to.
        paths: FOCUS exports (CSV, CSV.gz or Parquet), any FOCUS version 1.0 to 1.3.

    Returns:
        An IngestReport with the rows written per table (``replaced billing_rows``: earlier
        rows a restatement superseded) and warnings (pre-1.0 column names mapped, or nothing
        to do because the files are already ingested).

    Raises:
        InputError: a file is missing, empty, unreadable or invalid; the message names the
            file, row, column and the fix, and the warehouse is unchanged.
    """
    paths = [Path(p).resolve() for p in paths]
    if not paths:
        raise InputError("no FOCUS files given. Fix: allot ingest focus FILE [FILE...]")
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file. Fix: pass the path of a FOCUS CSV, CSV.gz or Parquet export.")
    shas = [file_sha256(p) for p in paths]
    _refuse_repeated_files(paths, shas)
    delivery_id = delivery_id_for(shas)
    report = IngestReport(source="focus", files=[str(p) for p in paths])

    con = ctx.db
    if _is_current(con, delivery_id):
        report.rows = {"billing_rows": 0}
        report.warnings.append(
            f"already ingested as delivery {delivery_id} and still current; nothing changed"
        )
        return report

    # Files are staged and checked in temporary tables first (nothing in the warehouse
    # changes; committed as they are read, so that rowid is the file order). The warehouse
    # write is then one transaction: drop the slices the delivery restates, insert its rows.
    staged_files: list[tuple[StagedFile, ColumnPlan]] = []
    started = ctx.clock()
    try:
        for index, path in enumerate(paths):
            staged_files.append(_stage_and_check(con, path, shas[index], index, report))
        with transaction(con):
            replaced = _delete_restated_slices(con, staged_files)
            for staged, plan in staged_files:
                columns, select = typed_select(staged, plan)
                con.execute(
                    f"INSERT INTO billing_rows ({', '.join(columns)}) {select}",
                    {"delivery_id": delivery_id, "source_file": str(staged.path), "focus_version": plan.version},
                )
            written = sum(staged.row_count for staged, _ in staged_files)
            _record_delivery(con, ctx, delivery_id, staged_files, written)
            report.rows = {"billing_rows": written}
            if replaced:
                report.rows["replaced billing_rows"] = replaced
            report.rows.update({"billing_files": len(staged_files), "billing_deliveries": 1})
            record_run(con, report, started, ctx.clock())
    finally:
        for index in range(len(paths)):
            con.execute(f"DROP TABLE IF EXISTS focus_stage_{index}")
    log.info("focus delivery %s: %d rows from %d files", delivery_id, written, len(staged_files))
    refresh_allocation(ctx)
    return report


def _refuse_repeated_files(paths: list[Path], shas: list[str]) -> None:
    seen: dict[str, Path] = {}
    for path, sha in zip(paths, shas):
        if sha in seen:
            raise InputError(
                f"{seen[sha]} and {path} have the same content (sha256 {sha[:12]}...). "
                "Fix: pass each export file once."
            )
        seen[sha] = path


def _is_current(con: duckdb.DuckDBPyConnection, delivery_id: str) -> bool:
    recorded = con.execute(
        "SELECT row_count FROM billing_deliveries WHERE delivery_id = ?", [delivery_id]
    ).fetchall()
    if not recorded:
        return False
    live = con.execute("SELECT count(*) FROM billing_rows WHERE delivery_id = ?", [delivery_id]).fetchall()[0][0]
    return live == recorded[0][0]


def _stage_and_check(
    con: duckdb.DuckDBPyConnection, path: Path, sha256: str, index: int, report: IngestReport
) -> tuple[StagedFile, ColumnPlan]:
    """Stage one file into ``focus_stage_<index>`` and check it (raises InputError)."""
    staged = stage_file(con, path, sha256, f"focus_stage_{index}")
    plan = plan_columns(staged.columns)
    check_staged(con, staged, plan)
    if plan.legacy:
        report.warnings.append(f"{path.name}: pre-1.0 FOCUS column names mapped: {', '.join(plan.legacy)}")
    log.info("%s: FOCUS %s, %d rows (%s)", path, plan.version, staged.row_count, staged.file_format)
    return staged, plan


def _delete_restated_slices(
    con: duckdb.DuckDBPyConnection, staged_files: list[tuple[StagedFile, ColumnPlan]]
) -> int:
    """Delete the stored rows of every (account, billing period) the delivery holds."""
    slices = " UNION ".join(slice_select(staged, plan) for staged, plan in staged_files)
    con.execute(f"CREATE OR REPLACE TEMP TABLE focus_slices AS {slices}")
    matching = (
        "FROM billing_rows b, focus_slices s WHERE b.billing_account_id = s.billing_account_id "
        "AND b.billing_period_start = s.billing_period_start"
    )
    replaced = con.execute(f"SELECT count(*) {matching}").fetchall()[0][0]
    con.execute(
        "DELETE FROM billing_rows b USING focus_slices s WHERE b.billing_account_id = s.billing_account_id "
        "AND b.billing_period_start = s.billing_period_start"
    )
    con.execute("DROP TABLE focus_slices")
    return replaced


def _record_delivery(
    con: duckdb.DuckDBPyConnection,
    ctx: Context,
    delivery_id: str,
    files: list[tuple[StagedFile, ColumnPlan]],
    written: int,
) -> None:
    con.execute("DELETE FROM billing_files WHERE delivery_id = ?", [delivery_id])
    con.execute("DELETE FROM billing_deliveries WHERE delivery_id = ?", [delivery_id])
    con.execute(
        "INSERT INTO billing_deliveries VALUES (?, ?, 'focus', ?, ?)",
        [delivery_id, ctx.clock(), [str(s.path) for s, _ in files], written],
    )
    con.executemany(
        "INSERT INTO billing_files VALUES (?, ?, ?, ?, ?)",
        [[str(s.path), s.sha256, delivery_id, plan.version, s.row_count] for s, plan in files],
    )
