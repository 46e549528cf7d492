"""Results of a tier and ``bench/results.md``.

Each tier's raw measurements are kept in ``results.json`` next to the Markdown file, so that
running tier M after tier S re-renders one file holding both. Everything under the heading
``## Profiling`` in an existing results file is hand-written (what was profiled, the cause,
before and after) and is carried over unchanged.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench.measure import Measurement

COUNTED = ["ingest_billing", "ingest_k8s", "allocate", "reconcile", "explain", "waste", "plan"]
SIDE = ["floor", "reference"]
LABELS = {
    "generate": "generate (not counted)", "ingest_billing": "ingest billing (FOCUS)",
    "ingest_k8s": "ingest Kubernetes + history", "allocate": "allocate (rebuild + every grouping)",
    "reconcile": "reconcile", "explain": "explain this-week vs previous-week (every cluster)",
    "waste": "waste (every detector)", "plan": "plan (propose + store)",
    "floor": "floor: one DuckDB GROUP BY over pod_hours", "reference": "naive peer: plain-Python reference",
}
NOTES_HEADING = "## Profiling"
GIB = 1024.0


@dataclass
class TierResult:
    tier: str
    runs: int
    load_before: tuple = ()
    load_after: tuple = ()
    clusters: str = ""                            # '' = every cluster; else the only clusters ingested
    memory_limit: str = ""                        # the warehouse's DuckDB memory limit in every stage
    generated: Measurement | None = None
    world: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)   # stage -> list of {wall_s, cpu_s, peak_rss_mib, info}

    def add(self, run: int, stage: str, m: Measurement, info: dict) -> None:
        self.stages.setdefault(stage, []).append(
            {"run": run, "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib, "info": info})

    def to_json(self) -> dict:
        gen = None if self.generated is None else {k: v for k, v in asdict(self.generated).items() if k != "output"}
        return {"tier": self.tier, "runs": self.runs, "clusters": self.clusters, "memory_limit": self.memory_limit,
                "load_before": list(self.load_before),
                "load_after": list(self.load_after), "generated": gen, "world": self.world,
                "stages": {stage: list(rows) for stage, rows in self.stages.items()},
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}


def machine() -> dict:
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    libs = {}
    for name in ("duckdb", "pyarrow", "prometheus_client", "pydantic"):
        try:
            libs[name] = version(name)
        except PackageNotFoundError:
            libs[name] = "not installed"
    libs["python"] = platform.python_version()
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(), "libraries": libs}


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(tier: dict) -> dict:
    """Medians, ratios and targets of one tier's raw measurements."""
    out: dict = {"stages": {}}
    for stage, rows in tier["stages"].items():
        walls = [r["wall_s"] for r in rows]
        works = [r["info"].get("work_s", float("nan")) for r in rows]
        out["stages"][stage] = {
            "wall": (_med(walls), min(walls), max(walls)), "cpu": _med([r["cpu_s"] for r in rows]),
            "rss": (_med([r["peak_rss_mib"] for r in rows]), max(r["peak_rss_mib"] for r in rows)),
            "work": (_med(works), min(works), max(works)), "info": rows[-1]["info"], "runs": len(rows)}
    s = out["stages"]
    if "explain" in s:
        s["explain"]["max_call"] = _med([r["info"]["max_call_s"] for r in tier["stages"]["explain"]])
    alloc = s.get("allocate")
    if alloc and "floor" in s:
        out["floor_ratio"] = alloc["work"][0] / s["floor"]["work"][0]
        out["rebuild_floor_ratio"] = _med([r["info"]["rebuild_s"] for r in tier["stages"]["allocate"]]) / s["floor"]["work"][0]
        hourly = [r["info"]["hourly_work_s"] for r in tier["stages"]["floor"] if "hourly_work_s" in r["info"]]
        if hourly:
            out["hourly_floor_ratio"] = alloc["work"][0] / _med(hourly)
        written = [r["info"]["written_work_s"] for r in tier["stages"]["floor"] if "written_work_s" in r["info"]]
        if written:
            out["written_floor_ratio"] = alloc["work"][0] / _med(written)
    if alloc and "reference" in s:
        rebuild = _med([r["info"]["rebuild_s"] for r in tier["stages"]["allocate"]])
        out["reference_ratio"] = s["reference"]["work"][0] / rebuild
    counted = [st for st in COUNTED if st in s]
    out["end_to_end_s"] = sum(s[st]["wall"][0] for st in counted)
    out["ingest_allocate_s"] = sum(s[st]["wall"][0] for st in ("ingest_billing", "ingest_k8s", "allocate") if st in s)
    out["peak_rss_mib"] = max((s[st]["rss"][1] for st in counted), default=0.0)
    out["targets"] = _targets(tier["tier"], out)
    return out


