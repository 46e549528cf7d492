"""The demo's FOCUS files: every mandatory column, realistic rows, totals equal the ledger.

Totals are recomputed here with the csv module, independently of the generator's ledger.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import datetime, timedelta

CLUSTER_TAGS = ("eks:cluster-name", "aws:eks:cluster-name", "goog-k8s-cluster-name", "aks-managed-cluster-name")
K8S_SERVICES = {"Amazon Elastic Kubernetes Service", "Kubernetes Engine", "Azure Kubernetes Service"}


def _rows(world):
    for path in world.billing:
        with path.open(newline="") as fh:
            yield from ((path, row) for row in csv.DictReader(fh))


def _mandatory(shared_data) -> list[str]:
    with (shared_data / "focus" / "focus_columns_v1.0-1.2.csv").open(newline="") as fh:
        return [r["ColumnId"] for r in csv.DictReader(fh) if r["FeatureLevel_v1.2"] == "Mandatory"]


def test_every_mandatory_focus_column_is_present(demo_world, shared_data):
    mandatory = _mandatory(shared_data)
    assert len(mandatory) >= 20
    for path in demo_world.billing:
        with path.open(newline="") as fh:
            header = next(csv.reader(fh))
        assert not set(mandatory) - set(header), path.name
        if "azure" in path.name:
            assert {"ServiceProviderName", "HostProviderName"} <= set(header)   # FOCUS 1.3


def test_totals_equal_the_generators_ledger(demo_world):
    billed, effective = defaultdict(float), defaultdict(float)
    for path, row in _rows(demo_world):
        billed[path.name] += float(row["BilledCost"])
        effective[path.name] += float(row["EffectiveCost"])
    truth = demo_world.ground_truth
    assert abs(sum(billed.values()) - truth.billed_total) < 0.005
    assert abs(sum(effective.values()) - truth.effective_total) < 0.005
    per_file = {c.provider: c.billed_total for c in truth.clusters}
    for name, total in billed.items():
        provider = name.split("-")[1]
        external = sum(float(r["BilledCost"]) for p, r in _rows(demo_world)
                       if p.name == name and not _is_cluster_row(r))
        assert abs(total - external - per_file[provider]) < 0.005, name


def _is_cluster_row(row) -> bool:
    tags = json.loads(row["Tags"]) if row["Tags"] else {}
    return bool(set(tags) & set(CLUSTER_TAGS)) or any(k.startswith("kubernetes.io/") for k in tags)


def test_rows_look_like_each_providers_export(demo_world):
    services = defaultdict(set)
    credits, discounted, vmss_quantities = [], 0, set()
    for path, row in _rows(demo_world):
        provider = path.name.split("-")[1]
        services[provider].add(row["ServiceName"])
        start = datetime.fromisoformat(row["ChargePeriodStart"].rstrip("Z"))
        end = datetime.fromisoformat(row["ChargePeriodEnd"].rstrip("Z"))
        if row["ServiceCategory"] == "Compute" and row["ServiceName"] not in K8S_SERVICES:
            assert end - start == timedelta(hours=1)
            assert row["ResourceId"]
        if float(row["BilledCost"]) < 0:
            credits.append(row)
        if row["EffectiveCost"] != row["BilledCost"]:
            discounted += 1
            assert row["CommitmentDiscountType"] == "Savings Plan"
        if row["ResourceType"] == "Virtual machine scale set":
            vmss_quantities.add(int(row["ConsumedQuantity"]))
            assert "/virtualMachineScaleSets/aks-" in row["ResourceId"]
        if row["ServiceName"] in K8S_SERVICES:
            assert set(json.loads(row["Tags"])) & set(CLUSTER_TAGS)
    assert {"Amazon Elastic Compute Cloud", "Amazon Elastic Block Store", "Elastic Load Balancing",
            "Amazon Virtual Private Cloud", "Amazon CloudWatch", "Amazon Elastic Kubernetes Service",
            "Amazon Simple Storage Service", "Amazon Relational Database Service"} <= services["aws"]
    assert {"Compute Engine", "Kubernetes Engine", "Cloud Logging", "Cloud Load Balancing"} <= services["gcp"]
    assert {"Virtual Machines", "Storage", "Load Balancer", "Log Analytics", "Azure Kubernetes Service"} \
        <= services["azure"]
    assert len(credits) == 1 and credits[0]["ChargeCategory"] == "Credit"
    assert discounted > 0
    assert vmss_quantities == {2, 6}


def test_instances_on_the_bill_are_the_nodes_in_the_dumps(demo_world):
    resource_ids = {row["ResourceId"].lower() for _, row in _rows(demo_world)}
    for cluster, folder in demo_world.kubernetes.items():
        for node in json.loads((folder / "nodes.json").read_text())["items"]:
            pid = node["spec"]["providerID"]
            if pid.startswith("aws://"):
                assert pid.rsplit("/", 1)[1] in resource_ids
            elif pid.startswith("gce://"):
                assert any(r.endswith("/instances/" + pid.rsplit("/", 1)[1]) for r in resource_ids)
            else:
                vmss = pid.lower().split("/virtualmachines/")[0].removeprefix("azure://")
                assert vmss in resource_ids


def test_parquet_billing_ingests_to_the_same_totals(tmp_path, ctx):
    from tools.sources.after_ingest import allocation_deferred
    from tools.sources.demo.generate import generate_world
    from tools.sources.demo.spec import WorldSpec
    from tools.sources.focus import ingest_focus_files

    world = generate_world(tmp_path / "pq", WorldSpec(days=2, billing_format="parquet"))
    assert all(p.suffix == ".parquet" for p in world.billing)
    with allocation_deferred(ctx):
        ingest_focus_files(ctx, world.billing)
    billed, effective = ctx.db.execute("SELECT sum(billed_cost), sum(effective_cost) FROM billing_rows").fetchone()
    assert abs(billed - world.ground_truth.billed_total) < 0.005
    assert abs(effective - world.ground_truth.effective_total) < 0.005
