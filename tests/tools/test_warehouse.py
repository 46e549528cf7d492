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
