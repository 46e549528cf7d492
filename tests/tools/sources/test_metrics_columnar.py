"""The fast path of ``allot ingest metrics`` against prometheus_client, the parser of record.

Every file is ingested twice, once read by the fast path (``fast=True``) and once parsed by
prometheus_client (``fast=False``), into two warehouses whose history tables must be equal
row for row (``EXCEPT ALL`` both ways). Files outside the strict subset must take the parser
path: then the parser's own error (naming the file) surfaces, or the same tables result.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import prometheus_client.openmetrics.parser as openmetrics_parser
import pytest

from tests.tools.sources import openmetrics_world
from tools.context import Context
from tools.errors import InputError
from tools.settings import Settings
from tools.sources import history, metrics_file, metrics_lines, metrics_scan
from tools.sources.after_ingest import allocation_deferred
from tools.sources.metrics_columnar import FIRST_AT, read_hourly
from tools.sources.metrics_file import ingest_metrics_file

FIXTURE = Path(__file__).parent / "data" / "three_hours.om"
HISTORY_TABLES = ("nodes", "owner_edges", "pods", "namespaces", "workloads", "pod_volumes", "pvcs", "pvs", "hpas",
                  "job_runs", "pod_hours", "container_hours", "node_hours", "volume_hours", "node_gpu_hours",
                  "namespace_log_hours", "workload_spec_hours", "data_caveats")
NOW = datetime(2026, 11, 20, 10, 17)


@pytest.fixture
def fast_reads(monkeypatch) -> list:
    """What each fast-path attempt returned: a ColumnarResult, or the reason it deferred."""
    seen: list = []

    def spy(*args, **kwargs):
        result = read_hourly(*args, **kwargs)
        seen.append(result)
        return result

    monkeypatch.setattr(metrics_file, "read_hourly", spy)
    return seen


def ingest(folder: Path, name: str, files: list[tuple[Path, str | None]], fast: bool) -> Path:
    db = folder / f"{name}.duckdb"
    ctx = Context.open(db, Settings())
    ctx.clock = lambda: NOW
    try:
        with allocation_deferred(ctx):
            for path, cluster in files:
                ingest_metrics_file(ctx, path, cluster, fast=fast)
    finally:
        ctx.close()
    return db


def assert_same_history(tmp_path: Path, files: list[tuple[Path, str | None]]) -> dict[str, int]:
    return assert_same_tables(ingest(tmp_path, "fast", files, fast=True), ingest(tmp_path, "slow", files, fast=False))


def assert_same_tables(one: Path, other: Path) -> dict[str, int]:
    """Every history table of the two warehouses holds the same rows; returns the row counts."""
    con = duckdb.connect(str(one))
    con.execute(f"ATTACH '{other}' AS other")
    sizes = {}
    for table in HISTORY_TABLES:
        cols = "* EXCLUDE (recorded_at)" if table == "data_caveats" else "*"
        for a, b, name in ((table, f"other.{table}", one.stem), (f"other.{table}", table, other.stem)):
            extra = con.execute(f"SELECT * FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b}) LIMIT 3"
                                ).fetchall()
            assert not extra, f"{table}: rows only in the {name} warehouse: {extra}"
        sizes[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.close()
    return sizes


def test_hand_worked_file_same_tables_and_fast(tmp_path, fast_reads):
    sizes = assert_same_history(tmp_path, [(FIXTURE, None)])
    assert sizes["pod_hours"] == 8 and sizes["container_hours"] == 9
    assert not isinstance(fast_reads[0], str), fast_reads[0]
    assert fast_reads[0].kept == 102   # sample lines of the fixture, counted with grep below
    assert fast_reads[0].kept == sum(1 for line in FIXTURE.read_text().splitlines()
                                     if line and not line.startswith("#"))


def test_openmetrics_world_same_tables_and_fast(tmp_path, fast_reads):
    path = openmetrics_world.write(tmp_path / "world.om")
    sizes = assert_same_history(tmp_path, [(path, None)])
    assert sizes["pod_hours"] > 0 and sizes["node_gpu_hours"] > 0
    assert all(not isinstance(r, str) for r in fast_reads), fast_reads
    assert fast_reads[0].clusters == ["alpha", "beta", "gamma"]   # the world's three, listed as series are counted


def test_real_cadvisor_text_same_tables(tmp_path, shared_data, fast_reads):
    sizes = assert_same_history(tmp_path, [(shared_data / "kubernetes" / "prometheus_metrics", "lab")])
    assert sizes["pod_hours"] == 0
    assert not isinstance(fast_reads[0], str), fast_reads[0]


def test_demo_world_metrics_same_tables(tmp_path, demo_build, fast_reads):
    folder = demo_build / "world" / "metrics"
    files = [(path, path.stem) for path in sorted(folder.glob("*.om"))]
    assert files
    sizes = assert_same_history(tmp_path, files)
    assert sizes["pod_hours"] > 1000
    assert all(not isinstance(r, str) for r in fast_reads), fast_reads


def test_column_only_metrics_need_no_label_map(tmp_path, demo_build, monkeypatch):
    """The series of a COLUMN_ONLY metric get no label map: no query reads a label of theirs
    beyond the columns, so building every map gives the same tables (the worlds hold such
    labels: ``interface``, ``unit``, ``owner_is_controller``)."""
    files = [(openmetrics_world.write(tmp_path / "world.om"), None),
             *((path, path.stem) for path in sorted((demo_build / "world" / "metrics").glob("*.om")))]
    assert {"kube_pod_info", "kube_job_owner"} <= set(history.COLUMN_ONLY) and "kube_node_info" not in history.COLUMN_ONLY
    lean = ingest(tmp_path, "lean", files, fast=True)
    monkeypatch.setattr(history, "COLUMN_ONLY", ())
    sizes = assert_same_tables(lean, ingest(tmp_path, "full", files, fast=True))
    assert sizes["pod_hours"] > 1000 and sizes["nodes"] > 0


def test_label_lists_are_dropped_before_the_build(tmp_path, monkeypatch):
    """The build's transaction would hold a table dropped in it to its commit: the file's label
    lists are read into the build's series table and dropped before it, and nothing is left after."""
    temp = "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1"
    seen = []

    def spy(ctx, *args, **kwargs):
        seen.append({row[0] for row in ctx.db.execute(temp).fetchall()})
        return history.build_history(ctx, *args, **kwargs)

    monkeypatch.setattr(metrics_file, "build_history", spy)
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        ingest_metrics_file(ctx, openmetrics_world.write(tmp_path / "world.om"))
        assert len(seen) == 3   # the world's three clusters, in one transaction
        for tables in seen:
            assert {history.SERIES_TABLE, "_mc_samples"} <= tables and not {"_mc_series", "_mc_escaped"} & tables
        assert ctx.db.execute(temp).fetchall() == []
        assert ctx.db.execute("SELECT count(DISTINCT cluster) FROM pod_hours").fetchone() == (3,)
    finally:
        ctx.close()


