"""History from hourly series: ``build_history`` fills the hourly and state tables.

Both history paths end here: the metrics-file ingest reduces raw samples to hourly series,
the Prometheus ingest asks Prometheus for the same reductions. The input is any DuckDB
relation (table or view) with the contract's columns
``(cluster, metric, labels MAP(VARCHAR, VARCHAR), hour, avg, max, min, last, samples)``, or the
same split in two: hours ``(series, hour, avg, ...)`` and a series relation ``(series, cluster,
metric, label_keys, label_values, has_hours)``, one row per series id with its labels as two
parallel lists and whether the hours hold a row for it (the metrics-file ingest: the run number
of the series in the file, and the label text as it splits it, so that no map is built for a
label the build does not keep; a series of NaN staleness markers alone has no hours). A single
relation's series are numbered here from its distinct ``(metric, labels)``. Either way the label
values the queries key on (namespace, pod, container, node, resource, phase, ...) are read once
per series, into the temp table ``_hser_all`` (every cluster's; the view ``_hser`` is the
cluster's), and the hourly rows join it on the integer id: no label is looked up per
series-hour, and a query filtered to one metric reads only that metric's series. A caller can
read that table itself first (:func:`read_series`), outside its transaction, and drop the label
lists before the build.

What happens, all in SQL and in one transaction:

1. state tables (``history_state``): nodes, owner_edges, pods (resolved to workloads, DESIGN
   rule 8), namespaces, workloads, pod_volumes, pvcs, pvs, hpas, job_runs, merged with what
   a snapshot already stored (its labels and fields win where history has less);
2. hourly facts (``history_facts``): pod_hours, container_hours, node_hours, volume_hours,
   node_gpu_hours, namespace_log_hours, workload_spec_hours. The cluster's rows for the hours
   the relation covers (its first to last hour) are replaced, table by table, when the
   relation holds that table's driver metric;
3. caveats, in the report and in ``data_caveats``: required catalogue metrics missing, series
   that cannot be attributed (no ``namespace``/``pod`` labels), GPU usage unknown (GPUs
   requested or allocatable but no DCGM series: ``gpu_util`` stays NULL, never 0), network
   and log volume unmeasured, pods on nodes the warehouse does not know (kept, named).

Workload resolution (``state_merge.workload_select``): owner edges from kube_pod_owner,
kube_replicaset_owner and kube_job_owner (and any snapshot); a ReplicaSet without a known
owner edge is taken as a Deployment named by stripping the pod-template-hash; a Job without a
CronJob is a ``Job`` workload named by its ``workload_type`` or ``app.kubernetes.io/name``
label, else its own name.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from tools.context import Context
from tools.errors import InputError
from tools.progress import ProgressCallback, no_progress
from tools.sources.after_ingest import refresh_allocation
from tools.sources.cloud_ids import install_cloud_id_macros
from tools.sources.history_facts import DCGM_ACTIVE, DCGM_UTIL, build_facts
from tools.sources.history_state import STATE_TEMP_TABLES, build_state, install_label_macro
from tools.sources.ingest_log import record_caveats, record_run
from tools.sources.metric_catalogue import CATALOGUE
from tools.sources.report import IngestReport
from tools.warehouse import transaction
from tools.warehouse.sql import literal, literal_list

log = logging.getLogger(__name__)

HOURLY_COLUMNS = ("cluster", "metric", "labels", "hour", "avg", "max", "min", "last", "samples")
# label values read once per series into ``_hser`` columns (the keys the builders group and join on)
SERIES_COLUMNS = ("namespace", "pod", "container", "image", "node", "resource", "phase", "uid", "created_by_kind",
                  "created_by_name", "owner_kind", "owner_name", "job_name")
SPLIT_HOUR_COLUMNS = ("series", "hour", "avg", "max", "min", "last", "samples")
SPLIT_SERIES_COLUMNS = ("series", "cluster", "metric", "label_keys", "label_values", "has_hours")
READ_SERIES_COLUMNS = ("series", "cluster", "metric", "labels", *SERIES_COLUMNS, "object_labels")
SERIES_TABLE = "_hser_all"   # what read_series writes: every cluster's series with hours, label values as columns
CAVEAT_CODES = ("missing_required_metrics", "unattributed_series", "no_dcgm", "no_dcgm_pod_labels",
                "no_network_metric", "no_log_metric", "pod_on_unknown_node")
_POD_LABELLED = tuple(m.name for m in CATALOGUE if "namespace" in m.labels and "pod" in m.labels)
_HELD = ("cluster", *SERIES_COLUMNS)   # label keys no ``_hser.labels`` map keeps (columns, or the cluster)
# metrics whose every label the build reads is held: their series keep no label map
COLUMN_ONLY = tuple(m.name for m in CATALOGUE if set(m.labels) <= set(_HELD))


def build_history(
    ctx: Context,
    cluster: str,
    relation_name: str,
    source: str = "metrics",
    refresh: bool = True,
    own_transaction: bool = True,
    series_relation: str | None = None,
    progress: ProgressCallback = no_progress,
) -> IngestReport:
    """Fill the hourly and state tables of ``cluster`` from an hourly-series relation.

    Args:
        ctx: the warehouse context.
        cluster: the cluster whose rows of ``relation_name`` are read.
        relation_name: a table or view with the hourly-series columns of the contract.
        source: what produced the series (``metrics``, ``prometheus``, ``demo``), for caveats.
        refresh: recompute the allocation afterwards (callers building several clusters
            pass False and refresh once).
        own_transaction: run in a transaction of its own (all or nothing). A caller that
            builds several clusters atomically opens one itself and passes False.
        series_relation: a relation ``(series, cluster, metric, label_keys, label_values,
            has_hours)``, one row per series (its labels as parallel lists, keys distinct;
            ``has_hours`` true when ``relation_name`` has a row for it), when the series are
            stored apart from their hours (the metrics-file fast path): ``relation_name`` then
            needs only ``series`` and the hourly values. Or the table :func:`read_series` made
            of such a relation (the caller then drops it).
        progress: ``(step, done, total)`` callback, told of each of the build's four steps.

    Returns:
        An IngestReport with rows per table and the caveats.

    Raises:
        InputError: the relation lacks a contract column or holds no series for ``cluster``.
    """
    con = ctx.db
    # a series table read by read_series has its label values as columns, no label lists
    series_read = bool(series_relation) and {"object_labels", "label_keys"} & _columns(con, series_relation) \
        == {"object_labels"}
    expected = ({relation_name: SPLIT_HOUR_COLUMNS,
                 series_relation: READ_SERIES_COLUMNS if series_read else SPLIT_SERIES_COLUMNS} if series_relation
                else {relation_name: HOURLY_COLUMNS})
    for name, needed in expected.items():
        missing = [c for c in needed if c not in _columns(con, name)]
        if missing:
            raise InputError(f"{name}: missing hourly-series column(s) {', '.join(missing)}; "
                             f"expected {', '.join(needed)}")
    started = ctx.clock()
    report = IngestReport(source=source, cluster=cluster)
    with transaction(con) if own_transaction else nullcontext(con):
        install_label_macro(con)
        rows = _hourly_view(con, relation_name, cluster, series_relation, series_read)
        first, last, n = con.execute(f"SELECT min(hour), max(hour), count(*) FROM {rows}").fetchone()
        if not n:
            raise InputError(f"{relation_name}: no series for cluster {cluster!r}; check the `cluster` label "
                             "or pass --cluster")
        present = {row[0] for row in con.execute("SELECT DISTINCT metric FROM _hser").fetchall()}
        progress(f"{cluster}: series read", 1, 4)
        install_cloud_id_macros(con)
        report.rows.update({t: n for t, n in build_state(con, cluster, last).items() if n})
        progress(f"{cluster}: pods, owners and workloads built", 2, 4)
        report.rows.update(build_facts(con, cluster, first, last, present))
        progress(f"{cluster}: hourly facts built", 3, 4)
        caveats = _caveats(con, cluster, present)
        report.caveats.extend(caveats.values())
        record_caveats(con, cluster, source, caveats, managed_codes=CAVEAT_CODES)
        for table in (*STATE_TEMP_TABLES, "_hc", "_hgpu", "_hph"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute("DROP VIEW _h")
        con.execute("DROP TABLE IF EXISTS _h_numbered")
        con.execute("DROP VIEW _hser")
        if not series_read:
            con.execute(f"DROP TABLE {SERIES_TABLE}")
        record_run(con, report, started, ctx.clock())
    progress(f"{cluster}: history written", 4, 4)
    log.info("history for %s: %s", cluster, report.rows)
    if refresh:
        refresh_allocation(ctx)
    return report


def read_series(con, series_relation: str) -> str:
    """Read the label values of every series with hours of a split series relation (all its
    clusters) into the table :data:`SERIES_TABLE`, which :func:`build_history` takes as its
    ``series_relation``; returns the table's name.

    Read before the build's transaction, this lets the caller drop the relation's label lists
    before the build: DuckDB frees a table dropped inside a transaction only at its commit, and
    the lists of a tier-M file's 5.5M series take 1.4 GB, more than the values read from them."""
    _read_series(con, f"SELECT series, cluster, metric, label_keys, label_values FROM {series_relation} "
                      "WHERE has_hours")
    return SERIES_TABLE


