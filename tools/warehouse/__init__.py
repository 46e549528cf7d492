"""The DuckDB warehouse: one file per workspace, schema applied by named, ordered migrations."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from tools.errors import WarehouseError, first_line
from tools.warehouse.migrations import MIGRATIONS, apply_migrations
from tools.warehouse.sql import literal

__all__ = ["open_warehouse", "transaction", "MIGRATIONS", "apply_migrations"]


def open_warehouse(
    path: Path | str, memory_limit: str | None = None, temp_directory: Path | str | None = None,
    max_temp_size: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse at ``path`` (``:memory:`` for a throwaway one) and migrate it.

    ``memory_limit`` (DuckDB syntax, e.g. ``3GB``) bounds the connection's memory; beyond it
    large joins, sorts and GROUP BYs spill to ``temp_directory`` (default ``<path>.tmp`` beside
    the warehouse file) instead of growing the process, up to ``max_temp_size`` (default: 90% of
    that disk's free space).
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = _connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = {literal(memory_limit)}")
    if temp_directory is None and str(path) != ":memory:":
        temp_directory = f"{path}.tmp"
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {literal(str(temp_directory))}")
    if max_temp_size:
        con.execute(f"SET max_temp_directory_size = {literal(max_temp_size)}")
    # DuckDB draws a progress bar on stdout for any statement over 2 s, even into a pipe, which
    # would corrupt `--json` output; allot reports its own progress on stderr
    con.execute("SET enable_progress_bar_print = false")
    apply_migrations(con)
    return con


def _connect(path: str) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, with a WarehouseError that says why the file cannot be opened."""
    try:
        return duckdb.connect(path)
    except duckdb.Error as err:
        holder = re.search(r"Conflicting lock is held in (.+) \(PID (\d+)\)", str(err))
        if holder:
            raise WarehouseError(
                f"the warehouse {path} is open in another process (PID {holder.group(2)}, {holder.group(1)}); "
                "one process at a time can open a DuckDB file for writing, as every allot command does. Wait "
                "for that command to finish "
                "(an ingest holds the warehouse until it ends), or give this one another --db.") from None
        raise WarehouseError(
            f"cannot open the warehouse {path} (DuckDB: {first_line(err)}). Point --db or ALLOT_DB at an allot "
            "warehouse, or at a path that does not exist yet to create a new one.") from None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a failed ingest leaves the warehouse exactly as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")