GOOD = """# HELP kube_node_info Node info.
# TYPE kube_node_info gauge
kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1 1714523400
kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1 1714527000
# TYPE kube_pod_labels gauge
kube_pod_labels{cluster="c",namespace="ns",pod="p",label_team=%s} 1 1714523400
# TYPE kube_pod_info gauge
kube_pod_info{cluster="c",namespace="ns",pod="p",node="n1",created_by_kind="<none>",created_by_name="<none>"} 1 1714523400
# TYPE container_cpu_usage_seconds counter
container_cpu_usage_seconds_total{cluster="c",namespace="ns",pod="p",container="a",image="i"} 0 1714523400
container_cpu_usage_seconds_total{cluster="c",namespace="ns",pod="p",container="a",image="i"} 7.5 1714527000
# EOF
"""


def good(team: str = '"pay"') -> str:
    return GOOD % team


def test_escaped_label_values_give_the_parsers_map(tmp_path):
    team = r'"a \"quoted\" \\ back\nslash \t"'
    path = tmp_path / "escaped.om"
    path.write_text(good(team))
    con = duckdb.connect()
    result = read_hourly(con, path, True, None, NOW)
    assert not isinstance(result, str), result
    keys, values = con.execute(
        "SELECT label_keys, label_values FROM _metrics_series WHERE metric = 'kube_pod_labels'").fetchone()
    fast = dict(zip(keys, values))
    families = {f.name: f for f in openmetrics_parser.text_string_to_metric_families(path.read_text())}
    parsed = families["kube_pod_labels"].samples[0].labels
    assert fast == parsed
    assert parsed["label_team"] == 'a "quoted" \\ back\nslash \\t'


