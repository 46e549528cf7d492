"""The series memo around prometheus_client's OpenMetrics ``_parse_sample`` changes nothing
but speed: the same families and samples as the unpatched parser, and the parser's own errors."""

from __future__ import annotations

import io

import pytest
from prometheus_client.openmetrics.parser import text_fd_to_metric_families

from tools.sources.metrics_parse import memoised_label_parsing

TEXT = """# TYPE kube_pod_info gauge
kube_pod_info{cluster="c",namespace="a",pod="p} 1"} 1 1800
kube_pod_info{cluster="c",namespace="a",pod="p} 1"} 1 5400
kube_pod_info{cluster="c",namespace="a",pod="q"} 1 1800
kube_pod_info{cluster="c",namespace="a",pod="q"} 2.5 5400
kube_pod_info{cluster="c",namespace="a",pod="q"} 3 9000
kube_pod_info 7 1800
# TYPE http_requests counter
http_requests_total{path="/"} 0 0
http_requests_total{path="/"} 4 1800 # {trace_id="x} y"} 1 1799
http_requests_total{path="/"} 9 5400
# EOF
"""


def families(text: str) -> list:
    return [(f.name, f.type, [tuple(s)[:4] + (s.exemplar,) for s in f.samples])
            for f in text_fd_to_metric_families(io.StringIO(text))]


def test_memoised_parse_equals_the_plain_parser():
    plain = families(TEXT)
    with memoised_label_parsing():
        memoised = families(TEXT)
    assert memoised == plain
    pod_p = [s for s in plain[0][2] if s[1].get("pod") == "p} 1"]
    assert len(pod_p) == 2   # a '} ' inside a quoted label value is not the end of the labels


def test_errors_are_the_parsers_own():
    bad = TEXT.replace('pod="q"} 2.5 5400', 'pod="q"} two 5400')
    with pytest.raises(ValueError) as plain:
        families(bad)
    with memoised_label_parsing(), pytest.raises(ValueError) as memoised:
        families(bad)
    assert str(memoised.value) == str(plain.value)


def test_original_parser_restored():
    import prometheus_client.openmetrics.parser as parser

    before = parser._parse_sample
    with memoised_label_parsing():
        assert parser._parse_sample is not before
    assert parser._parse_sample is before
