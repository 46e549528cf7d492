"""`allot ingest metrics FILE...` as a user runs it: several files, one allocation rebuild, and a
failure that keeps the files before it."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb

from tests.conftest import REPO


def _allot(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOT_")} | {"ALLOT_LOG_LEVEL": "INFO"}
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


def _pod_hours_by_cluster(db) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("SELECT cluster, count(*) FROM pod_hours GROUP BY 1").fetchall())
    finally:
        con.close()


def test_several_files_one_rebuild(demo_build, tmp_path):
    metrics = demo_build / "world" / "metrics"
    db = tmp_path / "w.duckdb"
    run = _allot("ingest", "metrics", str(metrics / "gke-ml.om"), str(metrics / "aks-web.om"), "--db", str(db))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("metrics (gke-ml): ") and "\nmetrics (aks-web): " in run.stdout
    assert run.stderr.count("allocation rebuilt:") == 1                 # after the last file only
    alone = tmp_path / "alone.duckdb"                                   # the same files, one command each
    for name in ("gke-ml.om", "aks-web.om"):
        assert _allot("ingest", "metrics", str(metrics / name), "--db", str(alone)).returncode == 0
    assert _pod_hours_by_cluster(db) == _pod_hours_by_cluster(alone)
    assert set(_pod_hours_by_cluster(db)) == {"gke-ml", "aks-web"}


def test_a_bad_file_keeps_the_files_before_it_and_says_which_were_not_read(demo_build, tmp_path):
    metrics = demo_build / "world" / "metrics"
    broken = tmp_path / "broken.om"
    broken.write_text((metrics / "eks-prod.om").read_text()[:5000])     # cut short, no # EOF
    db = tmp_path / "w.duckdb"
    run = _allot("ingest", "metrics", str(metrics / "gke-ml.om"), str(broken), str(metrics / "aks-web.om"),
                 "--db", str(db))
    assert run.returncode == 2, run.stderr
    assert run.stdout.startswith("metrics (gke-ml): ") and "aks-web" not in run.stdout
    lines = run.stderr.splitlines()
    assert lines[-2] == (f"note: 1 of 3 files ingested and allocated; not ingested: {broken}, "
                         f"{metrics / 'aks-web.om'}")
    assert lines[-1].startswith(f"error: {broken}: not valid ")
    assert run.stderr.count("allocation rebuilt:") == 1                 # the file that went in is allocated
    assert _pod_hours_by_cluster(db) == {"gke-ml": _pod_hours_by_cluster(demo_build / "demo.duckdb")["gke-ml"]}


def test_an_interrupt_after_a_file_says_the_allocation_needs_a_rebuild(demo_build, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from agent.cli import _register, app
    from tools.sources import metrics_file

    real, calls = metrics_file.ingest_metrics_file, []

    def interrupted_on_the_second(*args, **kwargs):   # Ctrl-C while the second file is read
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(metrics_file, "ingest_metrics_file", interrupted_on_the_second)
    _register()
    metrics = demo_build / "world" / "metrics"
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["ingest", "metrics", str(metrics / "gke-ml.om"), str(metrics / "aks-web.om"),
                                      "--db", str(db)])
    assert result.exit_code != 0 and len(calls) == 2
    assert ("note: stopped after 1 of 2 files, which are ingested but not allocated: run "
            "`allot allocate --rebuild`") in result.output
    assert set(_pod_hours_by_cluster(db)) == {"gke-ml"}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM allocation_hours").fetchone() == (0,)   # not rebuilt: as the note says
    con.close()
