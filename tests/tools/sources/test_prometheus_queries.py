"""Query building and batching for the Prometheus ingest (no server needed)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tools.errors import ConfigError, InputError
from tools.sources.metric_catalogue import BY_NAME
from tools.sources.prometheus import _hour_of, key_labels, resolve_window
from tools.sources.prometheus_http import auth_headers, unix_seconds
from tools.sources.prometheus_queries import (
    hour_chunks,
    hourly_queries,
    matcher,
    plan_batches,
    promql_string,
    regex_literal,
    selector,
    split_labels,
)


def _matches(matchers: tuple[str, ...], labels: dict[str, str]) -> bool:
    """Evaluate our own matcher syntax the way Prometheus does (regexes fully anchored)."""
    for m in matchers:
        name, op, literal = re.fullmatch(r'(\w+)(=~|=)(".*")', m).groups()
        value = literal[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        actual = labels.get(name, "")
        if op == "=" and actual != value:
            return False
        if op == "=~" and not re.fullmatch(value, actual):
            return False
    return True


def test_selectors_carry_the_catalogue_matchers():
    assert selector(BY_NAME["container_cpu_usage_seconds_total"]) == \
        'container_cpu_usage_seconds_total{container!="",image!=""}'
    assert selector(BY_NAME["kube_pod_info"], ('namespace="shop"',)) == 'kube_pod_info{namespace="shop"}'
    assert selector(BY_NAME["kube_pod_info"]) == "kube_pod_info"


def test_hourly_queries_ask_for_the_five_reductions():
    assert hourly_queries('kube_pod_info{namespace="a"}') == [
        ("avg", 'avg_over_time(kube_pod_info{namespace="a"}[1h])'),
        ("max", 'max_over_time(kube_pod_info{namespace="a"}[1h])'),
        ("min", 'min_over_time(kube_pod_info{namespace="a"}[1h])'),
        ("last", 'last_over_time(kube_pod_info{namespace="a"}[1h])'),
        ("samples", 'count_over_time(kube_pod_info{namespace="a"}[1h])'),
    ]


def test_escaping():
    assert promql_string('a"b\\c') == '"a\\"b\\\\c"'
    assert regex_literal("web.v1+(x)") == "web\\.v1\\+\\(x\\)"
    assert matcher("namespace", ["a.b", "c"]) == 'namespace=~"a\\\\.b|c"'
    assert _matches((matcher("namespace", ["a.b", "c"]),), {"namespace": "a.b"})
    assert not _matches((matcher("namespace", ["a.b", "c"]),), {"namespace": "axb"})


def test_batches_partition_the_series_under_the_budget():
    # 40 namespaces of very different sizes; one namespace bigger than the budget on its own
    series = []
    for n in range(40):
        for p in range(n * 7 % 53 + (400 if n == 13 else 0)):
            series.append({"namespace": f"team-{n}.prod", "pod": f"pod-{p}", "container": "app"})
    metric = BY_NAME["container_memory_working_set_bytes"]
    assert split_labels(metric) == ("namespace", "pod", "container")
    batches = plan_batches(series, split_labels(metric), budget=100, max_matcher_chars=120)
    assert len(batches) > 1
    for batch in batches:
        assert batch.series <= 100
        assert all(len(m) <= 120 + len('namespace=~""') for m in batch.matchers)
    # every series is selected by exactly one batch, and the counts add up
    for s in series:
        assert sum(_matches(b.matchers, s) for b in batches) == 1, s
    assert sum(b.series for b in batches) == len(series)
    # the big namespace is split by pod
    assert any('namespace="team-13.prod"' in b.matchers and any(m.startswith("pod=~") for m in b.matchers)
               for b in batches)


def test_small_metrics_are_one_batch_without_matchers():
    assert plan_batches([{"node": "a"}, {"node": "b"}], ("node",), budget=2)[0].matchers == ()


def test_hour_chunks_keep_points_under_the_limit():
    start = datetime(2026, 11, 1)
    chunks = hour_chunks(start, start + timedelta(days=14), series=1000, max_points=50_000)
    assert chunks[0] == (start, start + timedelta(hours=50))
    assert chunks[-1][1] == start + timedelta(days=14)
    assert all(b - a <= timedelta(hours=50) for a, b in chunks)
    assert all(chunks[i][1] == chunks[i + 1][0] for i in range(len(chunks) - 1))


def test_evaluation_times_map_back_to_their_hour():
    hour = datetime(2026, 11, 2, 5)
    evaluated = hour + timedelta(hours=1) - timedelta(milliseconds=1)
    assert unix_seconds(evaluated) == "1793599199.999"  # 2026-11-02T00:00Z is 1793577600
    assert _hour_of(float(unix_seconds(evaluated))) == hour


def test_windows():
    now = datetime(2026, 11, 28, 3, 17, 12)
    assert resolve_window("14d", now) == (datetime(2026, 11, 14, 3), datetime(2026, 11, 28, 3))
    assert resolve_window("48h", now) == (datetime(2026, 11, 26, 3), datetime(2026, 11, 28, 3))
    assert resolve_window("2026-11-01..2026-11-03", now) == (datetime(2026, 11, 1), datetime(2026, 11, 3))
    assert resolve_window("2026-11-01T06:30..2026-11-01T08:10", now) == \
        (datetime(2026, 11, 1, 6), datetime(2026, 11, 1, 9))
    assert resolve_window("2026-11-01T00:00+01:00..2026-11-02", now)[0] == datetime(2026, 10, 31, 23)
    with pytest.raises(InputError, match="not understood"):
        resolve_window("last-week", now)
    with pytest.raises(InputError, match="END must be after START"):
        resolve_window("2026-11-03..2026-11-01", now)


def test_key_labels_are_what_the_builder_cannot_do_without():
    assert key_labels(BY_NAME["kube_pod_info"]) == ("namespace", "pod")
    assert key_labels(BY_NAME["kube_node_status_allocatable"]) == ("node", "resource")
    assert key_labels(BY_NAME["kube_pod_status_phase"]) == ("namespace", "pod", "phase")
    assert key_labels(BY_NAME["DCGM_FI_DEV_GPU_UTIL"]) == ("gpu", "Hostname")


def test_auth_headers(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    assert auth_headers(token, ["X-Scope-OrgID=tenant-1"]) == {
        "X-Scope-OrgID": "tenant-1", "Authorization": "Bearer s3cret"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        auth_headers(None, ["no-equals-sign"])
    with pytest.raises(ConfigError, match="cannot be read"):
        auth_headers(tmp_path / "missing", None)
    (tmp_path / "empty").write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        auth_headers(tmp_path / "empty", None)
