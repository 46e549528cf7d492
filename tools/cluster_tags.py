"""Which cluster a billing row belongs to, read from its tags (one rule for every reader)."""

from __future__ import annotations

CLUSTER_TAG_KEYS = (
    "eks:cluster-name",
    "aws:eks:cluster-name",
    "goog-k8s-cluster-name",
    "aks-managed-cluster-name",
    "kubernetes_cluster",
)
CLUSTER_KEY_PREFIX = "kubernetes.io/cluster/"


def cluster_from_tags_sql(tags: str = "tags") -> str:
    """SQL naming the cluster a row's tags carry (an empty value counts as none), else NULL.

    The value tags come first in CLUSTER_TAG_KEYS order; then the key form
    ``kubernetes.io/cluster/<name>`` that EKS puts on the resources it owns.
    """
    direct = ", ".join(f"nullif({tags}['{key}'], '')" for key in CLUSTER_TAG_KEYS)
    prefixed = (
        f"substr(list_filter(map_keys({tags}), lambda k: starts_with(k, '{CLUSTER_KEY_PREFIX}'))[1], "
        f"{len(CLUSTER_KEY_PREFIX) + 1})"
    )
    return f"coalesce({direct}, {prefixed})"
