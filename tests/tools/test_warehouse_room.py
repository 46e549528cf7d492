"""Out of memory, spill or disk: a clear error that names the setting to change, and nothing lost.

Every error here is DuckDB's own, raised by real statements under real limits; the expected
sizes are DuckDB's rendering of the limits, worked out by hand (40 MB = 38.1 MiB, 20 MB = 19.0 MiB).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from tests.conftest import REPO
from tools.context import Context
from tools.errors import ConfigError, ResourceError
from tools.settings import Settings, WarehouseSettings, load_settings
from tools.sources.after_ingest import refresh_allocation
from tools.warehouse.room import room_errors

# a GROUP BY whose hash table (a million groups of lists) is far beyond a few MB of memory
HEAVY = "SELECT count(*) FROM (SELECT i % 1000003 AS k, list(i) FROM range(20000000) t(i) GROUP BY 1)"


def _open(path, **room) -> Context:
    return Context.open(path, Settings(warehouse=WarehouseSettings(**room)))


def fingerprint(path) -> dict[str, tuple[int, int]]:
    """Rows and a hash of every row of every table (numbers to 1e-9: parallel sums may differ in
    their last bits from run to run): equal fingerprints, equal warehouses."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for table, column, kind in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND "
                "table_name IN (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main') "
                "ORDER BY table_name, column_index").fetchall():
            columns.setdefault(table, []).append(f'round("{column}", 9)' if kind == "DOUBLE" else f'"{column}"')
        return {table: con.execute(f'SELECT count(*), bit_xor(hash({", ".join(cols)})) FROM "{table}"').fetchone()
                for table, cols in columns.items()}
    finally:
        con.close()


def test_a_full_spill_folder_names_the_folder_the_cap_and_the_fix(tmp_path):
    ctx = _open(tmp_path / "w.duckdb", memory_limit="40MB", max_temp_size="2MB")
    with pytest.raises(ResourceError) as caught, room_errors(ctx, "The query"):
        ctx.db.execute(HEAVY).fetchall()
    message = str(caught.value)
    assert message.startswith("The query ran out of room to spill.")
    assert f"the spill folder {tmp_path / 'w.duckdb.tmp'}, which reached its cap of 1.9 MiB" in message
    assert "set by ALLOT_WAREHOUSE__MAX_TEMP_SIZE" in message
    assert "To fix: raise ALLOT_WAREHOUSE__MAX_TEMP_SIZE (now 1.9 MiB)" in message
    assert "ALLOT_WAREHOUSE__MEMORY_LIMIT (now 38.1 MiB, of " in message
    assert "SET threads" not in message                    # DuckDB's SQL advice is not for allot's users
    assert isinstance(caught.value.__cause__, duckdb.OutOfMemoryException)
    ctx.db.execute("SELECT 1").fetchall()                  # the connection still works
    ctx.close()


def test_without_a_spill_folder_the_fix_is_the_memory_limit():
    ctx = _open(":memory:", memory_limit="20MB")
    ctx.db.execute("SET temp_directory = ''")
    with pytest.raises(ResourceError) as caught, room_errors(ctx, "The query"):
        ctx.db.execute(HEAVY).fetchall()
    message = str(caught.value)
    assert message.startswith("The query ran out of memory with no spill folder (DuckDB: ")
    assert "To fix: raise ALLOT_WAREHOUSE__MEMORY_LIMIT (now 19.0 MiB, of " in message   # 20e6 / 2**20
    assert message.endswith(" on this machine).")
    ctx.close()


def test_a_full_disk_names_the_file(tmp_path):
    ctx = _open(tmp_path / "w.duckdb")
    with pytest.raises(ResourceError) as caught, room_errors(ctx, "The export"):
        ctx.db.execute("COPY (SELECT i FROM range(100000) t(i)) TO '/dev/full' (FORMAT csv)")
    message = str(caught.value)
    assert message.startswith("The export ran out of disk (DuckDB: ")
    assert "; /dev/full has " in message and "move the warehouse (--db or ALLOT_DB)" in message
    ctx.close()


def test_other_errors_pass_through(tmp_path):
    ctx = _open(tmp_path / "w.duckdb")
    with pytest.raises(duckdb.CatalogException), room_errors(ctx, "The query"):
        ctx.db.execute("SELECT * FROM no_such_table")
    ctx.close()


def test_a_wrong_setting_is_a_config_error_naming_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOT_WAREHOUSE__MEMORY_LIMIT", "lots")
    monkeypatch.setenv("ALLOT_ALLOCATION__COST_BASIS", "list")
    with pytest.raises(ConfigError) as caught:
        Context.open(tmp_path / "w.duckdb")
    assert str(caught.value) == (
        "ALLOT_WAREHOUSE__MEMORY_LIMIT='lots': give a size with its unit, such as 3GB, 512MB or 2GiB, or a "
        "share of the machine's memory, such as 50%; "
        "ALLOT_ALLOCATION__COST_BASIS='list': Input should be 'effective' or 'billed'")
    assert not (tmp_path / "w.duckdb").exists()            # refused before anything is opened


