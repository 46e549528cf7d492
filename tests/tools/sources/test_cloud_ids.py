"""The bill-matching macros on the contract's own examples."""

from __future__ import annotations

import duckdb
import pytest

from tools.sources.cloud_ids import install_cloud_id_macros


@pytest.fixture
def con():
    connection = duckdb.connect()
    install_cloud_id_macros(connection)
    yield connection
    connection.close()


@pytest.mark.parametrize("provider_id, instance_id", [
    ("aws:///us-east-1a/i-0abc", "i-0abc"),
    ("gce://project/us-central1-a/GKE-Pool-1-Node", "gke-pool-1-node"),
    ("azure:///subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/VMSS/"
     "virtualMachines/3", "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/vmss"),
    ("azure:///subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/Vm-1",
     "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm-1"),
    ("kind://docker/kind/kind-control-plane", "kind-control-plane"),
    ("", None),
    (None, None),
])
def test_instance_id(con, provider_id, instance_id):
    assert con.execute("SELECT k8s_instance_id(?)", [provider_id]).fetchone()[0] == instance_id


@pytest.mark.parametrize("ref, volume_id", [
    ("vol-0abc", "vol-0abc"),
    ("aws://us-east-1a/vol-0def", "vol-0def"),
    ("projects/P/zones/Z/disks/NAME", "projects/p/zones/z/disks/name"),
    ("Old-PD", "old-pd"),
    ("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/disks/D1",
     "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/disks/d1"),
])
def test_volume_id(con, ref, volume_id):
    assert con.execute("SELECT k8s_volume_id(?)", [ref]).fetchone()[0] == volume_id


@pytest.mark.parametrize("ingress, lb_id", [
    ("a1b2c3-1234567890.us-east-1.elb.amazonaws.com", "a1b2c3"),
    ("internal-web-lb-99.eu-west-1.elb.amazonaws.com", "web-lb"),
    ("my-nlb-0123abcd.elb.us-east-1.amazonaws.com", "my-nlb"),
    ("34.120.1.2", "34.120.1.2"),
])
def test_lb_id(con, ingress, lb_id):
    assert con.execute("SELECT k8s_lb_id(?)", [ingress]).fetchone()[0] == lb_id


@pytest.mark.parametrize("labels, pool, capacity", [
    ({"eks.amazonaws.com/nodegroup": "ng", "eks.amazonaws.com/capacityType": "ON_DEMAND"}, "ng", "on-demand"),
    ({"karpenter.sh/nodepool": "kp", "karpenter.sh/capacity-type": "spot"}, "kp", "spot"),
    ({"cloud.google.com/gke-nodepool": "gp", "cloud.google.com/gke-preemptible": "true"}, "gp", "spot"),
    ({"kubernetes.azure.com/agentpool": "ap", "kubernetes.azure.com/scalesetpriority": "spot"}, "ap", "spot"),
    ({"agentpool": "legacy"}, "legacy", "on-demand"),
    ({"node.kubernetes.io/pool": "p"}, "p", "on-demand"),
    ({}, "default", "on-demand"),
])
def test_node_pool_and_capacity(con, labels, pool, capacity):
    got = con.execute("SELECT k8s_node_pool(?::MAP(VARCHAR, VARCHAR)), k8s_capacity_type(?::MAP(VARCHAR, VARCHAR))",
                      [labels, labels]).fetchone()
    assert got == (pool, capacity)
