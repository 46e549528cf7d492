"""job_retry_loop: failures, backoffLimit, pods created and the cost of the failed attempts."""

from datetime import timedelta

import pytest

from tests.tools.detectors.world import HOURS, START, alloc, insert, node, pod, run


def retry_world(ctx, failed, succeeded, active, pods=True, priced=True):
    node(ctx, "n1", "spot")
    insert(ctx, "job_runs", cluster="c1", namespace="data", job="backfill", created_at=START - timedelta(days=5),
           start_time=START - timedelta(days=5), succeeded=succeeded, failed=failed, active=active,
           backoff_limit=1000, parallelism=1, completions=1)
    if pods:  # one attempt per hour, each a new pod of the Job
        for i, h in enumerate(HOURS):
            pod(ctx, f"backfill-{i}", namespace="data", kind="Job", workload="backfill", hours=[h],
                owner_kind="Job", owner_name="backfill", phase="Failed" if i < len(HOURS) - 1 else "Running")
    if priced:
        alloc(ctx, namespace="data", kind="Job", workload="backfill", pool="spot", cpu_cost=0.08, memory_cost=0.02,
              cpu_hours=1.0, mem_gib_hours=1.0, pod_hours=1.0)
    else:
        alloc(ctx, namespace="other", kind="Deployment", workload="x", cpu_cost=0.01, pod_hours=1.0)


def test_endless_retries_are_priced_from_the_failed_pods(ctx):
    retry_world(ctx, failed=335, succeeded=0, active=1)
    (f,), _ = run(ctx, "job_retry_loop")
    assert (f.object.kind, f.object.name) == ("Job", "backfill")
    assert f.evidence.figures["pods_created"] == 336 and f.evidence.figures["backoff_limit"] == 1000
    # 336 pod-hours x $0.10 = $33.60, failed share 335/336 -> $33.50 over 336 h, x 730
    assert f.evidence.figures["cost_of_failed_attempts"] == pytest.approx(33.5)
    assert f.monthly_savings == pytest.approx(round(33.5 / 336 * 730, 2))
    assert {c.field for c in f.changes} == {"spec.backoffLimit", "spec.suspend"}


def test_a_job_that_succeeded_is_not_a_retry_loop(ctx):
    retry_world(ctx, failed=2, succeeded=1, active=0)
    assert run(ctx, "job_retry_loop")[0] == []


def test_failures_without_allocated_cost_are_reported_unpriced(ctx):
    retry_world(ctx, failed=40, succeeded=0, active=1, priced=False)
    (f,), _ = run(ctx, "job_retry_loop")
    assert f.monthly_savings is None
    assert "allocated cost of the Job's pods" in f.lacked


def test_cronjob_runs_failing_every_time_are_one_finding_on_the_cronjob(ctx):
    node(ctx, "n1", "general")
    alloc(ctx, namespace="data", kind="CronJob", workload="sync", cpu_cost=0.05, cpu_hours=1.0, pod_hours=1.0)
    for i in range(3):
        t = START + timedelta(days=i + 1)
        insert(ctx, "job_runs", cluster="c1", namespace="data", job=f"sync-{i}", cronjob="sync", created_at=t,
               start_time=t, completion_time=t + timedelta(minutes=5), succeeded=0, failed=3, active=0,
               backoff_limit=2)
    (f,), _ = run(ctx, "job_retry_loop")
    assert (f.object.kind, f.object.name, f.evidence.figures["failed"]) == ("CronJob", "sync", 9)


def test_the_failure_threshold_and_one_success_among_a_cronjobs_runs(ctx):
    from tools.detectors.thresholds import DetectorSettings

    least = DetectorSettings().job_min_failures
    node(ctx, "n1", "general")
    for cronjob, fails, successes in (("at-threshold", [least - 1, 1], [0, 0]),
                                      ("below", [least - 2, 1], [0, 0]),
                                      ("once-ok", [least, 1], [0, 1])):
        alloc(ctx, namespace="data", kind="CronJob", workload=cronjob, cpu_cost=0.05, cpu_hours=1.0, pod_hours=1.0)
        for i, (failed, succeeded) in enumerate(zip(fails, successes)):
            t = START + timedelta(days=i + 1)
            insert(ctx, "job_runs", cluster="c1", namespace="data", job=f"{cronjob}-{i}", cronjob=cronjob,
                   created_at=t, start_time=t, completion_time=t + timedelta(minutes=5), succeeded=succeeded,
                   failed=failed, active=0, backoff_limit=2)
    findings, _ = run(ctx, "job_retry_loop")
    assert [(f.object.name, f.evidence.figures["failed"]) for f in findings] == [("at-threshold", least)]