def test_escaped_labels_same_tables(tmp_path):
    path = tmp_path / "escaped.om"
    path.write_text(good(r'"x\"y"'))
    assert_same_history(tmp_path, [(path, None)])


STALE = good().replace("# EOF\n", """\
# TYPE kube_pod_owner gauge
kube_pod_owner{cluster="c",namespace="ns",pod="p",owner_kind="Job",owner_name="j"} NaN 1714523400
kube_pod_owner{cluster="c",namespace="ns",pod="p",owner_kind="Job",owner_name="j"} NaN 1714527000
# EOF
""").replace(
    'kube_pod_info{cluster="c",namespace="ns",pod="p",node="n1",created_by_kind="<none>",created_by_name="<none>"} 1 '
    '1714523400\n',
    'kube_pod_info{cluster="c",namespace="ns",pod="p",node="n1",created_by_kind="<none>",created_by_name="<none>"} 1 '
    '1714523400\n'
    'kube_pod_info{cluster="c",namespace="ns",pod="q",node="n1",created_by_kind="<none>",created_by_name="<none>"} NaN '
    '1714523400\n'
    'kube_pod_info{cluster="c",namespace="ns",pod="q",node="n1",created_by_kind="<none>",created_by_name="<none>"} NaN '
    '1714527000\n')


@pytest.mark.parametrize("segment_bytes", [1, 128 * 2**20])
def test_series_of_staleness_markers_alone_have_no_hours(tmp_path, monkeypatch, fast_reads, segment_bytes):
    # NaN samples are staleness markers: a series of nothing else is not there for the history
    # (no pod q, no owner edge, kube_pod_owner named as missing), on both paths, also with
    # every line a segment of its own (the run's markers counted across segments)
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", segment_bytes)
    path = tmp_path / "stale.om"
    path.write_text(STALE)
    assert_same_history(tmp_path, [(path, None)])
    assert not isinstance(fast_reads[0], str), fast_reads[0]
    con = duckdb.connect()
    read_hourly(con, path, True, None, NOW)
    assert con.execute("SELECT metric, label_values[list_position(label_keys, 'pod')], has_hours FROM _metrics_series "
                       "WHERE metric IN ('kube_pod_info', 'kube_pod_owner') ORDER BY ALL"
                       ).fetchall() == [("kube_pod_info", "p", True), ("kube_pod_info", "q", False),
                                        ("kube_pod_owner", "p", False)]
    fast = duckdb.connect(str(tmp_path / "fast.duckdb"))
    assert fast.execute("SELECT pod FROM pods").fetchall() == [("p",)]
    assert fast.execute("SELECT count(*) FROM owner_edges").fetchone() == (0,)
    missing = fast.execute("SELECT message FROM data_caveats WHERE code = 'missing_required_metrics'").fetchone()[0]
    assert "kube_pod_owner" in missing


