"""Cluster-level billed costs: volumes, load balancers, network, logging, control plane,
untraceable cluster cost and out-of-cluster services (DESIGN.md rules 5 and 6).

Each function returns a SELECT of parts (the columns of ``buckets.PART_COLUMNS``: keys and
cost columns, no quantities) from
``billing_attribution``; ``buckets.insert_parts`` adds them all up in one pass:

* **Volumes**: disk row -> PV (``pvs.volume_id``) -> its claim (``pvs.claim_*``, else the PVC
  bound to it) -> the workloads of the pods mounting that PVC in that hour, split by their
  running pod-hours. A disk with no claim, or whose claim no pod mounts in that hour, is
  ``__unowned_storage__`` (namespace of the claim when there is one). Cost in ``storage_cost``.
* **Load balancers**: row -> the Service(s) whose ``lb_id`` it carries (split evenly when
  several), workload kind ``Service``. Cost in ``network_cost``.
* **Network / NAT**: a cluster-hour's network rows split over the pods that sent bytes in
  that hour, by ``network_tx_bytes``; an hour with no measured bytes goes to
  ``__shared__:network``. Cost in ``network_cost``.
* **Logging / observability**: split over namespaces by ``namespace_log_hours.log_bytes``
  (workload kind ``Namespace``, workload name = the namespace); an hour with no measured log
  volume goes to ``__shared__:observability``. Cost in ``observability_cost``.
* **Control plane** -> ``__shared__:control-plane``; **other** cluster rows and node rows
  with no node data -> ``__unallocated__``; rows tied to no cluster -> bucket ``external``,
  cluster ``''``, workload name = ServiceName. Cost in ``other_cost``.

Parts land in the node pool ``''`` except node-derived unallocated cost (the node's pool).
"""

from __future__ import annotations

import duckdb

def _bill(kind: str, cost: str) -> str:
    """Per cluster-hour billed cost of one attribution kind."""
    return (
        f"SELECT cluster, hour, sum({cost}) AS cost FROM billing_attribution WHERE kind = '{kind}' "
        "GROUP BY cluster, hour"
    )


def volume_parts(con: duckdb.DuckDBPyConnection, cost: str) -> str:
    """Builds the mount and volume-cost temp tables; returns the volume parts' SELECT."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _alloc_mounts AS
        SELECT ph.cluster, ph.hour, ph.namespace, v.pvc, ph.workload_kind, ph.workload_name,
               sum(ph.fraction) AS w
        FROM pod_hours ph
        JOIN pod_volumes v ON v.cluster = ph.cluster AND v.namespace = ph.namespace AND v.pod = ph.pod
        GROUP BY ph.cluster, ph.hour, ph.namespace, v.pvc, ph.workload_kind, ph.workload_name
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_volume_cost AS
        WITH vb AS (
            SELECT cluster, hour, lower(coalesce(resource_id, '')) AS rid_l, sum({cost}) AS cost
            FROM billing_attribution WHERE kind = 'volume'
            GROUP BY cluster, hour, lower(coalesce(resource_id, ''))
        ),
        claims AS (
            SELECT m.rid_l, p.cluster, coalesce(p.claim_namespace, c.namespace) AS ns,
                   coalesce(p.claim_name, c.pvc) AS pvc
            FROM _alloc_pv_map m
            JOIN pvs p ON p.cluster = m.cluster AND p.pv = m.pv
            LEFT JOIN (SELECT cluster, volume_name, min(namespace) AS namespace, min(pvc) AS pvc
                       FROM pvcs WHERE volume_name IS NOT NULL GROUP BY cluster, volume_name) c
                   ON c.cluster = p.cluster AND c.volume_name = p.pv
        ),
        n AS (SELECT rid_l, cluster, count(*) AS n FROM claims GROUP BY rid_l, cluster)
        SELECT vb.cluster, vb.hour, c.ns, c.pvc, vb.cost / n.n AS cost
        FROM vb
        JOIN claims c ON c.rid_l = vb.rid_l AND c.cluster = vb.cluster
        JOIN n ON n.rid_l = vb.rid_l AND n.cluster = vb.cluster
        """
    )
    return f"""
        SELECT v.cluster, v.hour, NULL, m.namespace, m.workload_kind, m.workload_name, '', FALSE,
               0, 0, 0, v.cost * m.w / t.w, 0, 0, 0
        FROM _alloc_volume_cost v
        JOIN _alloc_mounts m ON m.cluster = v.cluster AND m.hour = v.hour AND m.namespace = v.ns AND m.pvc = v.pvc
        JOIN (SELECT cluster, hour, namespace, pvc, sum(w) AS w FROM _alloc_mounts
              GROUP BY cluster, hour, namespace, pvc) t
          ON t.cluster = v.cluster AND t.hour = v.hour AND t.namespace = v.ns AND t.pvc = v.pvc
        WHERE t.w > 0
        UNION ALL
        SELECT v.cluster, v.hour, 'unowned_storage', coalesce(v.ns, ''), '', '__unowned_storage__', '', FALSE,
               0, 0, 0, v.cost, 0, 0, 0
        FROM _alloc_volume_cost v
        WHERE NOT EXISTS (SELECT 1 FROM _alloc_mounts m
                          WHERE m.cluster = v.cluster AND m.hour = v.hour AND m.namespace = v.ns
                            AND m.pvc = v.pvc AND m.w > 0)
        """