def _read_series(con, select: str) -> None:
    """:data:`SERIES_TABLE` from ``select`` ``(series, cluster, metric, label_keys, label_values)``.

    The label values the builders key on become columns, found by their key's position, and only
    what no column holds becomes a map. ``labels`` keeps not the keys of ``SERIES_COLUMNS`` nor
    ``cluster``, and for a ``kube_*_labels`` series no ``label_*`` key (``object_labels`` has
    them). The series of a :data:`COLUMN_ONLY` metric (the pods', containers' and Jobs', most of
    a file) get an empty map without building one: what their maps would hold (``unit``,
    ``interface``, ``owner_is_controller``) is read by no query, and building a map per series
    took 2.3 s of the table's 5.4-6.6 s on a tier-M file (5.49M series).

    ``metric`` and ``cluster`` are ENUMs of the values the series hold (a byte a series, not a
    string: 170 and 79 MiB of a tier-M file's table, whose 5.49M series name 51 metrics and one
    cluster); they compare with strings as strings do, a name no series holds matching none."""
    install_label_macro(con)
    metrics, clusters = con.execute(f"SELECT list(DISTINCT metric), list(DISTINCT cluster) FROM ({select})").fetchone()
    columns = ", ".join(f"label_values[list_position(label_keys, '{key}')] AS {key}" for key in SERIES_COLUMNS)
    held = literal_list(_HELD)
    rest = ("map_from_entries(list_filter(list_transform(list_zip(label_keys, label_values), "
            "lambda kv: struct_pack(key := kv[1], value := kv[2])), "
            f"lambda e: NOT list_contains({held}, e.key) AND NOT (ends_with(metric, '_labels') "
            "AND starts_with(e.key, 'label_'))))")
    column_only = ", ".join(map(literal, COLUMN_ONLY))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {SERIES_TABLE} AS
        SELECT series, {_enum("cluster", clusters)} AS cluster, {_enum("metric", metrics)} AS metric,
               CASE WHEN metric IN ({column_only}) THEN MAP {{}}::MAP(VARCHAR, VARCHAR) ELSE {rest} END AS labels,
               {columns},
               CASE WHEN ends_with(metric, '_labels') THEN ksm_labels(map(label_keys, label_values)) END
                   AS object_labels
        FROM ({select})""")


def _enum(column: str, values: list[str] | None) -> str:
    """``column`` cast to an ENUM of ``values`` (as it is when there are none)."""
    return f"{column}::ENUM({', '.join(map(literal, sorted(values)))})" if values else column


def _hourly_view(con, relation_name: str, cluster: str, series_relation: str | None, series_read: bool) -> str:
    """The view ``_hser``, one row per series of the cluster that has hours (its metric, labels
    and the label values the builders key on, read once per series: :func:`_read_series`), and
    the view ``_h`` every history query reads: the cluster's hourly rows joined to ``_hser`` on
    the integer series id.

    Returns a relation holding the same hourly rows as ``_h`` without its join, for what needs
    only their hours and count: the hours themselves when every series with hours is the
    cluster's (a file of one cluster; the join of its 38.7M hourly rows took 1.2-2.2 s on a tier-M
    file), else ``_h``."""
    if series_read:            # read by read_series before the build
        hours = relation_name
    elif series_relation:      # label lists: read here
        read_series(con, series_relation)
        hours = relation_name
    else:
        # one relation: number its series on their whole label map first
        where = f"WHERE cluster = {literal(cluster)}"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _h_series AS
            SELECT row_number() OVER () AS series, metric, labels
            FROM (SELECT DISTINCT metric, labels FROM {relation_name} {where})""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _h_numbered AS
            SELECT i.series, r.hour, r.avg, r.max, r.min, r.last, r.samples
            FROM (SELECT * FROM {relation_name} {where}) r
            JOIN _h_series i ON r.metric = i.metric AND r.labels IS NOT DISTINCT FROM i.labels""")
        _read_series(con, f"SELECT series, {literal(cluster)} AS cluster, metric, map_keys(labels) AS label_keys, "
                          "map_values(labels) AS label_values FROM _h_series")
        con.execute("DROP TABLE _h_series")
        hours = "_h_numbered"
    table = series_relation if series_read else SERIES_TABLE
    others = con.execute(f"SELECT count(*) FROM {table} WHERE cluster IS DISTINCT FROM ?", [cluster]).fetchone()[0]
    where = f"WHERE cluster = {literal(cluster)}" if others else ""
    con.execute(f"CREATE OR REPLACE TEMP VIEW _hser AS SELECT * EXCLUDE (cluster) FROM {table} {where}")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _h AS
        SELECT s.metric, s.labels, {", ".join(f"s.{key}" for key in SERIES_COLUMNS)}, s.object_labels,
               h.series, h.hour, h.avg, h.max, h.min, h.last, h.samples
        FROM {hours} h JOIN _hser s ON h.series = s.series""")
    return "_h" if others else hours   # the series table holds every series with hours


def _caveats(con, cluster: str, present: set[str]) -> dict[str, str]:
    caveats: dict[str, str] = {}
    required = [m.name for m in CATALOGUE if m.required and m.name not in present]
    if required:
        caveats["missing_required_metrics"] = (
            f"required series missing for cluster {cluster}: {', '.join(required)}; the tables they feed stay "
            "empty (no kube_pod_info: no pod_hours). Scrape kube-state-metrics and the kubelet's cAdvisor "
            "endpoint, or export them with the file"
        )
    unattributed = con.execute(
        """SELECT metric, count(*) FROM _hser
           WHERE list_contains(?, metric) AND (coalesce(namespace, '') = '' OR coalesce(pod, '') = '')
           GROUP BY 1 ORDER BY 1""", [list(_POD_LABELLED)]).fetchall()
    if unattributed:
        named = ", ".join(f"{n} {metric}" for metric, n in unattributed)
        caveats["unattributed_series"] = (
            f"series without namespace/pod labels cannot be attributed to a pod and were not used: {named}. "
            "cAdvisor labels them with namespace/pod/container only when scraped through the kubelet "
            "(/metrics/cadvisor); a standalone cAdvisor's id/name labels do not name pods"
        )
    gpus = con.execute(
        """SELECT (SELECT count(*) FROM pod_hours WHERE cluster = ? AND gpu_request > 0)
                + (SELECT count(*) FROM node_hours WHERE cluster = ? AND gpu_allocatable > 0)""",
        [cluster, cluster]).fetchone()[0]
    if gpus and not present.intersection((DCGM_ACTIVE, DCGM_UTIL)):
        caveats["no_dcgm"] = (
            f"GPU usage unknown for cluster {cluster}: GPUs are requested or allocatable but there are no DCGM "
            f"exporter series ({DCGM_ACTIVE} or {DCGM_UTIL}); pod_hours.gpu_util stays NULL (not 0)"
        )
    elif gpus and not con.execute(
            f"""SELECT count(*) FROM _h WHERE metric IN ('{DCGM_ACTIVE}', '{DCGM_UTIL}')
                AND coalesce(pod, labels['exported_pod'], '') <> ''""").fetchone()[0]:
        caveats["no_dcgm_pod_labels"] = (
            f"GPU usage per pod unknown for cluster {cluster}: DCGM series carry no pod/namespace labels "
            "(enable the exporter's Kubernetes pod mapping); node_gpu_hours is filled, pod_hours.gpu_util stays NULL"
        )
    if "container_network_transmit_bytes_total" not in present:
        caveats["no_network_metric"] = (
            f"network egress per pod unmeasured for cluster {cluster} (no container_network_transmit_bytes_total): "
            "pod_hours.network_tx_bytes stays NULL and network/NAT cost stays __shared__:network"
        )
    if "loki_distributor_bytes_received_total" not in present:
        caveats["no_log_metric"] = (
            f"log volume per namespace unmeasured for cluster {cluster} (no loki_distributor_bytes_received_total): "
            "logging cost stays __shared__:observability"
        )
    unknown = con.execute(
        """SELECT DISTINCT namespace || '/' || pod, node FROM _hph
           WHERE node NOT IN (SELECT node FROM nodes WHERE cluster = ?) ORDER BY 1""", [cluster]
    ).fetchall() if _exists(con, "_hph") else []
    if unknown:
        named = ", ".join(f"{pod} on node {node}" for pod, node in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        caveats["pod_on_unknown_node"] = (
            f"{len(unknown)} pod(s) ran on nodes with no kube_node_info/allocatable series and no snapshot: "
            f"{named}{more}. Their pod_hours are kept but cannot be priced until the node is known"
        )
    return caveats


def _columns(con, relation_name: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {relation_name}").fetchall()}


def _exists(con, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [table]).fetchone()[0])
