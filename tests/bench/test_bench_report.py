"""The results file's arithmetic: medians, the floor ratio, the sums the targets are judged on,
and the verdicts, checked on a hand-built tier whose figures are worked out below by hand."""

from __future__ import annotations

import json

from bench.measure import Measurement
from bench.report import TierResult, render, render_tier, summarize, write_results

MACHINE = {"cores": 2, "cpu": "test", "memory_gib": 23.5, "kernel": "6", "libraries": {"duckdb": "x"}}


def _rows(walls, works=None, rss=(100, 100, 100), **info):
    works = works or walls
    extra = [{k: v[i] for k, v in info.items()} for i in range(len(walls))]
    return [{"run": i, "wall_s": w, "cpu_s": w, "peak_rss_mib": r, "info": {"work_s": k, **e}}
            for i, (w, k, r, e) in enumerate(zip(walls, works, rss, extra))]


def _tier_m(clusters: str = "") -> dict:
    return {
        "tier": "M", "runs": 3, "clusters": clusters, "memory_limit": "3GB", "load_before": [0.1, 0, 0],
        "load_after": [0.2, 0, 0], "generated": None, "world": {}, "date": "2026-12-07 16:00 UTC",
        "machine": MACHINE,
        "stages": {
            "ingest_billing": _rows([4.0, 6.0, 5.0], billing_rows=[9, 9, 9]),
            "ingest_k8s": _rows([30.0, 20.0, 25.0], rss=(3000, 5000, 3100),
                                pod_hour_rows=[1, 1, 1], kubernetes_s=[1, 1, 1], history_s=[2, 2, 2]),
            "allocate": _rows([10.0, 12.0, 11.0], works=[2.0, 4.0, 3.0], rebuild_s=[1.5, 2.5, 2.0],
                              allocation_rows=[5, 5, 5], queries_s=[0.5, 0.5, 0.5]),
            "floor": _rows([7.0, 7.0, 7.0], works=[1.0, 0.5, 1.5], rss=(9000, 9000, 9000),
                           groups=[3, 3, 3]),
            "reconcile": _rows([1.0, 1.0, 1.0], ok=[True] * 3, lines=[4] * 3, max_abs_difference=[0.0] * 3),
            "explain": _rows([2.0, 2.0, 2.0], max_call_s=[1.0, 3.0, 2.0]),
            "waste": _rows([9.0, 11.0, 10.0], findings=[16] * 3),
            "plan": _rows([6.0, 6.0, 6.0], plans=[5] * 3),
        },
    }


def test_medians_sums_and_ratio_are_the_hand_worked_ones():
    t = summarize(_tier_m())
    assert t["stages"]["ingest_k8s"]["wall"] == (25.0, 20.0, 30.0)
    assert t["ingest_allocate_s"] == 5.0 + 25.0 + 11.0            # medians of the three stages, summed
    assert t["end_to_end_s"] == 5.0 + 25.0 + 11.0 + 1.0 + 2.0 + 10.0 + 6.0   # counted stages, no floor
    assert t["floor_ratio"] == 3.0 / 1.0                           # allocation work / floor work, medians
    assert t["rebuild_floor_ratio"] == 2.0
    assert t["peak_rss_mib"] == 5000                               # largest counted stage; the floor's 9000 is a side figure
    assert t["stages"]["explain"]["max_call"] == 2.0


def test_verdicts_on_a_whole_tier():
    rows = {line.split(" | ")[0].strip("| "): line for line in render_tier(_tier_m()) if line.startswith("| ")}
    assert rows["ingest + allocate ≤ 60 s (process wall, medians summed)"].endswith("| 41.0 s | met |")
    assert rows["peak RSS ≤ 4 GiB (largest stage)"].endswith("| 4.88 GiB | **missed** |")
    assert rows["explain ≤ 2 s (slowest single cluster call, median run)"].endswith("| 2.00 s | met |")
    assert rows["waste ≤ 10 s (process wall)"].endswith("| 10.0 s | met |")
    assert rows["allocation ≤ 3× floor"].endswith("| 3.0× | met |")


def test_a_partial_run_judges_only_what_it_already_missed():
    lines = render_tier(_tier_m(clusters="eks-prod"))
    assert any(line.startswith("**Partial run: only cluster(s) eks-prod") for line in lines)
    rows = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| ")}
    assert rows["peak RSS ≤ 4 GiB (largest stage)"].endswith("| **missed** (already on this part of the tier) |")
    assert rows["ingest + allocate ≤ 60 s (process wall, medians summed)"].endswith("| not judged (partial run) |")


def _one_stage_run(stage: str, wall_s: float, info: dict) -> TierResult:
    """A tier-S run that measured one stage once (the others skipped, as --ingest-runs 0 skips the ingest)."""
    run = TierResult(tier="S", runs=1, load_before=(0.1, 0, 0), load_after=(0.1, 0, 0), memory_limit="3GB")
    run.add(0, stage, Measurement(stage, wall_s, wall_s, 100.0, ""), info)
    return run


def test_rewriting_keeps_the_notes_and_carries_a_skipped_stage_over(tmp_path):
    out = tmp_path / "results.md"
    write_results(out, _one_stage_run("ingest_billing", 2.0, {"work_s": 1.5, "billing_rows": 7}))
    first_run = json.loads(out.with_suffix(".json").read_text())["S"]
    out.write_text(out.read_text() + "## Profiling\n\nA hand-written note.\n")
    write_results(out, _one_stage_run("waste", 3.0, {"work_s": 2.5, "findings": 4}))
    text = out.read_text()
    assert text.endswith("## Profiling\n\nA hand-written note.\n")
    assert (f"Stages ingest_billing: figures of the previous run of this tier ({first_run['date']}, "
            f"on {first_run['machine']['cpu']}) on the same world") in text
    stored = json.loads(out.with_suffix(".json").read_text())["S"]
    assert stored["stages"]["ingest_billing"][0]["wall_s"] == 2.0 and stored["stages"]["waste"][0]["wall_s"] == 3.0


def test_a_carried_stage_names_the_run_that_measured_it_through_a_chain_of_runs(tmp_path):
    out = tmp_path / "results.md"
    write_results(out, _one_stage_run("ingest_billing", 2.0, {"work_s": 1.5, "billing_rows": 7}))
    store = out.with_suffix(".json")
    data = json.loads(store.read_text())
    data["S"]["date"], data["S"]["machine"]["cpu"] = "2026-01-01 00:00 UTC", "the first machine"
    store.write_text(json.dumps(data))
    for _ in range(2):   # two later runs that skip the ingest
        write_results(out, _one_stage_run("waste", 3.0, {"work_s": 2.5, "findings": 4}))
    assert ("figures of the previous run of this tier (2026-01-01 00:00 UTC, on the first machine)"
            in out.read_text())


def test_each_tier_names_the_machine_it_ran_on():
    other = {**MACHINE, "cpu": "another cpu", "kernel": "7"}
    text = render({"L": {**_tier_m(), "tier": "L", "machine": other}, "M": _tier_m()}, "")
    sections = text.split("## Tier ")   # the header, then M, then L
    assert sections[1].startswith("M") and sections[2].startswith("L")
    assert "Machine: 2 cores (test), 23.5 GiB memory, Linux 6. Libraries: duckdb x." in sections[1]
    assert "Machine: 2 cores (another cpu), 23.5 GiB memory, Linux 7. Libraries: duckdb x." in sections[2]
    assert "Machine:" not in sections[0]   # the header claims no machine for every tier
