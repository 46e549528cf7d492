"""OwnerChains: top controllers from owner_edges, fetched for the objects asked about."""

from __future__ import annotations

from tools.owner_chains import OwnerChains


def edge(ctx, kind, name, owner_kind, owner_name, namespace="shop", cluster="gke"):
    ctx.db.execute("INSERT INTO owner_edges VALUES (?, ?, ?, ?, ?, ?)",
                   [cluster, namespace, kind, name, owner_kind, owner_name])


def test_a_chain_is_followed_four_objects_deep(ctx):
    # ReplicaSet -> Deployment -> Rollout -> Application -> Project -> Org: four hops reach Project
    chain = [("ReplicaSet", "web-5d8f"), ("Deployment", "web"), ("Rollout", "web"), ("Application", "shop"),
             ("Project", "retail"), ("Org", "acme")]
    for (kind, name), (owner_kind, owner_name) in zip(chain, chain[1:]):
        edge(ctx, kind, name, owner_kind, owner_name)
    chains = OwnerChains(ctx, "gke")
    chains.load([("shop", "ReplicaSet", "web-5d8f"), ("shop", "Deployment", "web")])
    assert chains.top("shop", "ReplicaSet", "web-5d8f") == ("Project", "retail")
    assert chains.top("shop", "Deployment", "web") == ("Org", "acme")
    assert chains.top("shop", "Project", "retail") == ("Org", "acme")


def test_only_the_chains_asked_about_are_read(ctx):
    for i in range(50):
        edge(ctx, "Job", f"backup-{i}", "CronJob", "backup")
    edge(ctx, "ReplicaSet", "api-7c9", "Deployment", "api")
    edge(ctx, "ReplicaSet", "api-7c9", "Deployment", "other-cluster-api", cluster="eks")
    chains = OwnerChains(ctx, "gke")
    chains.load([("shop", "ReplicaSet", "api-7c9"), ("shop", "Job", "backup-3")])
    assert chains.edges == {("shop", "ReplicaSet", "api-7c9"): ("Deployment", "api"),
                            ("shop", "Job", "backup-3"): ("CronJob", "backup")}
    # nothing loaded for an object not asked about: it is its own top
    assert chains.top("shop", "Job", "backup-4") == ("Job", "backup-4")


def test_pods_are_their_own_top_and_edge_less_jobs_take_their_pods_workload(ctx):
    edge(ctx, "Pod", "api-7c9-x", "ReplicaSet", "api-7c9")
    edge(ctx, "ReplicaSet", "api-7c9", "Deployment", "api")
    for pod, job, kind, workload in (("eval-1-x", "eval-1", "Job", "eval-harness"),
                                     ("solo-x", "solo", "Job", "solo")):
        ctx.db.execute("INSERT INTO pods (cluster, namespace, pod, owner_kind, owner_name, workload_kind, "
                       "workload_name) VALUES ('gke', 'shop', ?, 'Job', ?, ?, ?)", [pod, job, kind, workload])
    # another cluster's pods say nothing of this cluster's Jobs
    ctx.db.execute("INSERT INTO pods (cluster, namespace, pod, owner_kind, owner_name, workload_kind, "
                   "workload_name) VALUES ('eks', 'shop', 'eval-2-x', 'Job', 'eval-2', 'Job', 'eval-harness')")
    chains = OwnerChains(ctx, "gke")
    chains.load([("shop", "Pod", "api-7c9-x"), ("shop", "Job", "eval-1"), ("shop", "Job", "solo"),
                 ("shop", "Job", "eval-2")])
    assert chains.top("shop", "Pod", "api-7c9-x") == ("Pod", "api-7c9-x")
    assert chains.top("shop", "Job", "eval-1") == ("Job", "eval-harness")
    assert chains.top("shop", "Job", "solo") == ("Job", "solo")
    assert chains.top("shop", "Job", "eval-2") == ("Job", "eval-2")
