"""``allot report`` and ``allot export focus`` end to end on the small report world."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from agent.cli import _register, app
from tests.tools.reports.report_world import build
from tools.context import Context
from tools.errors import InputError
from tools.settings import Settings


def _db(tmp_path):
    path = tmp_path / "w.duckdb"
    ctx = Context.open(path, Settings())
    build(ctx)
    ctx.close()
    return path


def test_report_formats_and_focus_export(tmp_path):
    _register()
    db = str(_db(tmp_path))
    runner = CliRunner()
    md = runner.invoke(app, ["report", "--by", "owner", "--window", "7d", "--db", db])
    assert md.exit_code == 0, md.output
    assert "Total **1,507.80 USD**" in md.output and "Shared policy: **proportional**" in md.output

    html = runner.invoke(app, ["report", "--by", "team", "--window", "7d", "--format", "html",
                               "--out", str(tmp_path / "r.html"), "--db", db])
    assert html.exit_code == 0 and "total 1,507.80 USD" in html.output
    assert 'id="total-cost">1,507.80<' in (tmp_path / "r.html").read_text()

    as_json = runner.invoke(app, ["report", "--by", "namespace", "--window", "7d", "--shared-policy", "none",
                                  "--json", "--db", db])
    data = json.loads(as_json.output)
    assert data["status"] == "ok" and round(data["total"], 2) == 1507.80 and data["shared_policy"] == "none"

    bad = runner.invoke(app, ["report", "--by", "colour", "--db", db])
    assert bad.exit_code != 0

    out = tmp_path / "focus.csv"
    exported = runner.invoke(app, ["export", "focus", "--window", "7d", "--out", str(out), "--db", db])
    assert exported.exit_code == 0 and "35 origin charges (28 split by the allocation)" in exported.output
    with out.open(newline="") as fh:
        assert round(sum(float(r["BilledCost"]) for r in csv.DictReader(fh)), 2) == 1507.80


def test_an_out_path_that_cannot_be_written_is_named(tmp_path):
    _register()
    db = str(_db(tmp_path))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    runner = CliRunner()
    for args in (["report", "--window", "7d"], ["export", "focus", "--window", "7d"]):
        out = blocker / "out.csv"                    # its folder is a file: nothing can be written there
        result = runner.invoke(app, [*args, "--out", str(out), "--db", db])
        assert isinstance(result.exception, InputError), result.output
        assert str(result.exception) == (f"--out {out}: cannot write there (File exists); pick a file in a folder "
                                         "you can write to")
    assert blocker.read_text() == "not a folder\n"
