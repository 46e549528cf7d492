"""Large families are parsed in segments cut between series: same samples, bounded memory."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import tools.sources.metrics_parse as metrics_parse
from tools.sources.metrics_parse import _segments, parse_chunk

HEAD = '# HELP kube_pod_container_resource_requests requests\n# TYPE kube_pod_container_resource_requests gauge\n'


def om_text(pods: int, hours: int) -> str:
    lines = [HEAD]
    for p in range(pods):
        for h in range(hours):
            lines.append(f'kube_pod_container_resource_requests{{cluster="c",namespace="n",pod="p{p}",'
                         f'container="app",resource="cpu",unit="core"}} {p + h / 10} {1800 + 3600 * h}\n')
    lines.append("# TYPE container_cpu_usage_seconds counter\n")
    for p in range(pods):
        lines.append(f'container_cpu_usage_seconds_total{{cluster="c",namespace="n",pod="p{p}",container="app"}} 0 0\n')
        for h in range(hours):
            lines.append(f'container_cpu_usage_seconds_total{{cluster="c",namespace="n",pod="p{p}",container="app"}} '
                         f'{h + 1} {1800 + 3600 * h}\n')
    lines.append("# TYPE request_seconds histogram\n")
    for le in ("1.0", "+Inf"):
        lines.append(f'request_seconds_bucket{{le="{le}"}} 3 1800\n')
    lines += ["request_seconds_count 3 1800\n", "request_seconds_sum 1.5 1800\n", "# EOF\n"]
    return "".join(lines)


def rows(path, tmp_path, monkeypatch, limit):
    monkeypatch.setattr(metrics_parse, "SEGMENT_SAMPLES", limit)
    result = parse_chunk(str(path), 0, path.stat().st_size, True, str(tmp_path / f"out{limit}"))
    table = [r for f in result.files for r in pq.read_table(f).to_pylist()]
    return result, sorted((r["metric"], sorted(r["labels"]), r["value"], r["ts"]) for r in table)


def test_segments_cut_between_series_only():
    text = om_text(pods=4, hours=3)
    segments = list(_segments(iter(text.splitlines(keepends=True)), True, limit=2))
    assert len(segments) > 4
    for segment in segments:
        assert segment[-1] == "# EOF\n"
        samples = [line for line in segment if not line.startswith("#")]
        series = [line[:line.rfind("}")] for line in samples if "{" in line]
        # a series never continues into the next segment
        assert all(series.count(s) == len([x for x in series if x == s]) for s in series)
        if any(line.startswith("kube_pod_container_resource_requests") for line in samples):
            assert segment[:2] == HEAD.splitlines(keepends=True)
    pieces = {}
    for i, segment in enumerate(segments):
        for line in segment:
            if "pod=" in line and not line.startswith("#"):
                pieces.setdefault(line[:line.rfind("}")], set()).add(i)
    assert all(len(where) == 1 for where in pieces.values())
    histogram = [s for s in segments if any(line.startswith("request_seconds") for line in s)]
    assert len(histogram) == 1   # histograms are never cut


def test_segmented_parse_keeps_the_same_samples(tmp_path, monkeypatch):
    path = tmp_path / "m.om"
    path.write_text(om_text(pods=5, hours=4))
    whole, expected = rows(path, tmp_path, monkeypatch, 10**9)
    cut, got = rows(path, tmp_path, monkeypatch, 3)
    assert got == expected
    assert len(expected) == 5 * 4 + 5 * 5
    assert cut.families == whole.families == 3
    assert cut.kept == whole.kept


def test_lines_after_eof_still_refused(tmp_path, monkeypatch):
    path = tmp_path / "m.om"
    path.write_text(om_text(pods=3, hours=2) + "kube_pod_info{pod=\"x\"} 1 1800\n")
    monkeypatch.setattr(metrics_parse, "SEGMENT_SAMPLES", 2)
    with pytest.raises(ValueError):
        parse_chunk(str(path), 0, path.stat().st_size, True, str(tmp_path / "out"))
