"""cronjob_too_frequent: runs per day against the work per run; overlapping runs under Allow."""

from datetime import timedelta

import pytest

from tests.tools.detectors.world import HOURS, START, alloc, insert, insert_many, run


def cron_world(ctx, schedule, run_seconds=40, policy="Forbid", runs=None):
    insert_many(ctx, "workload_spec_hours", [
        dict(cluster="c1", hour=h, namespace="pay", kind="CronJob", name="warmer", field=f, value=v)
        for h in HOURS[-3:] for f, v in (("schedule", schedule), ("concurrency_policy", policy))])
    for i, (start, seconds) in enumerate(runs or [(START + timedelta(days=13, minutes=m), run_seconds)
                                                 for m in range(3)]):
        insert(ctx, "job_runs", cluster="c1", namespace="pay", job=f"warmer-{i}", cronjob="warmer",
               created_at=start, start_time=start, completion_time=start + timedelta(seconds=seconds),
               succeeded=1, failed=0, active=0, backoff_limit=2)
    alloc(ctx, namespace="pay", kind="CronJob", workload="warmer", cpu_cost=0.15, memory_cost=0.05,
          cpu_hours=3.0, mem_gib_hours=10.0, pod_hours=1.0)


def test_every_minute_cronjob_for_40s_of_work(ctx):
    cron_world(ctx, "* * * * *")
    (f,), _ = run(ctx, "cronjob_too_frequent")
    assert (f.object.kind, f.object.name) == ("CronJob", "warmer")
    assert f.evidence.figures["runs_per_day"] == 1440
    assert f.evidence.figures["avg_run_seconds"] == 40
    assert f.changes[0].field == "spec.schedule" and f.changes[0].recommended == "*/15 * * * *"
    # $0.20 an hour x (1 - 96 / 1440) x 730
    assert f.monthly_savings == pytest.approx(round(0.2 * (1 - 96 / 1440) * 730, 2))


@pytest.mark.parametrize("schedule", ["*/15 * * * *", "0 2 * * *", "@hourly"])
def test_sensible_schedules_are_not_flagged(ctx, schedule):
    cron_world(ctx, schedule)
    assert run(ctx, "cronjob_too_frequent")[0] == []


def test_long_runs_are_real_work_but_overlaps_under_allow_are_flagged(ctx):
    # every minute, each run lasts 10 minutes: not "little work", but 3 of 4 runs overlap the previous one
    base = START + timedelta(days=12)
    runs = [(base + timedelta(minutes=m), 600) for m in range(4)]
    cron_world(ctx, "* * * * *", policy="Allow", runs=runs)
    (f,), _ = run(ctx, "cronjob_too_frequent")
    assert [c.field for c in f.changes] == ["spec.concurrencyPolicy"]
    assert f.evidence.figures["overlapping_runs"] == 3
    assert f.monthly_savings == pytest.approx(0.2 * 0.75 * 730)


def test_same_overlaps_under_forbid_are_not_flagged(ctx):
    base = START + timedelta(days=12)
    cron_world(ctx, "* * * * *", policy="Forbid", runs=[(base + timedelta(minutes=m), 600) for m in range(4)])
    assert run(ctx, "cronjob_too_frequent")[0] == []