def _targets(tier: str, t: dict) -> list[tuple[str, str, bool | None]]:
    s = t["stages"]
    if tier == "M":
        explain = s["explain"]["max_call"] if "explain" in s else None
        return [
            ("ingest + allocate ≤ 60 s (process wall, medians summed)", f"{t['ingest_allocate_s']:.1f} s",
             t["ingest_allocate_s"] <= 60),
            ("peak RSS ≤ 4 GiB (largest stage)", f"{t['peak_rss_mib'] / GIB:.2f} GiB", t["peak_rss_mib"] <= 4 * GIB),
            ("explain ≤ 2 s (slowest single cluster call, median run)",
             "n/a" if explain is None else f"{explain:.2f} s", None if explain is None else explain <= 2),
            ("waste ≤ 10 s (process wall)", f"{s['waste']['wall'][0]:.1f} s" if "waste" in s else "n/a",
             None if "waste" not in s else s["waste"]["wall"][0] <= 10),
            ("allocation ≤ 3× floor", f"{t['floor_ratio']:.1f}×" if "floor_ratio" in t else "n/a",
             None if "floor_ratio" not in t else t["floor_ratio"] <= 3),
        ]
    if tier == "L":
        return [("end to end ≤ 15 min", f"{t['end_to_end_s'] / 60:.1f} min", t["end_to_end_s"] <= 900),
                ("peak RSS ≤ 16 GiB", f"{t['peak_rss_mib'] / GIB:.2f} GiB", t["peak_rss_mib"] <= 16 * GIB)]
    return []


def _fmt(triple: tuple[float, float, float], runs: int) -> str:
    med, lo, hi = triple
    return f"{med:.2f}" if runs == 1 else f"{med:.2f} ({lo:.2f}–{hi:.2f})"


def _machine_line(m: dict) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    return (f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, Linux {m['kernel']}. "
            f"Libraries: {libs}.")


def render_tier(tier: dict) -> list[str]:
    t = summarize(tier)
    m, w = tier["machine"], tier["world"]
    lines = [f"## Tier {tier['tier']}", ""]
    if tier.get("clusters"):
        lines += [f"**Partial run: only cluster(s) {tier['clusters']} had their kubectl dumps and history ingested** "
                  "(the whole bill was ingested; the other clusters' costs land in cluster-level buckets). "
                  "Figures below are for that part of the tier, not the whole tier.", ""]
    limit = f"DuckDB memory limit {tier['memory_limit']}. " if tier.get("memory_limit") else ""
    lines.append(f"Run {tier['date']}, {tier['runs']} run(s) per stage, median (min–max). {limit}"
                 f"Load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in tier['load_before'])}; "
                 f"after: {', '.join(f'{x:.2f}' for x in tier['load_after'])}"
                 + (f" (other processes were using the same {m['cores']} cores)."
                    if max(tier["load_before"][0], tier["load_after"][0]) > 1.0 else "."))
    lines += [_machine_line(m), ""]
    if tier.get("carried_over"):
        before = tier.get("carried_from")
        when = f" ({before['date']}, on {before['cpu']})" if before else ""
        lines += [f"Stages {', '.join(tier['carried_over'])}: figures of the previous run of this tier{when} on the "
                  "same world (this run reused its warehouse).", ""]
    if w:
        lines.append(f"World: {w.get('nodes', '?'):,} nodes at the end, {w.get('pods', '?'):,} pods, "
                     f"{w.get('pod_hours', 0):,} pod-hours (ground truth); {w.get('bytes', 0) / 1e9:.2f} GB of files.")
    gen = tier.get("generated")
    if gen:
        lines.append(f"Generate (not counted, once per tier): {gen['wall_s']:.1f} s wall, {gen['cpu_s']:.1f} s CPU, "
                     f"{gen['peak_rss_mib']:.0f} MiB peak RSS.")
    else:
        lines.append("Generate: not measured (the world from an earlier run was reused, same spec).")
    lines += ["", "| stage | runs | wall s | work s | CPU s | peak RSS MiB (max) | result |", "|---|---|---|---|---|---|---|"]
    for stage in COUNTED + SIDE:
        st = t["stages"].get(stage)
        if not st:
            continue
        lines.append(f"| {LABELS[stage]} | {st['runs']} | {_fmt(st['wall'], st['runs'])} | {_fmt(st['work'], st['runs'])} | "
                     f"{st['cpu']:.2f} | {st['rss'][0]:.0f} ({st['rss'][1]:.0f}) | {_info(stage, st['info'])} |")
    lines += ["", f"Counted stages end to end: {t['end_to_end_s']:.1f} s; ingest + allocate: "
              f"{t['ingest_allocate_s']:.1f} s; largest peak RSS: {t['peak_rss_mib']:.0f} MiB.", ""]
    lines.append("*wall* = the stage's child process from start to exit (interpreter start, imports, opening the "
                 "warehouse included); *work* = the stage's own calls, timed inside the process; *peak RSS* = "
                 "the largest resident set of the stage process or of any one of its worker processes (not their sum). "
                 "Floor and naive peer are side measurements, not counted.")
    lines += ["", "Ratios (work times, same run):", ""]
    if "floor_ratio" in t:
        lines.append(f"- allocation / floor: **{t['floor_ratio']:.1f}×** (rebuild alone: {t['rebuild_floor_ratio']:.1f}×; "
                     "allocation = rebuild_allocation + allocate_window for all 6 groupings over all hours)")
    if "hourly_floor_ratio" in t:
        lines.append(f"- allocation / hourly floor: **{t['hourly_floor_ratio']:.1f}×** (the same GROUP BY per cluster, "
                     "hour, workload and node: the grain an hourly allocation writes; for reading, not a target)")
    if "written_floor_ratio" in t:
        lines.append(f"- allocation / hourly floor written: **{t['written_floor_ratio']:.1f}×** (that GROUP BY written "
                     "to a table and committed: the least an hourly allocation table costs; for reading, not a target)")
    if "reference_ratio" in t:
        lines.append(f"- naive peer / rebuild_allocation: **{t['reference_ratio']:.1f}×** slower "
                     f"(measured on this tier)")
    complete = all(stage in t["stages"] for stage in COUNTED)
    if t["targets"]:
        lines += ["", "| target | measured | |", "|---|---|---|"]
        for name, value, met in t["targets"]:
            if (tier.get("clusters") or not complete) and met is False:
                verdict = "**missed** (already on this part of the tier)"
            elif tier.get("clusters") or not complete:
                verdict = "not judged (partial run)" if tier.get("clusters") else "not judged (stages missing)"
            else:
                verdict = "n/a" if met is None else ("met" if met else "**missed**")
            lines.append(f"| {name} | {value} | {verdict} |")
    return lines + [""]