@pytest.mark.parametrize("name, text", [
    ("exemplar", good().replace('7.5 1714527000', '7.5 1714527000 # {trace_id="abc"} 1.0')),
    ("classic text, no # EOF", good().replace("# EOF\n", "").replace("1714523400", "1714523400000")
     .replace("1714527000", "1714527000000").replace("container_cpu_usage_seconds counter",
                                                     "container_cpu_usage_seconds_total counter")),
    # single samples keep their hour, counted from 1970: before it, the hour is still the one that starts before
    ("classic text, times before 1970", good().replace("# EOF\n", "").replace("1714523400", "-1714523399877")
     .replace("1714527000", "-1714521000456").replace("container_cpu_usage_seconds counter",
                                                      "container_cpu_usage_seconds_total counter")),
    ("label order differs within a metric", good().replace(
        'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1 1714527000',
        'kube_node_info{node="n1",cluster="c",provider_id="aws:///z/i-1"} 1 1714527000')),
])
def test_outside_the_subset_the_parser_reads_it(tmp_path, fast_reads, name, text):
    path = tmp_path / "file.om"
    path.write_text(text)
    sizes = assert_same_history(tmp_path, [(path, None)])
    assert sizes["nodes"] == 1
    if name.startswith("classic"):
        assert not isinstance(fast_reads[0], str), fast_reads[0]   # classic text is in the subset too
    else:
        assert isinstance(fast_reads[0], str)


@pytest.mark.parametrize("name, data, message", [
    ("bad value", good().replace(" 7.5 ", " 7.5x ").encode(), "7.5x"),
    ("line after # EOF", (good() + "\n").encode(), "after # EOF"),
    ("not UTF-8", good().replace("pay", "p\udcffy").encode("utf-8", "surrogateescape"), "utf-8"),
    ("family split in two", good().replace("# EOF\n", "# TYPE kube_node_info gauge\n"
                                           'kube_node_info{cluster="c",node="n2"} 1 1714523400\n# EOF\n').encode(),
     "kube_node_info"),
    ("series split in two", good().replace(
        'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1 1714527000',
        'kube_node_info{cluster="c",node="n2",provider_id="aws:///z/i-2"} 1 1714523400\n'
        'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1 1714527000').encode(),
     "Invalid metric grouping"),
    ("timestamps backwards", good().replace("7.5 1714527000", "7.5 1714520000").encode(), "backwards"),
])
@pytest.mark.parametrize("segment_bytes", [64, 128 * 2**20])
def test_refused_files_fall_back_and_the_parser_words_the_error(tmp_path, monkeypatch, fast_reads, name, data,
                                                                 message, segment_bytes):
    # with 64-byte segments the refusal comes while an earlier segment is still being written
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", segment_bytes)
    path = tmp_path / "bad.om"
    path.write_bytes(data)
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        with pytest.raises(InputError) as err:
            ingest_metrics_file(ctx, path)
        assert str(path) in str(err.value) and message.lower() in str(err.value).lower()
        assert isinstance(fast_reads[0], str), fast_reads[0]
        assert ctx.db.execute("SELECT count(*) FROM nodes").fetchone()[0] == 0
        assert not ctx.db.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0]
    finally:
        ctx.close()


def colliding_series() -> tuple[str, str]:
    """Two kube_pod_info texts with one DuckDB hash (its string hash collides on similar texts)."""
    found = duckdb.connect().execute("""
        SELECT list(s ORDER BY s) FROM (
            SELECT 'kube_pod_info{namespace="team-' || (i % 97) || '",pod="api-' || i || '"}' AS s
            FROM range(50000) r(i))
        GROUP BY hash(s) HAVING count(*) > 1 ORDER BY 1 LIMIT 1""").fetchall()
    if not found:
        pytest.skip("this DuckDB's hash gives these texts distinct hashes: no shared hash to compare whole")
    first, second = found[0][0][:2]
    assert first != second
    return first, second


def test_series_sharing_a_hash_are_compared_whole(tmp_path, fast_reads):
    # two consecutive series whose texts share a hash: still two series, read by the fast path
    first, second = colliding_series()
    lines = [f"{text} 1 {ts}" for text in (first, second) for ts in (1714523400, 1714527000)]
    path = tmp_path / "shared-hash.om"
    path.write_text("# TYPE kube_pod_info gauge\n" + "\n".join(lines) + "\n# EOF\n")
    sizes = assert_same_history(tmp_path, [(path, "c")])
    assert not isinstance(fast_reads[0], str), fast_reads[0]
    assert sizes["pods"] == 2


