"""Merging staged rows into the Kubernetes state tables, and resolving pods to workloads.

Both the snapshot ingest and the history builder stage their rows in temp tables and merge
them here, set-based, so the two paths share one rule set:

* :func:`merge_rows` upserts a staging relation into a keyed table. Per column the caller
  says who wins: ``new`` (the staged value unless NULL, the default), ``old`` (the stored
  value unless NULL: history never overwrites what a snapshot knew), ``replace`` (the staged
  value, even NULL), ``least``/``greatest``
  (first_seen/last_seen) or ``labels_new``/``labels_old`` (maps merged key by key, the named
  side winning on conflicts).
* :func:`refresh_node_properties` recomputes node_pool/capacity_type/instance_type/region/zone
  and instance_id from the merged labels and providerID (``tools.sources.cloud_ids``).
* :func:`workload_select` is the SQL for DESIGN rule 8 (top controller of a pod).
"""

from __future__ import annotations

from typing import Literal

import duckdb

Rule = Literal["new", "old", "replace", "least", "greatest", "labels_new", "labels_old"]

_EXPR: dict[str, str] = {
    "new": "coalesce(s.{c}, t.{c})",
    "old": "coalesce(t.{c}, s.{c})",
    "replace": "s.{c}",
    "least": "least(s.{c}, t.{c})",
    "greatest": "greatest(s.{c}, t.{c})",
    "labels_new": "map_concat(coalesce(t.{c}, MAP {{}}), coalesce(s.{c}, MAP {{}}))",
    "labels_old": "map_concat(coalesce(s.{c}, MAP {{}}), coalesce(t.{c}, MAP {{}}))",
}


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()]


def merge_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    staging: str,
    keys: tuple[str, ...],
    rules: dict[str, Rule] | None = None,
) -> int:
    """Upsert ``staging`` (unique on ``keys``) into ``table``; returns the staged row count.

    Columns missing from ``staging`` keep their stored value (or NULL for new rows).
    """
    rules = rules or {}
    staged = set(_columns(con, staging))
    select = []
    for col in _columns(con, table):
        if col in keys:
            select.append(f"s.{col}")
        elif col in staged:
            select.append(_EXPR[rules.get(col, "new")].format(c=col) + f" AS {col}")
        else:
            select.append(f"t.{col}")
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    merged = f"_merged_{table}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {merged} AS SELECT {', '.join(select)} "
        f"FROM {staging} s LEFT JOIN {table} t ON {on}"
    )
    con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {staging} s WHERE {on})")
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {merged}")
    count = con.execute(f"SELECT count(*) FROM {merged}").fetchone()[0]
    con.execute(f"DROP TABLE {merged}")
    return count


def refresh_node_properties(con: duckdb.DuckDBPyConnection, cluster: str) -> None:
    """Derive the bill-matching node columns from each node's labels and providerID."""
    con.execute(
        """
        UPDATE nodes SET
            instance_id   = coalesce(k8s_instance_id(provider_id), instance_id),
            node_pool     = k8s_node_pool(coalesce(labels, MAP {})),
            capacity_type = k8s_capacity_type(coalesce(labels, MAP {})),
            instance_type = coalesce(k8s_instance_type(coalesce(labels, MAP {})), instance_type),
            region        = coalesce(k8s_region(coalesce(labels, MAP {}), provider_id), region),
            zone          = coalesce(k8s_zone(coalesce(labels, MAP {}), provider_id), zone)
        WHERE cluster = ?
        """,
        [cluster],
    )


def refresh_cluster_row(con: duckdb.DuckDBPyConnection, cluster: str) -> int:
    """Upsert ``clusters`` from the cluster's nodes: provider (providerID scheme), the most
    common region, and the account (GCP project, Azure subscription; AWS ids carry none)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _cluster_row AS
        SELECT ?::VARCHAR AS cluster,
               mode(CASE WHEN starts_with(lower(provider_id), 'aws://') THEN 'aws'
                         WHEN starts_with(lower(provider_id), 'gce://') THEN 'gcp'
                         WHEN starts_with(lower(provider_id), 'azure://') THEN 'azure' END) AS provider,
               mode(region) AS region,
               mode(coalesce(nullif(regexp_extract(provider_id, '^gce://([^/]+)/', 1), ''),
                             nullif(regexp_extract(lower(provider_id), '/subscriptions/([^/]+)/', 1), '')))
                   AS account_id
        FROM nodes WHERE cluster = ?
        """,
        [cluster, cluster],
    )
    count = merge_rows(con, "clusters", "_cluster_row", ("cluster",))
    con.execute("DROP TABLE _cluster_row")
    return count