def _info(stage: str, info: dict) -> str:
    if stage == "ingest_billing":
        return f"{info['billing_rows']:,} billing rows"
    if stage == "ingest_k8s":
        return (f"{info['pod_hour_rows']:,} pod_hours rows (kubectl {info['kubernetes_s']:.1f} s, "
                f"history {info['history_s']:.1f} s, last run)")
    if stage == "allocate":
        return (f"{info['allocation_rows']:,} allocation_hours rows; rebuild {info['rebuild_s']:.2f} s, "
                f"6 window queries {info['queries_s']:.2f} s")
    if stage == "floor":
        hourly = (f"; hourly grain {info['hourly_groups']:,} groups in {info['hourly_work_s']:.2f} s"
                  if "hourly_work_s" in info else "")
        if "written_work_s" in info:
            hourly += f", written and committed in {info['written_work_s']:.2f} s"
        return f"{info['groups']:,} groups{hourly}"
    if stage == "reference":
        return (f"{info['reference_buckets']:,} buckets, {info['only_engine'] + info['only_reference']} unmatched, "
                f"largest difference {info['max_bucket_difference']:.2e} USD")
    if stage == "reconcile":
        return (f"{'ok' if info['ok'] else 'NOT ok'}: {info['lines']} cluster-days, largest difference "
                f"{info['max_abs_difference']:.2e} USD")
    if stage == "explain":
        return f"slowest cluster call {info['max_call_s']:.2f} s (last run)"
    if stage == "waste":
        return f"{info['findings']} findings"
    if stage == "plan":
        return f"{info['plans']} plans"
    return ""


def render(data: dict, notes: str) -> str:
    lines = ["# allot benchmark results", "",
             "Re-run with `python -m bench --tier S` (or M, L). Written by `bench/report.py` from "
             "`bench/results.json`; the profiling notes at the end are kept across runs. Each tier's section "
             "names the machine and libraries it ran on: tiers run at different times may not share one.", ""]
    for name in ("S", "M", "L"):
        if name in data:
            lines += render_tier(data[name])
    return "\n".join(lines) + "\n" + (notes if notes else "")


def write_results(out: Path, result: TierResult) -> None:
    """Store the tier's measurements in ``<out>.json`` and re-render ``out``."""
    store = out.with_suffix(".json")
    data = json.loads(store.read_text()) if store.is_file() else {}
    fresh = result.to_json()
    previous = data.get(result.tier)
    if previous and previous.get("clusters", "") == fresh["clusters"]:
        # a run that skipped a stage entirely (--ingest-runs 0) keeps the earlier figures for it
        for stage, rows in previous["stages"].items():
            if stage not in fresh["stages"]:
                fresh["stages"][stage] = rows
                fresh.setdefault("carried_over", []).append(stage)
                # where those figures were measured (a chain of such runs keeps the first one's)
                fresh["carried_from"] = (previous.get("carried_from") if stage in previous.get("carried_over", [])
                                         else {"date": previous["date"], "cpu": previous["machine"]["cpu"]})
        if fresh["generated"] is None:
            fresh["generated"] = previous.get("generated")
    data[result.tier] = fresh
    store.write_text(json.dumps(data, indent=1, default=str) + "\n")
    notes = ""
    if out.is_file():
        text = out.read_text()
        at = text.find("\n" + NOTES_HEADING)
        notes = text[at + 1:] if at >= 0 else ""
    out.write_text(render(dict(sorted(data.items())), notes))
