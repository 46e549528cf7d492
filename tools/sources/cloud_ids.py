"""How Kubernetes names the cloud resources the bill charges for, as SQL macros.

The snapshot ingest (``kubernetes_objects``) and the history builder (``history``) both turn
provider IDs, node labels, volume references and load-balancer hostnames into the ids the
bill carries. They do it with the same SQL macros, installed per connection by
:func:`install_cloud_id_macros`, so the two paths can never disagree and the work stays
set-based. The rules are the cross-cutting contracts:

* ``k8s_instance_id(provider_id)``: AWS ``aws:///us-east-1a/i-0abc`` -> ``i-0abc``; GCP
  ``gce://project/zone/name`` -> ``name`` (lowercase); Azure -> lowercase path from
  ``/subscriptions/`` up to the VMSS name (``/virtualMachines/N`` dropped), a standalone VM
  keeps its full path. Any other scheme (kind, minikube, bare metal) -> lowercase last segment.
* ``k8s_node_pool(labels)``, ``k8s_capacity_type(labels)``, ``k8s_instance_type(labels)``:
  the node label keys listed in the contracts, first present wins.
* ``k8s_zone(labels, provider_id)``, ``k8s_region(labels, provider_id)``: topology labels,
  else the zone inside an AWS/GCP providerID (region = zone minus its last letter/suffix).
* ``k8s_volume_id(ref)``: AWS ``vol-...``; GCP lowercase ``projects/P/zones/Z/disks/NAME``
  (a bare ``pdName`` stays ``name``); Azure lowercase ``/subscriptions/.../disks/NAME``.
* ``k8s_lb_id(ingress)``: ``NAME-123.region.elb.amazonaws.com`` -> ``name`` (first DNS label
  up to its last ``-``, ``internal-`` dropped); otherwise the IP or hostname, lowercase.
"""

from __future__ import annotations

import duckdb

NODE_POOL_KEYS = (
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "node.kubernetes.io/pool",
)
INSTANCE_TYPE_KEYS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
ZONE_KEYS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
REGION_KEYS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
CAPACITY_KEYS = (
    "eks.amazonaws.com/capacityType",
    "karpenter.sh/capacity-type",
    "cloud.google.com/gke-spot",
    "cloud.google.com/gke-preemptible",
    "kubernetes.azure.com/scalesetpriority",
)


def _first_label(keys: tuple[str, ...]) -> str:
    return "coalesce(" + ", ".join(f"nullif(labels['{k}'], '')" for k in keys) + ")"


MACROS = f"""
CREATE OR REPLACE TEMP MACRO k8s_instance_id(pid) AS CASE
    WHEN pid IS NULL OR trim(pid) = '' THEN NULL
    WHEN starts_with(lower(pid), 'aws://') THEN regexp_extract(trim(pid), '([^/]+)$', 1)
    WHEN starts_with(lower(pid), 'gce://') THEN lower(regexp_extract(trim(pid), '([^/]+)$', 1))
    WHEN starts_with(lower(pid), 'azure://') THEN regexp_replace(
        regexp_extract(lower(trim(pid)), '(/subscriptions/.*)$', 1),
        '(/virtualmachinescalesets/[^/]+)/virtualmachines/[^/]+$', '\\1')
    ELSE lower(regexp_extract(trim(pid), '([^/]+)$', 1))
END;

CREATE OR REPLACE TEMP MACRO k8s_node_pool(labels) AS
    coalesce({_first_label(NODE_POOL_KEYS)}, 'default');

CREATE OR REPLACE TEMP MACRO k8s_capacity_type(labels) AS CASE
    WHEN upper(labels['eks.amazonaws.com/capacityType']) = 'SPOT'
      OR lower(labels['karpenter.sh/capacity-type']) = 'spot'
      OR lower(labels['cloud.google.com/gke-spot']) = 'true'
      OR lower(labels['cloud.google.com/gke-preemptible']) = 'true'
      OR lower(labels['kubernetes.azure.com/scalesetpriority']) = 'spot'
    THEN 'spot' ELSE 'on-demand' END;

CREATE OR REPLACE TEMP MACRO k8s_instance_type(labels) AS {_first_label(INSTANCE_TYPE_KEYS)};

CREATE OR REPLACE TEMP MACRO k8s_zone(labels, pid) AS coalesce(
    {_first_label(ZONE_KEYS)},
    nullif(regexp_extract(pid, '^aws:///([^/]+)/', 1), ''),
    nullif(regexp_extract(pid, '^gce://[^/]+/([^/]+)/', 1), ''));

CREATE OR REPLACE TEMP MACRO k8s_region(labels, pid) AS coalesce(
    {_first_label(REGION_KEYS)},
    nullif(regexp_replace(regexp_extract(pid, '^aws:///([^/]+)/', 1), '[a-z]$', ''), ''),
    nullif(regexp_replace(regexp_extract(pid, '^gce://[^/]+/([^/]+)/', 1), '-[a-z]$', ''), ''));

CREATE OR REPLACE TEMP MACRO k8s_volume_id(ref) AS CASE
    WHEN ref IS NULL OR trim(ref) = '' THEN NULL
    WHEN regexp_matches(ref, 'vol-[0-9a-zA-Z]+') THEN regexp_extract(ref, '(vol-[0-9a-zA-Z]+)', 1)
    WHEN contains(lower(ref), '/subscriptions/') THEN regexp_extract(lower(ref), '(/subscriptions/.*)$', 1)
    WHEN contains(lower(ref), 'projects/') THEN regexp_extract(lower(ref), '(projects/.*)$', 1)
    ELSE lower(trim(ref))
END;

CREATE OR REPLACE TEMP MACRO k8s_lb_id(ingress) AS CASE
    WHEN ingress IS NULL OR trim(ingress) = '' THEN NULL
    WHEN lower(ingress) LIKE '%.elb.%amazonaws.com' OR lower(ingress) LIKE '%.elb.amazonaws.com' THEN
        regexp_replace(
            regexp_replace(split_part(lower(ingress), '.', 1), '-[^-]*$', ''),
            '^internal-', '')
    ELSE lower(trim(ingress))
END;
"""


def install_cloud_id_macros(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the ``k8s_*`` macros on this connection; cheap, call before using them."""
    con.execute(MACROS)