def workload_select(pods: str, job_labels: str) -> str:
    """SQL adding ``workload_kind``/``workload_name`` to the rows of ``pods``.

    ``pods`` has ``cluster, namespace, pod, owner_kind, owner_name, labels``; ``job_labels``
    has ``cluster, namespace, job, labels``. Controllers above the direct owner come from
    ``owner_edges``. Rules (DESIGN rule 8):

    * no owner (or a Node: static/mirror pods) -> the Pod itself;
    * ReplicaSet -> its owner (a Deployment) from owner_edges; a ReplicaSet a snapshot shows
      without owner is its own workload; when neither is known, a Deployment named as the
      ReplicaSet minus its pod-template-hash (the pod's ``pod-template-hash`` label, else a
      trailing ``-[a-z0-9]{5,10}`` segment);
    * Job -> its CronJob; a Job without one is kind ``Job``, named by the Job's (else the
      pod's) ``workload_type`` or ``app.kubernetes.io/name`` label, else the Job's name;
    * StatefulSet, DaemonSet and any other controller -> itself.
    """
    strip_hash = (
        "CASE WHEN p.labels['pod-template-hash'] IS NOT NULL "
        "AND ends_with(p.owner_name, '-' || p.labels['pod-template-hash']) "
        "THEN left(p.owner_name, length(p.owner_name) - length(p.labels['pod-template-hash']) - 1) "
        "ELSE regexp_replace(p.owner_name, '-[a-z0-9]{5,10}$', '') END"
    )
    job_group = (
        "coalesce(nullif(jl.labels['workload_type'], ''), nullif(jl.labels['app.kubernetes.io/name'], ''), "
        "nullif(p.labels['workload_type'], ''), nullif(p.labels['app.kubernetes.io/name'], ''), p.owner_name)"
    )
    return f"""
        SELECT p.*,
            CASE
                WHEN coalesce(p.owner_kind, '') IN ('', '<none>', 'Node') THEN 'Pod'
                WHEN p.owner_kind = 'ReplicaSet' THEN
                    coalesce(rs.owner_kind, CASE WHEN bare.name IS NULL THEN 'Deployment' ELSE 'ReplicaSet' END)
                WHEN p.owner_kind = 'Job' THEN CASE WHEN jo.owner_kind = 'CronJob' THEN 'CronJob' ELSE 'Job' END
                ELSE p.owner_kind
            END AS workload_kind,
            CASE
                WHEN coalesce(p.owner_kind, '') IN ('', '<none>', 'Node') THEN p.pod
                WHEN p.owner_kind = 'ReplicaSet' THEN
                    coalesce(rs.owner_name, CASE WHEN bare.name IS NULL THEN {strip_hash} ELSE p.owner_name END)
                WHEN p.owner_kind = 'Job' THEN
                    CASE WHEN jo.owner_kind = 'CronJob' THEN jo.owner_name ELSE {job_group} END
                ELSE p.owner_name
            END AS workload_name
        FROM {pods} p
        LEFT JOIN owner_edges rs ON p.owner_kind = 'ReplicaSet' AND rs.cluster = p.cluster
            AND rs.namespace = p.namespace AND rs.kind = 'ReplicaSet' AND rs.name = p.owner_name
        LEFT JOIN k8s_objects bare ON p.owner_kind = 'ReplicaSet' AND bare.cluster = p.cluster
            AND bare.kind = 'ReplicaSet' AND bare.namespace = p.namespace AND bare.name = p.owner_name
            AND bare.owner_kind IS NULL
        LEFT JOIN owner_edges jo ON p.owner_kind = 'Job' AND jo.cluster = p.cluster
            AND jo.namespace = p.namespace AND jo.kind = 'Job' AND jo.name = p.owner_name
        LEFT JOIN {job_labels} jl ON p.owner_kind = 'Job' AND jl.cluster = p.cluster
            AND jl.namespace = p.namespace AND jl.job = p.owner_name
    """