def test_a_series_split_around_one_sharing_its_hash_is_refused(tmp_path, fast_reads):
    first, second = colliding_series()
    lines = [f"{first} 1 1714523400", f"{second} 1 1714523400", f"{first} 1 1714527000"]
    path = tmp_path / "split.om"
    path.write_text("# TYPE kube_pod_info gauge\n" + "\n".join(lines) + "\n# EOF\n")
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        with pytest.raises(InputError, match="Invalid metric grouping"):
            ingest_metrics_file(ctx, path, "c")
    finally:
        ctx.close()
    # the series comes back on line 4 (after the TYPE line and the two series)
    assert len(first) <= 120
    assert fast_reads == [f"a series' samples are not consecutive lines, the first is line 4: {first!r}"]


def test_missing_eof_is_classic_text_and_both_paths_agree(tmp_path, fast_reads):
    # without a final `# EOF` the file is read as the classic text format (timestamps in ms)
    path = tmp_path / "no-eof.prom"
    path.write_text(good().replace("# EOF\n", ""))
    assert_same_history(tmp_path, [(path, None)])
    assert isinstance(fast_reads[0], str)   # a classic counter not named *_total: left to the parser


def test_fast_path_forced_off(tmp_path, fast_reads):
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        with allocation_deferred(ctx):
            ingest_metrics_file(ctx, FIXTURE, fast=False)
    finally:
        ctx.close()
    assert fast_reads == []


def test_warehouse_memory_limit_and_spill_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLOT_WAREHOUSE__MEMORY_LIMIT", "1GB")
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        limit, temp = ctx.db.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    finally:
        ctx.close()
    assert limit in ("953.6 MiB", "1.0 GB", "1000.0 MB")   # DuckDB prints 10^9 bytes in binary units
    assert temp == str(tmp_path / "w.duckdb") + ".tmp"


def test_copy_of_fixture_is_unchanged(tmp_path):
    # the fast path reads files in place and never writes beside them
    copy = tmp_path / "three_hours.om"
    shutil.copy(FIXTURE, copy)
    con = duckdb.connect()
    read_hourly(con, copy, True, None, NOW)
    assert copy.read_bytes() == FIXTURE.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three_hours.om"]


NODE = 'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"}'


def without_refusal(message: str) -> str:
    """The parser's error without the fast path's refusal it quotes (``; N series ..., the first is line L: ...``)."""
    head, sep, tail = message.partition("; export with timestamps")
    if FIRST_AT in head:
        head = head[:head.rindex("; ", 0, head.index(FIRST_AT))]
    return head + sep + tail


@pytest.mark.parametrize("variant", [
    'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1",}',      # trailing comma
    'kube_node_info{cluster="c", node="n1",provider_id="aws:///z/i-1"}',      # blank after a comma
    'kube_node_info{cluster="c",node=n1,provider_id="aws:///z/i-1"}',         # unquoted value
    'kube_node_info{cluster="c",node="n"1",provider_id="aws:///z/i-1"}',      # quote inside a value
    'kube_node_info{cluster="c",node="n1",node="n2",provider_id="x"}',        # label named twice
    'kube_node_info{cluster="c",__node="n1",provider_id="x"}',                # reserved label name
    'kube_node_info{cluster="c",node="n1=a,b{c}",provider_id="x"}',           # = , { } inside a value
    'kube_node_info{cluster="c",node="n1} x",provider_id="x"}',               # "} " inside a value
    'kube_node_info{cluster="c",node="n1"provider_id="x"}',                   # no comma between labels
    'kube_node_info{cluster="c",node=,provider_id="n1""x"}',                  # two names before one value
    'kube_node_info{cluster="c",="n1",provider_id="x"}',                      # empty label name
    'kube_node_info{cluster="c",node=="n1",provider_id="x"}',                 # two equals signs
    'kube_node_info{cluster="c",node="",provider_id="x"}',                    # empty value (valid)
    'kube_node_info{cluster="c",node="n1",provider_id"x"}',                   # no equals sign
    'kube_node_info{cluster="c",node="n1",provider_id="}',                    # value not closed
    'kube_node_info{cluster="c",node="n1",provider_id="x"',                   # no closing brace
    'kube_node_info{cluster="c",node="n 1",provider_id="x"',                  # no closing brace, a blank inside
    NODE + '1',                                                               # no blank after the brace
])
def test_label_text_variants_agree_with_the_parser(tmp_path, variant):
    path = tmp_path / "variant.om"
    path.write_text(good().replace(NODE, variant))
    outcomes = []
    for fast in (True, False):
        try:
            ingest(tmp_path / ("fast" if fast else "slow"), "w", [(path, None)], fast)
            outcomes.append("ok")
        except InputError as err:
            outcomes.append(str(err))
    assert without_refusal(outcomes[0]) == outcomes[1]
    if outcomes[0] == "ok":
        assert_same_history(tmp_path, [(path, None)])


