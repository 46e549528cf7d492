"""Attribution of billing rows: which cluster and what kind of thing each billed dollar pays for.

Fills ``billing_attribution`` (one row per cluster, hour, kind and resource) and the temporary
maps the allocation steps join on. Rules (the contracts in DESIGN.md and the working rules,
plus the decisions written here where they are silent):

* **Hourly spread.** A billing row's cost is spread over the hours its charge period
  ``[ChargePeriodStart, ChargePeriodEnd)`` overlaps, in proportion to the overlap (so a
  daily row gives 1/24 to each hour, a row for 10:30-11:00 all to 10:00). A row whose period
  is empty lands whole in the hour of its start.
* **Resource matching**, first match wins, on ``lower(ResourceId)``:
  1. node: equals ``nodes.instance_id`` or ends with ``'/' || instance_id`` (an Azure VMSS
     row maps to every node of the scale set) -> kind ``node``;
  2. volume: the same rule against ``pvs.volume_id`` -> kind ``volume``;
  3. load balancer: ``lower(ResourceId)`` or ``lower(ResourceName)`` contains
     ``services.lb_id`` -> kind ``load_balancer``;
  4. the cluster itself: ResourceId ends with ``/<cluster>`` after ``cluster/``,
     ``clusters/`` or ``managedclusters/`` (EKS ARN, GKE and AKS ids) -> a cluster-level row.
* **Cluster tags** (``eks:cluster-name``, ``aws:eks:cluster-name``,
  ``kubernetes.io/cluster/<name>``, ``goog-k8s-cluster-name``, ``aks-managed-cluster-name``,
  ``kubernetes_cluster``) tie an unmatched row to a cluster. A cluster-level row's kind comes
  from its service: ``control_plane`` (EKS / Kubernetes Engine / AKS service),
  ``observability`` (ServiceSubcategory Observability, CloudWatch, Cloud Logging/Monitoring,
  Log Analytics, Azure Monitor), ``network`` (ServiceCategory Networking, NAT gateways, data
  transfer) or ``other``.
* Everything else is ``external``: cluster ``''``, named by its ServiceName.

Both FOCUS cost columns are kept; allocation reads the one ``settings.allocation.cost_basis``
names (``effective`` = EffectiveCost, ``billed`` = BilledCost).
"""

from __future__ import annotations

import duckdb

from tools.cluster_tags import cluster_from_tags_sql

_TAG_CLUSTER = cluster_from_tags_sql()

_CONTROL_PLANE = """(
    service_name ILIKE '%Elastic Kubernetes Service%' OR service_name ILIKE 'Amazon EKS%'
    OR service_name ILIKE '%Kubernetes Engine%' OR service_name ILIKE '%Azure Kubernetes Service%'
    OR service_name ILIKE 'AKS%' OR service_name ILIKE 'GKE%')"""

_OBSERVABILITY = """(
    service_subcategory ILIKE 'Observability' OR service_name ILIKE '%CloudWatch%'
    OR service_name ILIKE '%Cloud Logging%' OR service_name ILIKE '%Cloud Monitoring%'
    OR service_name ILIKE '%Log Analytics%' OR service_name ILIKE '%Azure Monitor%'
    OR service_name ILIKE '%Stackdriver%')"""

_NETWORK = """(
    service_category ILIKE 'Networking' OR service_name ILIKE '%NAT Gateway%'
    OR service_name ILIKE '%Cloud NAT%' OR service_name ILIKE '%Data Transfer%'
    OR charge_description ILIKE '%NAT Gateway%' OR charge_description ILIKE '%NatGateway%'
    OR charge_description ILIKE '%Data Transfer%' OR charge_description ILIKE '%DataTransfer%')"""


def _suffix_match(left: str, right: str) -> str:
    """``left`` equals ``right`` or ends with ``'/' || right`` (portable: no LIKE wildcards)."""
    return (
        f"({left} = {right} OR (length({left}) > length({right}) "
        f"AND right({left}, length({right}) + 1) = '/' || {right}))"
    )


