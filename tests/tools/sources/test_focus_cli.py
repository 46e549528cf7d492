"""`allot ingest focus` and `allot billing` end to end, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from tests.conftest import REPO


def _app():
    from agent.cli import _register, app

    _register()
    return app


def test_ingest_then_billing_by_service(shared_data, tmp_path):
    app = _app()
    db = str(tmp_path / "cli.duckdb")
    sample = str(shared_data / "focus" / "focus_sample.csv")
    result = CliRunner().invoke(app, ["ingest", "focus", sample, "--db", db])
    assert result.exit_code == 0, result.output
    assert "focus: 1000 billing_rows, 1 billing_files, 1 billing_deliveries" in result.output

    again = CliRunner().invoke(app, ["ingest", "focus", sample, "--db", db])
    assert again.exit_code == 0 and "nothing changed" in again.output

    table = CliRunner().invoke(app, ["billing", "--window", "2024-09-01..2024-10-01", "--by", "service", "--db", db])
    assert table.exit_code == 0, table.output
    assert "Amazon Elastic Compute Cloud" in table.output
    assert "20.52" in table.output and "14.98" in table.output

    as_json = CliRunner().invoke(app, ["billing", "--by", "account", "--json", "--db", db])
    data = json.loads(as_json.output)
    assert data["status"] == "ok" and data["currency"] == "USD"
    assert round(data["totals"]["billed_cost"], 2) == 20.52 and data["totals"]["rows"] == 1000

    empty = CliRunner().invoke(app, ["billing", "--window", "2030-01-01..2030-01-08", "--json", "--db", db])
    assert json.loads(empty.output)["status"] == "no_data"


def test_bad_file_exits_2_with_the_message(shared_data, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("BilledCost,BillingCurrency\n1.0,USD\n")
    db = tmp_path / "cli.duckdb"
    run = subprocess.run(
        [sys.executable, "-c", "from agent.cli import main; main()", "ingest", "focus", str(bad), "--db", str(db)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and "bad.csv: missing mandatory FOCUS column(s)" in run.stderr
    assert "EffectiveCost" in run.stderr and "Found 2 columns: BilledCost, BillingCurrency" in run.stderr
