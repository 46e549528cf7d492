"""The owner report as Markdown, CSV or a self-contained HTML page (inline SVG charts, no scripts)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tools.reports.charts import movers, stacked_days
from tools.reports.owner_report import OwnerReport

TEMPLATES = Path(__file__).parent / "templates"


def _m(v: float | None) -> str:
    return "no data" if v is None else f"{v:,.2f}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.1f}%"


def _title(r: OwnerReport) -> str:
    where = f"cluster {r.cluster}" if r.cluster else "all clusters"
    return f"Cost by {r.by}, {where}, {r.window.describe()}"


def report_markdown(r: OwnerReport) -> str:
    if r.status != "ok":
        return f"# {_title(r)}\n\nNo data: {r.reason}\n"
    lines = [f"# {_title(r)}", "",
             f"Total **{_m(r.total)} {r.currency}** (previous window {r.previous_window.describe()}: "
             f"{_m(r.previous_total)}). Direct {_m(r.direct_total)}, shared {_m(r.shared_total)}, "
             f"idle {_m(r.idle_total)}.", "",
             f"Shared policy: **{r.shared_policy}**, {r.policy_text}; {r.idle_policy_text}.", "",
             f"| {r.by} | direct | shared | idle | total | previous | change | change % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in r.rows:
        lines.append(f"| {row.key} | {_m(row.direct)} | {_m(row.shared)} | {_m(row.idle)} | {_m(row.total)} | "
                     f"{_m(row.previous_total)} | {_m(row.change)} | {_pct(row.change_pct)} |")
    lines.append(f"| **total** | {_m(r.direct_total)} | {_m(r.shared_total)} | {_m(r.idle_total)} | "
                 f"**{_m(r.total)}** | {_m(r.previous_total)} | | |")
    if r.coverage:
        lines += ["", "## Label coverage", "", f"Share of direct workload cost ({_m(r.coverage.direct_cost)}) "
                  "whose workload carries the label:", "", "| label | share |", "|---|---:|"]
        lines += [f"| {k} | {v:.1f}% |" for k, v in r.coverage.share.items()]
        if r.coverage.top_unlabelled:
            lines += ["", "Top unlabelled workloads:", "", "| workload | cost | missing |", "|---|---:|---|"]
            lines += [f"| {u.cluster}:{u.namespace}/{u.kind}/{u.name} | {_m(u.cost)} | {', '.join(u.missing)} |"
                      for u in r.coverage.top_unlabelled]
    if r.ai:
        lines += ["", "## AI vs core", "", f"AI {_m(r.ai.ai_cost)} ({r.ai.ai_share:.1f}%), core {_m(r.ai.core_cost)}; "
                  f"previous window AI {_m(r.ai.previous_ai_cost)}, core {_m(r.ai.previous_core_cost)}.", "",
                  "| AI category | cost | previous |", "|---|---:|---:|"]
        lines += [f"| {c.category} | {_m(c.cost)} | {_m(c.previous_cost)} |" for c in r.ai.categories]
        lines += ["", f"Rule: {r.ai.rule}."]
    return "\n".join(lines) + "\n"


def report_csv(r: OwnerReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([r.by, "row_kind", "direct", "shared", "idle", "total", "previous_total", "change",
                     "change_pct", "shared_policy", "window_start", "window_end", "currency"])
    for row in r.rows:
        writer.writerow([row.key, row.kind, f"{row.direct:.6f}", f"{row.shared:.6f}", f"{row.idle:.6f}",
                         f"{row.total:.6f}", "" if row.previous_total is None else f"{row.previous_total:.6f}",
                         "" if row.change is None else f"{row.change:.6f}",
                         "" if row.change_pct is None else f"{row.change_pct:.3f}", r.shared_policy,
                         r.window.start.isoformat(), r.window.end.isoformat(), r.currency])
    return out.getvalue()


def report_html(r: OwnerReport) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["money"] = _m
    env.filters["pct"] = _pct
    series = [row.key for row in r.rows if row.kind == "group"][:5]
    if any("other" in d.costs for d in r.daily):
        series.append("other")
    daily = [d.model_dump() for d in r.daily]
    chart_days = stacked_days(daily, series)
    if r.previous_total is None:
        chart_movers = f"<p>No data in the previous window ({r.previous_window.describe()}) to compare with.</p>"
    else:
        chart_movers = movers([(m.key, m.change or 0.0) for m in r.top_movers])
    return env.get_template("report.html.j2").render(r=r, title=_title(r), chart_days=chart_days,
                                                    chart_movers=chart_movers)


def render_report(r: OwnerReport, fmt: str) -> str:
    return {"md": report_markdown, "csv": report_csv, "html": report_html}[fmt](r)
