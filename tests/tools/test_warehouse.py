"""The warehouse file: migrations, and the errors that say why a file cannot be opened."""

import subprocess
import sys

import pytest

from tools.errors import WarehouseError
from tools.warehouse import MIGRATIONS, open_warehouse


def test_migrations_apply_once_in_order(tmp_path):
    path = tmp_path / "w.duckdb"
    con = open_warehouse(path)
    names = [r[0] for r in con.execute("SELECT name FROM schema_migrations ORDER BY applied_at, name").fetchall()]
    assert names == [name for name, _ in MIGRATIONS]
    con.close()
    # Re-opening applies nothing new and keeps the data.
    con = open_warehouse(path)
    assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    assert con.execute("SELECT count(*) FROM billing_rows").fetchone()[0] == 0


def test_migration_names_are_unique_and_ordered():
    names = [name for name, _ in MIGRATIONS]
    assert names == sorted(names)
    assert len(set(names)) == len(names)


def test_a_warehouse_another_process_holds_names_that_process(tmp_path):
    path = tmp_path / "w.duckdb"
    open_warehouse(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "time.sleep(120)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseError) as caught:
            open_warehouse(path)
        message = str(caught.value)
        assert message.startswith(f"the warehouse {path} is open in another process (PID {holder.pid}, ")
        assert "Wait for that command to finish" in message and "another --db" in message
    finally:
        holder.kill()
        holder.wait()
    open_warehouse(path).close()            # free again once that process is gone


def test_a_file_that_is_not_a_warehouse_is_named(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n")
    with pytest.raises(WarehouseError) as caught:
        open_warehouse(path)
    assert str(caught.value).startswith(f"cannot open the warehouse {path} (DuckDB: IO Error: The file ")
    assert "not a valid DuckDB database file" in str(caught.value)
    assert path.read_text() == "not a database\n"      # left as it was


def test_long_statements_print_no_progress_bar_on_stdout(capfd):
    """DuckDB's own progress bar would land in `allot ... --json` output; the threshold is
    lowered to 1 ms here so that any statement would draw it."""
    con = open_warehouse(":memory:")
    con.execute("SET progress_bar_time = 1")
    assert con.execute("SELECT count(DISTINCT i % 1000003) FROM range(20000000) t(i)").fetchone()[0] == 1000003
    con.close()
    assert capfd.readouterr().out == ""
