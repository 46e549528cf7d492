"""Recording what an ingest did (``ingest_runs``) and what it could not find (``data_caveats``)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import duckdb

from tools.sources.report import IngestReport


def record_caveats(
    con: duckdb.DuckDBPyConnection,
    cluster: str,
    source: str,
    caveats: dict[str, str],
    managed_codes: tuple[str, ...] = (),
    recorded_at: datetime | None = None,
) -> None:
    """Store ``caveats`` (code -> message) for ``(cluster, source)``.

    Codes in ``managed_codes`` that are not raised this time are deleted: a caveat the new
    data resolves (DCGM series now present, say) does not outlive it.
    """
    codes = sorted(set(managed_codes) | set(caveats))
    if codes:
        con.execute(
            "DELETE FROM data_caveats WHERE cluster = ? AND source = ? AND list_contains(?, code)",
            [cluster, source, codes],
        )
    for code, message in sorted(caveats.items()):
        con.execute(
            "INSERT INTO data_caveats VALUES (?, ?, ?, ?, coalesce(?, now()::TIMESTAMP))",
            [cluster, source, code, message, recorded_at],
        )


def record_run(
    con: duckdb.DuckDBPyConnection, report: IngestReport, started_at: datetime, finished_at: datetime
) -> str:
    """One ``ingest_runs`` row; ``partial`` when the report carries caveats or warnings."""
    run_id = uuid.uuid4().hex
    status = "partial" if report.caveats or report.warnings else "ok"
    con.execute(
        "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [run_id, report.source, report.cluster, started_at, finished_at, status,
         json.dumps(report.model_dump(mode="json"))],
    )
    return run_id
