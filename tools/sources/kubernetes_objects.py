"""Kubernetes state from plain JSON objects: ``ingest_objects``.

The snapshot path (``allot ingest kubernetes --snapshot DIR``) and the live path (kubeconfig)
both end here. Objects are normalised in Python once per object (``kubernetes_rows``), staged
as one Arrow table, and everything after that is SQL:

* ``k8s_objects`` keeps every object with its raw JSON. A snapshot is the full state of the
  kinds it contains: the cluster's stored objects of those kinds are replaced (a second
  snapshot never duplicates, and objects gone from the cluster leave ``k8s_objects``);
  kinds the snapshot does not contain are left alone.
* The typed tables (nodes, namespaces, owner_edges, workloads, pods, pod_volumes, pvcs, pvs,
  storage_classes, services, hpas, job_runs, events, clusters) are upserted by key: an object
  seen before is updated (the snapshot's values win), ``first_seen`` keeps its earliest value.
  Deleted objects stay in these tables: they are the history allocation and deploy history read.

Decisions:

* A snapshot is state, not history: it writes no ``node_hours``/``pod_hours``. One hour of
  requests cannot be reconciled against a bill that covers weeks, and rows derived from it
  would silently mix with (or be overwritten by) metric history for the same hour. When the
  cluster has no history yet, the report says so and names the commands that provide it.
* A pod whose ``spec.nodeName`` is neither in the snapshot nor already in ``nodes`` is kept
  (``pods.node`` names the node, so it is priced once the node is ingested) and reported as a
  warning and a ``pod_on_unknown_node`` caveat naming the pods and nodes.
* Secrets (and any kind not listed in :data:`KINDS`) are never stored: skipped with a warning.
* Namespaced objects without ``metadata.namespace`` (bare manifests) land in ``default``,
  as ``kubectl apply`` would put them.

Failure is all or nothing: an invalid object raises :class:`InputError` naming it and the
field, inside one transaction, so the warehouse is unchanged.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pyarrow as pa

from tools.context import Context
from tools.errors import InputError
from tools.sources.after_ingest import refresh_allocation
from tools.sources.cloud_ids import install_cloud_id_macros
from tools.sources.ingest_log import record_caveats, record_run
from tools.sources.kubernetes_rows import ROW_BUILDERS, describe, object_row
from tools.sources.kubernetes_state import write_state_tables
from tools.sources.report import IngestReport
from tools.warehouse import transaction

log = logging.getLogger(__name__)

KINDS = (
    "Node", "Pod", "Namespace", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
    "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Service", "HorizontalPodAutoscaler", "Event",
)

_MAP = pa.map_(pa.string(), pa.string())
_TS = pa.timestamp("us")
STAGING_SCHEMA = pa.schema([
    ("position", pa.int64()), ("kind", pa.string()), ("namespace", pa.string()), ("name", pa.string()),
    ("uid", pa.string()), ("created_at", _TS), ("labels", _MAP), ("annotations", _MAP),
    ("owner_kind", pa.string()), ("owner_name", pa.string()), ("raw", pa.string()),
    # Node
    ("provider_id", pa.string()), ("cpu_allocatable", pa.float64()), ("memory_allocatable", pa.float64()),
    ("gpu_allocatable", pa.float64()),
    # Pod
    ("node", pa.string()), ("phase", pa.string()), ("pvcs", pa.list_(pa.string())),
    # PVC / PV / StorageClass
    ("volume_name", pa.string()), ("storage_class", pa.string()), ("request_bytes", pa.float64()),
    ("volume_ref", pa.string()), ("capacity_bytes", pa.float64()), ("claim_namespace", pa.string()),
    ("claim_name", pa.string()), ("reclaim_policy", pa.string()), ("provisioner", pa.string()),
    ("parameters", _MAP), ("is_default", pa.bool_()),
    # Service / HPA
    ("type", pa.string()), ("lb_ingress", pa.string()), ("selector", _MAP), ("target_kind", pa.string()),
    ("target_name", pa.string()), ("min_replicas", pa.int64()), ("max_replicas", pa.int64()),
    ("metric_resources", pa.list_(pa.string())),
    # Job
    ("cronjob", pa.string()), ("start_time", _TS), ("completion_time", _TS), ("succeeded", pa.int64()),
    ("failed", pa.int64()), ("active", pa.int64()), ("parallelism", pa.int64()), ("completions", pa.int64()),
    ("backoff_limit", pa.int64()),
    # Event
    ("involved_kind", pa.string()), ("involved_name", pa.string()), ("reason", pa.string()),
    ("message", pa.string()), ("first_ts", _TS), ("last_ts", _TS), ("count", pa.int64()),
])


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _normalise(objects_by_kind: dict[str, list[dict]], report: IngestReport) -> list[dict]:
    """One staging row per object; raises InputError on the first invalid object."""
    rows: list[dict] = []
    for kind, objects in objects_by_kind.items():
        if kind not in KINDS:
            what = "Secrets are never stored" if kind == "Secret" else "not a kind allot reads"
            report.warnings.append(f"skipped {len(objects)} {kind} object(s): {what} (reads: {', '.join(KINDS)})")
            continue
        if not isinstance(objects, list):
            raise InputError(f"{kind}: expected a list of objects, got {type(objects).__name__}")
        builder = ROW_BUILDERS.get(kind)
        for index, obj in enumerate(objects):
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
                raise InputError(
                    f"{kind} item {index}: not a Kubernetes object (no `metadata` mapping); "
                    "pass the items of `kubectl get -o json` output"
                )
            if not obj["metadata"].get("name"):
                raise InputError(f"{kind} item {index}: metadata.name is missing; every object needs a name")
            if obj.get("kind") not in (None, kind):
                raise InputError(
                    f"{describe(kind, obj)}: filed under {kind} but its `kind` is {obj.get('kind')!r}; "
                    "key objects_by_kind by each object's kind"
                )
            row = object_row(kind, obj)
            if builder is not None:
                row.update(builder(obj))
            row["position"] = len(rows)
            row["raw"] = json.dumps(obj, separators=(",", ":"), sort_keys=True)
            rows.append(row)
    return rows


def ingest_objects(
    ctx: Context, cluster: str, objects_by_kind: dict[str, list[dict]], snapshot_at: datetime
) -> IngestReport:
    """Store Kubernetes objects of one cluster (``kubectl get -o json`` items, keyed by kind).

    Args:
        ctx: the warehouse context.
        cluster: the cluster's name as allocation and queries will call it.
        objects_by_kind: objects per API kind (Node, Pod, Namespace, ReplicaSet, Deployment,
            StatefulSet, DaemonSet, Job, CronJob, PersistentVolumeClaim, PersistentVolume,
            StorageClass, Service, HorizontalPodAutoscaler, Event). A kind present is the
            cluster's complete list of it (an empty list: none exist); leave out kinds that
            were not read.
        snapshot_at: when the objects were read (naive UTC or aware).

    Returns:
        An IngestReport with rows written per table, caveats and warnings.

    Raises:
        InputError: an object is malformed (named with the field and the fix); nothing is written.
    """
    if not cluster or not cluster.strip():
        raise InputError("no cluster name: pass --cluster NAME (the name allocation will report)")
    started = ctx.clock()
    snapshot_at = _naive_utc(snapshot_at)
    report = IngestReport(source="kubernetes", cluster=cluster)
    rows = _normalise(objects_by_kind, report)
    kinds = sorted({k for k in objects_by_kind if k in KINDS})
    staging = pa.Table.from_pylist(rows, schema=STAGING_SCHEMA)

    with transaction(ctx.db) as con:
        install_cloud_id_macros(con)
        con.register("_snap_arrow", staging)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _snap AS SELECT * FROM _snap_arrow
            QUALIFY row_number() OVER (PARTITION BY kind, namespace, name ORDER BY position DESC) = 1
        """)
        con.unregister("_snap_arrow")
        duplicates = len(rows) - con.execute("SELECT count(*) FROM _snap").fetchone()[0]
        if duplicates:
            report.warnings.append(f"{duplicates} object(s) appeared more than once; the last copy was kept")
        con.execute("DELETE FROM k8s_objects WHERE cluster = ? AND list_contains(?, kind)", [cluster, kinds])
        con.execute(
            """INSERT INTO k8s_objects SELECT ?, kind, namespace, name, uid, created_at, labels, annotations,
                   owner_kind, owner_name, raw::JSON, ? FROM _snap""",
            [cluster, snapshot_at],
        )
        report.rows["k8s_objects"] = len(rows) - duplicates
        report.rows.update(write_state_tables(con, cluster, snapshot_at))
        caveats = _unknown_node_caveat(con, cluster, report)
        if not con.execute("SELECT count(*) FROM pod_hours WHERE cluster = ?", [cluster]).fetchone()[0]:
            report.caveats.append(
                f"no usage history for cluster {cluster} yet: a snapshot fills state tables only; "
                "pod_hours and node_hours come from `allot ingest metrics FILE` or `allot ingest prometheus`"
            )
        record_caveats(con, cluster, "kubernetes", caveats, managed_codes=("pod_on_unknown_node",))
        con.execute("DROP TABLE _snap")
        record_run(con, report, started, ctx.clock())
    refresh_allocation(ctx)
    return report


def _unknown_node_caveat(con, cluster: str, report: IngestReport) -> dict[str, str]:
    unknown = con.execute(
        """SELECT namespace || '/' || name, node FROM _snap
           WHERE kind = 'Pod' AND node IS NOT NULL
             AND node NOT IN (SELECT node FROM nodes WHERE cluster = ?)
           ORDER BY 1""",
        [cluster],
    ).fetchall()
    if not unknown:
        return {}
    named = ", ".join(f"{pod} on node {node}" for pod, node in unknown[:10])
    more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
    message = (
        f"{len(unknown)} pod(s) run on nodes that are neither in this snapshot nor in the warehouse: "
        f"{named}{more}. The pods are kept (pods.node names the node) but cannot be priced until the "
        "node is ingested: add `kubectl get nodes -o json` to the snapshot"
    )
    report.warnings.append(message)
    return {"pod_on_unknown_node": message}
