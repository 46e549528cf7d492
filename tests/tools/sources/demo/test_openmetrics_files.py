"""The demo's OpenMetrics files parse with prometheus_client and keep the sample-timing contract.

Parsing every hour of the full demo takes a while, so the parser runs on a two-day world
written by the same code; the full demo's files are checked line by line for the timing rule.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from datetime import datetime

import pytest
from prometheus_client.openmetrics.parser import text_fd_to_metric_families

from tools.sources.demo.estate import build_world
from tools.sources.demo.openmetrics import write_openmetrics
from tools.sources.demo.spec import WorldSpec
from tools.sources.metric_catalogue import CATALOGUE

SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)\{(.*)\} (\S+) (\d+)$")


@pytest.fixture(scope="module")
def two_day_files(tmp_path_factory):
    world = build_world(WorldSpec(days=2))
    return world, write_openmetrics(world, tmp_path_factory.mktemp("om"))


def test_prometheus_client_parses_every_file(two_day_files):
    world, files = two_day_files
    start = (world.spec.start - datetime(1970, 1, 1)).total_seconds()
    for cluster, path in files.items():
        with path.open() as fh:
            families = {f.name: f for f in text_fd_to_metric_families(fh)}
        names = {s.name for f in families.values() for s in f.samples}
        required = {m.name for m in CATALOGUE if m.required}
        assert required <= names, (cluster, required - names)
        assert families["container_cpu_usage_seconds"].type == "counter"
        for family in families.values():
            for s in family.samples:
                assert s.labels["cluster"] == cluster
                offset = float(s.timestamp) - start
                if family.type == "counter" and s.value == 0 and offset % 3600 == 0:
                    continue        # the counter's 0 sample at its first hour's start
                assert offset % 3600 == 1800, (s.name, s.timestamp)
    gke = files["gke-ml"].read_text()
    assert "DCGM_FI_PROF_GR_ENGINE_ACTIVE{" in gke and "loki_distributor_bytes_received_total{" in gke


def test_full_demo_files_keep_the_timing_contract(demo_world):
    start = int((demo_world.spec.start - datetime(1970, 1, 1)).total_seconds())
    for cluster, path in demo_world.metrics.items():
        lines = path.read_text().splitlines()
        assert lines[-1] == "# EOF"
        families_seen, current = [], None
        first_ts: dict[str, int] = {}
        counts = defaultdict(int)
        for line in lines[:-1]:
            if line.startswith("# TYPE"):
                current = line.split()[2]
                assert current not in families_seen, f"{current} is not contiguous"
                families_seen.append(current)
                continue
            if line.startswith("#"):
                continue
            name, labels, value, ts = SAMPLE.match(line).groups()
            assert f'cluster="{cluster}"' in labels
            series = name + labels
            ts = int(ts)
            if series not in first_ts:
                first_ts[series] = ts
                if name.endswith("_total"):
                    assert value == "0" and (ts - start) % 3600 == 0, line
                    continue
            assert (ts - start) % 3600 == 1800, line
            counts[name] += 1
        assert counts["kube_pod_info"] == next(c.pod_hours for c in demo_world.ground_truth.clusters
                                               if c.cluster == cluster)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_creates_blocks_from_the_file(two_day_files, tmp_path):
    _, files = two_day_files
    done = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(files["gke-ml"]),
                           str(tmp_path / "tsdb")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [p for p in (tmp_path / "tsdb").iterdir() if p.is_dir()]
