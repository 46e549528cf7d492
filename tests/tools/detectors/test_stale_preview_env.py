"""stale_preview_env: preview/PR namespaces older than the TTL with no recent deploy."""

from datetime import datetime

import pytest

from tests.tools.detectors.world import alloc, insert, run


def preview(ctx, ns, created, deploy=None, deleted=None):
    insert(ctx, "namespaces", cluster="c1", namespace=ns, labels={}, created_at=created, deleted_at=deleted)
    insert(ctx, "workloads", cluster="c1", namespace=ns, kind="Deployment", name="app", created_at=created)
    if deploy:
        insert(ctx, "k8s_objects", cluster="c1", kind="ReplicaSet", namespace=ns, name="app-7d9f", created_at=deploy,
               raw="{}", snapshot_at=deploy)
    alloc(ctx, namespace=ns, workload="app", cpu_cost=0.02, memory_cost=0.01, cpu_hours=0.5, pod_hours=1.0)


def test_weeks_old_preview_namespace_is_stale(ctx):
    preview(ctx, "pr-1234", datetime(2026, 10, 20))
    (f,), _ = run(ctx, "stale_preview_env")
    assert (f.object.kind, f.object.name) == ("Namespace", "pr-1234")
    assert f.evidence.figures["age_days"] == 26.0  # 2026-10-20 .. 2026-11-15 (data end)
    assert f.monthly_savings == pytest.approx(0.03 * 730)  # $0.03 an hour x 730


def test_recent_deploy_keeps_a_preview_alive(ctx):
    preview(ctx, "pr-99", datetime(2026, 10, 20), deploy=datetime(2026, 11, 12))
    assert run(ctx, "stale_preview_env")[0] == []


def test_non_preview_namespaces_are_ignored(ctx):
    preview(ctx, "shop", datetime(2025, 1, 1))
    assert run(ctx, "stale_preview_env")[0] == []


def test_young_or_deleted_previews_are_not_flagged(ctx):
    preview(ctx, "preview-new", datetime(2026, 11, 10))
    preview(ctx, "preview-gone", datetime(2026, 10, 1), deleted=datetime(2026, 11, 3))
    assert run(ctx, "stale_preview_env")[0] == []


def test_ttl_comes_from_settings(ctx):
    ctx.settings.detectors.preview_ttl_days = 30
    preview(ctx, "pr-1234", datetime(2026, 10, 20))
    assert run(ctx, "stale_preview_env")[0] == []
