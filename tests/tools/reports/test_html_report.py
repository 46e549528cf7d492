"""The HTML report renders in headless Chromium; the totals on the page equal the allocation."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tools.reports.report_world import build
from tools.reports.owner_report import ReportInput, owner_report
from tools.reports.render import render_report

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (apt-get install -y chromium)")
def test_html_report_in_headless_chromium(ctx, tmp_path):
    build(ctx)
    expected = ctx.db.execute("SELECT sum(cost) FROM allocation_hours WHERE hour >= '2026-11-16' "
                              "AND hour < '2026-11-23'").fetchone()[0]
    page = tmp_path / "report.html"
    page.write_text(render_report(owner_report(ctx, ReportInput(by="owner", window="7d")), "html"))
    assert "http://" not in page.read_text().replace("http://www.w3.org/2000/svg", "")  # nothing to fetch

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "owner-report.png"
    shot.unlink(missing_ok=True)
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout

    def shown(element_id: str) -> str:
        match = re.search(rf'id="{element_id}"[^>]*>([^<]+)<', dom)
        assert match, f"{element_id} not on the page"
        return match.group(1).strip()

    assert shown("total-cost") == f"{expected:,.2f}" == "1,507.80"
    assert shown("table-total") == "1,507.80"
    assert shown("previous-total") == "953.40"
    assert shown("shared-policy") == "proportional"
    assert dom.count("<svg") == 2 and "<rect" in dom  # cost over time and top movers, drawn inline