def test_classic_text_with_escapes_and_an_untimed_sample(tmp_path, fast_reads):
    path = tmp_path / "scrape.prom"
    path.write_text('# HELP kube_node_info Node info.\n# TYPE kube_node_info gauge\n'
                    'kube_node_info{cluster="c",node="n\\"1\\\\",provider_id="aws:///z/i-1"} 1 1714523400000\n'
                    'kube_node_info{cluster="c",node="n2",provider_id="aws:///z/i-2"} 1\n')
    sizes = assert_same_history(tmp_path, [(path, None)])
    assert sizes["nodes"] == 2
    assert not isinstance(fast_reads[0], str), fast_reads[0]
    assert fast_reads[0].untimed == 1


def test_gzip_file_gives_the_plain_files_tables_both_ways(tmp_path, fast_reads):
    plain = openmetrics_world.write(tmp_path / "world.om")
    packed = tmp_path / "world.om.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))
    reference = ingest(tmp_path / "plain", "plain", [(plain, None)], fast=False)
    for fast in (True, False):
        db = ingest(tmp_path / f"gz-{fast}", "gz", [(packed, None)], fast=fast)
        con = duckdb.connect(str(db))
        con.execute(f"ATTACH '{reference}' AS plain")
        for table in HISTORY_TABLES:
            cols = "* EXCLUDE (recorded_at)" if table == "data_caveats" else "*"
            for a, b in ((table, f"plain.{table}"), (f"plain.{table}", table)):
                assert not con.execute(f"SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b}").fetchall(), table
        assert con.execute("SELECT count(*) FROM pod_hours").fetchone()[0] > 0
        con.close()
    assert len(fast_reads) == 1 and not isinstance(fast_reads[0], str), fast_reads