def build_resource_maps(con: duckdb.DuckDBPyConnection) -> None:
    """Temp maps from billed resources to nodes, volumes, Services and clusters."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _alloc_resources AS
        SELECT DISTINCT lower(coalesce(resource_id, '')) AS rid_l, lower(coalesce(resource_name, '')) AS rname_l
        FROM billing_rows
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_node_map AS
        SELECT DISTINCT r.rid_l, n.cluster, n.node
        FROM (SELECT DISTINCT rid_l FROM _alloc_resources WHERE rid_l <> '') r
        JOIN (SELECT cluster, node, lower(instance_id) AS iid FROM nodes
              WHERE instance_id IS NOT NULL AND instance_id <> '') n
          ON {_suffix_match('r.rid_l', 'n.iid')}
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_pv_map AS
        SELECT DISTINCT r.rid_l, p.cluster, p.pv
        FROM (SELECT DISTINCT rid_l FROM _alloc_resources WHERE rid_l <> '') r
        JOIN (SELECT cluster, pv, lower(volume_id) AS vid FROM pvs
              WHERE volume_id IS NOT NULL AND volume_id <> '') p
          ON {_suffix_match('r.rid_l', 'p.vid')}
        WHERE r.rid_l NOT IN (SELECT rid_l FROM _alloc_node_map)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _alloc_lb_map AS
        SELECT DISTINCT r.rid_l, r.rname_l, s.cluster, s.namespace, s.service
        FROM _alloc_resources r
        JOIN (SELECT cluster, namespace, service, lower(lb_id) AS lb FROM services
              WHERE lb_id IS NOT NULL AND lb_id <> '') s
          ON strpos(r.rid_l, s.lb) > 0 OR strpos(r.rname_l, s.lb) > 0
        WHERE r.rid_l NOT IN (SELECT rid_l FROM _alloc_node_map)
          AND r.rid_l NOT IN (SELECT rid_l FROM _alloc_pv_map)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _alloc_cluster_ids AS
        SELECT r.rid_l, min(c.cluster) AS cluster
        FROM (SELECT DISTINCT rid_l FROM _alloc_resources WHERE rid_l <> '') r
        JOIN (SELECT cluster FROM clusters UNION SELECT DISTINCT cluster FROM nodes) c
          ON r.rid_l LIKE '%cluster%' AND (
             right(r.rid_l, length(c.cluster) + 9) = 'cluster/' || lower(c.cluster)
             OR right(r.rid_l, length(c.cluster) + 10) = 'clusters/' || lower(c.cluster)
             OR right(r.rid_l, length(c.cluster) + 17) = 'managedclusters/' || lower(c.cluster))
        GROUP BY r.rid_l
        """
    )
    # One row per resource pair: its kind when matched to an object, and its cluster.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _alloc_targets AS
        SELECT r.rid_l, r.rname_l,
               CASE WHEN nm.cluster IS NOT NULL THEN 'node'
                    WHEN pm.cluster IS NOT NULL THEN 'volume'
                    WHEN lm.cluster IS NOT NULL THEN 'load_balancer' END AS kind,
               coalesce(nm.cluster, pm.cluster, lm.cluster, ci.cluster) AS cluster
        FROM _alloc_resources r
        LEFT JOIN (SELECT rid_l, min(cluster) AS cluster FROM _alloc_node_map GROUP BY rid_l) nm USING (rid_l)
        LEFT JOIN (SELECT rid_l, min(cluster) AS cluster FROM _alloc_pv_map GROUP BY rid_l) pm USING (rid_l)
        LEFT JOIN (SELECT rid_l, rname_l, min(cluster) AS cluster FROM _alloc_lb_map GROUP BY rid_l, rname_l) lm
               USING (rid_l, rname_l)
        LEFT JOIN _alloc_cluster_ids ci USING (rid_l)
        WHERE coalesce(nm.cluster, pm.cluster, lm.cluster, ci.cluster) IS NOT NULL
        """
    )


def build_billing_attribution(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute ``billing_attribution`` from ``billing_rows``; returns the rows written."""
    build_resource_maps(con)
    con.execute("DELETE FROM billing_attribution")
    return con.execute(
        f"""
        INSERT INTO billing_attribution
            (cluster, hour, kind, resource_id, resource_name, service_name, billed_cost, effective_cost)
        WITH classified AS (
            SELECT b.resource_id, b.resource_name, b.service_name,
                   b.charge_period_start AS ps, b.charge_period_end AS pe,
                   b.billed_cost, b.effective_cost,
                   coalesce(t.cluster, {_TAG_CLUSTER}, '') AS cluster,
                   CASE WHEN t.kind IS NOT NULL THEN t.kind
                        WHEN coalesce(t.cluster, {_TAG_CLUSTER}) IS NULL THEN 'external'
                        WHEN {_CONTROL_PLANE} THEN 'control_plane'
                        WHEN {_OBSERVABILITY} THEN 'observability'
                        WHEN {_NETWORK} THEN 'network'
                        ELSE 'other' END AS kind
            FROM billing_rows b
            LEFT JOIN _alloc_targets t
              ON t.rid_l = lower(coalesce(b.resource_id, '')) AND t.rname_l = lower(coalesce(b.resource_name, ''))
        ),
        hours AS (
            SELECT *, unnest(generate_series(
                       date_trunc('hour', ps),
                       CASE WHEN pe > ps THEN pe - INTERVAL 1 MICROSECOND ELSE ps END,
                       INTERVAL 1 HOUR)) AS hour
            FROM classified
        ),
        shared AS (
            SELECT *, CASE WHEN pe > ps THEN
                          (epoch(least(pe, hour + INTERVAL 1 HOUR)) - epoch(greatest(ps, hour)))
                          / (epoch(pe) - epoch(ps))
                      ELSE 1.0 END AS share
            FROM hours
        )
        SELECT cluster, hour, kind, resource_id, resource_name, service_name,
               sum(billed_cost * share), sum(effective_cost * share)
        FROM shared
        GROUP BY cluster, hour, kind, resource_id, resource_name, service_name
        """
    ).fetchall()[0][0]     # an INSERT returns the number of rows it wrote (fetchall: the result is closed)
