"""``allot allocate`` and ``allot reconcile`` on the hand-worked world, through the real CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agent.cli import _register, app
from tests.tools.allocation.test_hand_worked import build_hand_world
from tests.tools.allocation.worlds import World
from tools.context import Context

ROW_KEYS = {"key", "cost", "cpu_cost", "memory_cost", "gpu_cost", "storage_cost", "network_cost", "shared_cost",
            "idle_cost", "owner"}


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    ctx = Context.open(path)
    build_hand_world(World(ctx.db))
    ctx.close()
    _register()
    return str(path)


def test_allocate_json_rows(db):
    runner = CliRunner()
    result = runner.invoke(app, ["allocate", "--db", db, "--rebuild", "--window", "all", "--by", "namespace", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert all(ROW_KEYS <= set(row) for row in rows)
    by_key = {row["key"]: row for row in rows}
    assert by_key["shop"]["cost"] == pytest.approx(0.42)
    assert sum(row["cost"] for row in rows) == pytest.approx(1.835)
    team = json.loads(runner.invoke(app, ["allocate", "--db", db, "--window", "all", "--by", "team",
                                          "--shared-policy", "even", "--json"]).output)
    assert sum(row["shared_cost"] for row in team) == pytest.approx(0.119)


def test_allocate_table_and_bad_input(db):
    runner = CliRunner()
    runner.invoke(app, ["allocate", "--db", db, "--rebuild", "--window", "all", "--json"])
    table = runner.invoke(app, ["allocate", "--db", db, "--window", "all", "--by", "label:owner"])
    assert table.exit_code == 0 and "TOTAL" in table.output and "coverage" in table.output
    bad = runner.invoke(app, ["allocate", "--db", db, "--by", "colour"])
    assert bad.exit_code != 0
    empty = runner.invoke(app, ["allocate", "--db", db, "--window", "2020-01-01..2020-01-02"])
    assert empty.exit_code == 1 and "no data" in empty.output


def test_reconcile_cli(db):
    runner = CliRunner()
    runner.invoke(app, ["allocate", "--db", db, "--rebuild", "--window", "all", "--json"])
    result = runner.invoke(app, ["reconcile", "--db", db, "--window", "all", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["ok"] is True and out["max_abs_difference"] < 0.01
    assert {line["cluster"] for line in out["lines"]} == {"prod", "external"}
    text = runner.invoke(app, ["reconcile", "--db", db, "--window", "all"])
    assert text.exit_code == 0 and "OK" in text.output