def test_damaged_gzip_is_refused_by_name_and_writes_nothing(tmp_path):
    plain = openmetrics_world.write(tmp_path / "world.om")
    packed = tmp_path / "world.om.gz"
    data = gzip.compress(plain.read_bytes(), compresslevel=1)
    packed.write_bytes(data[: len(data) // 2])
    db = tmp_path / "w.duckdb"
    ctx = Context.open(db, Settings())
    try:
        with pytest.raises(InputError, match=r"world\.om\.gz: damaged gzip file"):
            ingest_metrics_file(ctx, packed)
        assert ctx.db.execute("SELECT count(*) FROM pod_hours").fetchone()[0] == 0
    finally:
        ctx.close()


@pytest.mark.parametrize("segment_bytes", [1, 200, 4096])
def test_small_segments_give_the_same_tables(tmp_path, monkeypatch, fast_reads, segment_bytes):
    # runs, families and hours that cross segment ends, and run rows written a few at a time:
    # the tables still equal the parser's
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", segment_bytes)
    monkeypatch.setattr(metrics_scan, "FLUSH_ROWS", 3)
    world = openmetrics_world.write(tmp_path / "world.om")
    sizes = assert_same_history(tmp_path, [(FIXTURE, None), (world, None)])
    assert sizes["pod_hours"] > 8
    samples = sum(1 for line in world.read_text().splitlines() if line and not line.startswith("#"))
    assert [r.kept for r in fast_reads] == [102, samples]


def test_more_runs_than_an_integer_holds_go_to_the_parser(tmp_path, monkeypatch, fast_reads):
    # a run's number is stored as an INTEGER: a file with more runs is left to the parser, refused
    # at the segment that passes the limit. The fixture's runs, counted here: a run starts where a
    # line's series text (a comment line whole) differs from the line before's
    lines = FIXTURE.read_text().splitlines()
    texts = [line if line.startswith("#") else line.rsplit(" ", 2)[0] for line in lines]
    runs = sum(1 for i, text in enumerate(texts) if i == 0 or text != texts[i - 1])
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", 200)
    monkeypatch.setattr(metrics_scan, "MAX_RUNS", runs)
    with duckdb.connect() as con:
        assert not isinstance(read_hourly(con, FIXTURE, True, None, NOW), str)
    monkeypatch.setattr(metrics_scan, "MAX_RUNS", runs - 1)
    sizes = assert_same_history(tmp_path, [(FIXTURE, None)])
    assert sizes["pod_hours"] == 8
    assert fast_reads == [f"more than {runs - 1} runs of series lines"]


def test_the_scan_halves_duckdbs_threads_and_gives_them_back(monkeypatch):
    # the threads DuckDB has while the scan runs, read at every segment through a cursor of its
    # own (the setting is the database's); after the scan, the connection's own setting again,
    # after a scan that stops with an error too
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", 200)
    with duckdb.connect() as con:
        con.execute("SET threads = 5")
        cursor = con.cursor()
        during = []

        def progress(*_):
            during.append(cursor.execute("SELECT current_setting('threads')").fetchone()[0])

        metrics_scan.scan_runs(con, FIXTURE, True, NOW, progress)
        assert len(during) > 3 and set(during) == {2}
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 5
        with monkeypatch.context() as patch, pytest.raises(metrics_scan.TooManyRuns):
            patch.setattr(metrics_scan, "MAX_RUNS", 1)
            metrics_scan.scan_runs(con, FIXTURE, True, NOW, progress)
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 5
        con.execute("SET threads = 1")
        during.clear()
        metrics_scan.scan_runs(con, FIXTURE, True, NOW, progress)
        assert set(during) == {1} and con.execute("SELECT current_setting('threads')").fetchone()[0] == 1


def test_a_bad_line_stops_the_read_at_its_segment(tmp_path, monkeypatch, fast_reads):
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", 300)
    seen = []
    real = metrics_scan._parse_segment
    monkeypatch.setattr(metrics_scan, "_parse_segment", lambda segment, *a: (seen.append(segment.first),
                                                                               real(segment, *a))[1])
    path = tmp_path / "bad.om"
    text = openmetrics_world.write(tmp_path / "world.om").read_text()
    path.write_text(text.replace(" 1 ", " one ", 1))
    with pytest.raises(InputError):
        ingest(tmp_path, "w", [(path, None)], fast=True)
    assert isinstance(fast_reads[0], str) and "strict sample grammar" in fast_reads[0]
    assert len(seen) < len(text) // 300 / 2   # stopped early: most segments were never scanned


def test_classic_text_gzip_is_read_again_as_classic(tmp_path, fast_reads):
    # a gzip file is first read as OpenMetrics (its end is not known yet); no `# EOF`: classic
    plain = tmp_path / "scrape.prom"
    plain.write_text('# HELP kube_node_info Node info.\n# TYPE kube_node_info gauge\n'
                     'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1 1714523400000\n'
                     'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1 1714527000000\n')
    packed = tmp_path / "scrape.prom.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    sizes = assert_same_history(tmp_path, [(packed, None)])
    assert sizes["nodes"] == 1
    assert not isinstance(fast_reads[0], str) and not fast_reads[0].openmetrics
    con = duckdb.connect()
    assert not isinstance(read_hourly(con, packed, None, None, NOW), str)
    assert con.execute("SELECT min(hour), max(hour) FROM _metrics_hours").fetchone() == (
        datetime(2024, 5, 1, 0, 0), datetime(2024, 5, 1, 1, 0))   # 1714523400 s = 2024-05-01 00:30 UTC


def test_gzip_openmetrics_stopped_early_is_not_read_again_as_classic(tmp_path, monkeypatch, fast_reads):
    # an early blank line stops the OpenMetrics scan before the end: the file is not then taken
    # for classic text (which allows blank lines and would read seconds as milliseconds)
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", 300)
    text = openmetrics_world.write(tmp_path / "world.om").read_text()
    first_sample = text.index("\n", text.index("} ")) + 1
    packed = tmp_path / "blank.om.gz"
    packed.write_bytes(gzip.compress((text[:first_sample] + "\n" + text[first_sample:]).encode()))
    try:
        ingest(tmp_path, "w", [(packed, None)], fast=True)
    except InputError:
        pass                                    # the parser's verdict, whichever it is
    assert isinstance(fast_reads[0], str) and "strict sample grammar" in fast_reads[0]


def test_sub_microsecond_timestamps_land_in_the_parsers_hours(tmp_path, fast_reads):
    # nanosecond timestamps half a microsecond either side of an hour's start (1714525200):
    # the fast path rounds them to microseconds as DuckDB's to_timestamp does for the parser's path
    path = tmp_path / "ns.om"
    path.write_text(good().replace("0 1714523400", "0 1714525199.9999995")
                    .replace("7.5 1714527000", "7.5 1714525200.000000500"))
    sizes = assert_same_history(tmp_path, [(path, None)])
    assert sizes["nodes"] == 1
    assert not isinstance(fast_reads[0], str), fast_reads[0]


def test_a_timestamp_beyond_the_warehouse_range_is_left_to_the_parser_which_names_it(tmp_path):
    path = tmp_path / "far.om"
    path.write_text(good().replace("7.5 1714527000", "7.5 999999999999999"))
    lines = path.read_text().splitlines()
    n, line = next((i, text) for i, text in enumerate(lines, start=1) if text.endswith(" 7.5 999999999999999"))
    reason = read_hourly(duckdb.connect(), path, True, None, NOW)
    assert reason == f"1 line(s) outside the strict sample grammar, the first is line {n}: {line!r}"
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        with pytest.raises(InputError, match=r"far\.om: a sample of container_cpu_usage_seconds_total has "
                                             r"timestamp 999999999999999\.0 s, beyond the year 294247"):
            ingest_metrics_file(ctx, path)
        assert ctx.db.execute("SELECT count(*) FROM nodes").fetchone()[0] == 0
    finally:
        ctx.close()


def test_the_parsers_error_quotes_the_first_line_the_fast_path_refused(tmp_path):
    text = good()
    cut = text.index("\n", text.index("kube_pod_info")) + 1 + len("kube_po")   # a line cut after 7 characters
    path = tmp_path / "cut.om.gz"
    path.write_bytes(gzip.compress(text[:cut].encode()))
    n = text[:cut].count("\n") + 1                                              # the cut line's number
    ctx = Context.open(tmp_path / "w.duckdb", Settings())
    try:
        with pytest.raises(InputError) as caught:
            ingest_metrics_file(ctx, path)
    finally:
        ctx.close()
    assert f"1 line(s) outside the strict sample grammar, the first is line {n}: 'kube_po'" in str(caught.value)


def test_a_series_broken_in_two_names_the_line_where_it_comes_back(tmp_path):
    lines = openmetrics_world.write(tmp_path / "world.om").read_text().splitlines(keepends=True)
    # the middle sample of a series with three or more: its label text broken, so the series
    # runs before it and comes back on the next line
    middle = next(i for i in range(1, len(lines) - 1) if lines[i - 1].split(" ")[0] == lines[i].split(" ")[0]
                  == lines[i + 1].split(" ")[0] and 'namespace="' in lines[i])
    lines[middle] = lines[middle].replace('namespace="', "namespace=", 1).replace('",pod=', ",pod=", 1)
    path = tmp_path / "broken.om"
    path.write_text("".join(lines))
    series = lines[middle + 1].split(" ")[0]
    reason = read_hourly(duckdb.connect(), path, True, None, NOW)
    shown = series if len(series) <= 120 else series[:117] + "..."
    assert reason == f"a series' samples are not consecutive lines, the first is line {middle + 2}: {shown!r}"