def load_balancer_parts(cost: str) -> str:
    return f"""
        WITH lb AS (
            SELECT cluster, hour, lower(coalesce(resource_id, '')) AS rid_l,
                   lower(coalesce(resource_name, '')) AS rname_l, sum({cost}) AS cost
            FROM billing_attribution WHERE kind = 'load_balancer'
            GROUP BY cluster, hour, lower(coalesce(resource_id, '')), lower(coalesce(resource_name, ''))
        ),
        n AS (SELECT rid_l, rname_l, cluster, count(*) AS n FROM _alloc_lb_map GROUP BY rid_l, rname_l, cluster)
        SELECT lb.cluster, lb.hour, NULL, m.namespace, 'Service', m.service, '', FALSE,
               0, 0, 0, 0, lb.cost / n.n, 0, 0
        FROM lb
        JOIN _alloc_lb_map m ON m.rid_l = lb.rid_l AND m.rname_l = lb.rname_l AND m.cluster = lb.cluster
        JOIN n ON n.rid_l = lb.rid_l AND n.rname_l = lb.rname_l AND n.cluster = lb.cluster
        """


def network_parts(cost: str) -> str:
    """Network rows split over the pod rows of ``allocation_hours`` by bytes sent (one part per
    sending row; ``insert_parts`` adds up a workload's rows of the hour)."""
    return f"""
        WITH nb AS ({_bill('network', cost)}),
        senders AS (
            SELECT cluster, hour, bucket, namespace, workload_kind, workload_name, network_tx_bytes AS tx
            FROM allocation_hours WHERE network_tx_bytes > 0
        ),
        tx AS (SELECT cluster, hour, sum(tx) AS tx FROM senders GROUP BY cluster, hour)
        SELECT a.cluster, a.hour, CASE WHEN a.bucket = 'workload' THEN NULL ELSE a.bucket END,
               a.namespace, a.workload_kind, a.workload_name, '', FALSE,
               0, 0, 0, 0, nb.cost * a.tx / tx.tx, 0, 0
        FROM nb
        JOIN tx ON tx.cluster = nb.cluster AND tx.hour = nb.hour
        JOIN senders a ON a.cluster = nb.cluster AND a.hour = nb.hour
        UNION ALL
        SELECT nb.cluster, nb.hour, 'shared', '', '', '__shared__:network', '', FALSE,
               0, 0, 0, 0, nb.cost, 0, 0
        FROM nb
        WHERE NOT EXISTS (SELECT 1 FROM tx WHERE tx.cluster = nb.cluster AND tx.hour = nb.hour)
        """


def observability_parts(cost: str) -> str:
    return f"""
        WITH ob AS ({_bill('observability', cost)}),
        logs AS (SELECT cluster, hour, namespace, sum(log_bytes) AS b FROM namespace_log_hours
                 WHERE log_bytes > 0 GROUP BY cluster, hour, namespace),
        tot AS (SELECT cluster, hour, sum(b) AS b FROM logs GROUP BY cluster, hour)
        SELECT ob.cluster, ob.hour, NULL, l.namespace, 'Namespace', l.namespace, '', FALSE,
               0, 0, 0, 0, 0, ob.cost * l.b / tot.b, 0
        FROM ob
        JOIN tot ON tot.cluster = ob.cluster AND tot.hour = ob.hour
        JOIN logs l ON l.cluster = ob.cluster AND l.hour = ob.hour
        UNION ALL
        SELECT ob.cluster, ob.hour, 'shared', '', '', '__shared__:observability', '', FALSE,
               0, 0, 0, 0, 0, ob.cost, 0
        FROM ob
        WHERE NOT EXISTS (SELECT 1 FROM tot WHERE tot.cluster = ob.cluster AND tot.hour = ob.hour)
        """


def fixed_parts(cost: str) -> str:
    """Control plane, untraceable cluster cost, node rows without node data, external services."""
    return f"""
        SELECT cluster, hour, 'shared', '', '', '__shared__:control-plane', '', FALSE,
               0, 0, 0, 0, 0, 0, cost
        FROM ({_bill('control_plane', cost)})
        UNION ALL
        SELECT cluster, hour, 'unallocated', '', '', '__unallocated__', '', FALSE,
               0, 0, 0, 0, 0, 0, cost
        FROM ({_bill('other', cost)})
        UNION ALL
        SELECT cluster, hour, 'unallocated', '', '', '__unallocated__', node_pool, FALSE,
               0, 0, 0, 0, 0, 0, cost
        FROM _alloc_node_unallocated
        UNION ALL
        SELECT '', hour, 'external', '', '', coalesce(nullif(service_name, ''), 'unknown service'), '', FALSE,
               0, 0, 0, 0, 0, 0, sum({cost})
        FROM billing_attribution WHERE kind = 'external'
        GROUP BY hour, coalesce(nullif(service_name, ''), 'unknown service')
        """