def test_the_spill_cap_is_a_size_not_a_share(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOT_WAREHOUSE__MAX_TEMP_SIZE", "50%")      # DuckDB takes no share there
    with pytest.raises(ConfigError, match=r"ALLOT_WAREHOUSE__MAX_TEMP_SIZE='50%': give a size with its unit"):
        load_settings()


def test_a_share_of_the_machine_memory_reaches_duckdb(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOT_WAREHOUSE__MEMORY_LIMIT", "50%")
    ctx = Context.open(tmp_path / "w.duckdb")
    limit = ctx.db.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    ctx.close()
    half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 / 2**30      # GiB
    number, unit = limit.split()
    assert unit == "GiB" and abs(float(number) - half) < 0.2, (limit, half)


def test_sizes_reach_duckdb(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOT_WAREHOUSE__MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("ALLOT_WAREHOUSE__MAX_TEMP_SIZE", "5 GB")
    settings = load_settings()
    assert (settings.warehouse.memory_limit, settings.warehouse.max_temp_size) == ("512MB", "5 GB")
    ctx = Context.open(tmp_path / "w.duckdb", settings)
    # 512e6 / 2**20 = 488.28 MiB; 5e9 / 2**30 = 4.66 GiB, which DuckDB shows to one decimal, truncated
    assert ctx.db.execute("SELECT current_setting('memory_limit'), current_setting('max_temp_directory_size')"
                          ).fetchone() == ("488.2 MiB", "4.6 GiB")
    ctx.close()


def _allot(*args, env_extra: dict[str, str], cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOT_")} | env_extra
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_an_ingest_that_runs_out_of_room_exits_2_and_keeps_the_warehouse(demo_build, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_build / "demo.duckdb", db)
    before = fingerprint(db)
    history = demo_build / "world" / "metrics" / "gke-ml.om"
    tight = {"ALLOT_WAREHOUSE__MEMORY_LIMIT": "20MB", "ALLOT_WAREHOUSE__MAX_TEMP_SIZE": "1MB"}
    run = _allot("ingest", "metrics", str(history), "--db", str(db), env_extra=tight, cwd=REPO)
    assert run.returncode == 2, run.stderr
    error = run.stderr.splitlines()[-1]           # after the progress lines
    assert error.startswith(f"error: Ingesting {history} ran out of "), run.stderr
    assert "ALLOT_WAREHOUSE__MEMORY_LIMIT (now 19.0 MiB, of " in run.stderr     # 20e6 / 2**20 = 19.07
    assert "Traceback" not in run.stderr
    assert fingerprint(db) == before
    # with room, the same command goes through; the file is the one the demo ingested, so the
    # warehouse comes out as it was
    again = _allot("ingest", "metrics", str(history), "--db", str(db), env_extra={}, cwd=REPO)
    assert again.returncode == 0, again.stderr
    assert "metrics (gke-ml):" in again.stdout
    after = fingerprint(db)
    assert after.pop("ingest_runs")[0] == before.pop("ingest_runs")[0] + 1     # the one run that went through
    assert after == before


def test_a_rebuild_out_of_room_after_an_ingest_says_the_ingest_is_kept(demo_build, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_build / "demo.duckdb", db)
    before = fingerprint(db)
    ctx = _open(db, memory_limit="20MB", max_temp_size="1MB")
    with pytest.raises(ResourceError) as caught:
        refresh_allocation(ctx)
    ctx.close()
    message = str(caught.value)
    assert message.startswith("Recomputing the allocation after the ingest ran out of ")
    assert "The ingest itself was saved" in message and "`allot allocate --rebuild`" in message
    assert fingerprint(db) == before


def test_a_bill_read_out_of_memory_is_not_blamed_on_the_file(shared_data, tmp_path):
    from tools.sources.focus import ingest_focus_files

    ctx = _open(tmp_path / "w.duckdb")
    ctx.db.execute("SET memory_limit = '5MB'")         # too little to stage the sample's 1,000 rows
    ctx.db.execute("SET max_temp_directory_size = '0KB'")
    with pytest.raises((duckdb.OutOfMemoryException, ResourceError)):   # not an InputError naming the file
        ingest_focus_files(ctx, [shared_data / "focus" / "focus_sample.csv"])
    ctx.db.execute("RESET memory_limit")
    assert ctx.db.execute("SELECT count(*) FROM billing_rows").fetchone() == (0,)
    ctx.close()
