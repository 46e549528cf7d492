"""Pods and Job runs derived from workloads, as generators (bounded memory at any scale).

Every writer iterates the same generators, so the kubectl dump, the metrics file and the
ground truth agree on every pod's name, node and lifetime. Names follow Kubernetes'
conventions: ``<deployment>-<pod-template-hash>-<5 chars>``, ``<statefulset>-<ordinal>``,
``<cronjob>-<scheduled unix minutes>`` for Jobs, ``<job>-<5 chars>`` for their pods.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator

from tools.sources.demo.model import Container, Revision, World, Workload

SAFE = "bcdfghjklmnpqrstvwxz2456789"   # the alphabet Kubernetes uses for generated suffixes


def digest(*parts: object) -> bytes:
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).digest()


def suffix(length: int, *parts: object) -> str:
    raw = digest(*parts)
    return "".join(SAFE[b % len(SAFE)] for b in raw[:length])


def make_uid(*parts: object) -> str:
    return str(uuid.UUID(bytes=digest("uid", *parts)[:16], version=4))


def unix_minutes(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds() // 60)


@dataclass
class JobRun:
    namespace: str
    name: str
    cronjob: str | None
    start_h: int                   # hour of the job's creation
    end_h: int                     # exclusive: the hour after its last running hour
    created: datetime
    start_time: datetime
    completion_time: datetime | None
    parallelism: int
    completions: int | None
    backoff_limit: int
    succeeded: int                 # final counts
    failed: int
    active: int
    failed_before: int = 0         # failures before hour 0 (retry loops)
    parallelism_changes: list[tuple[int, int]] = field(default_factory=list)  # (hour, value)

    def failed_at(self, hour: int) -> int:
        """Failed pods counted by `hour` in a retry loop (one failed attempt an hour)."""
        return self.failed_before + max(0, hour - max(self.start_h, 0))

    def parallelism_at(self, hour: int) -> int:
        value = self.parallelism
        for start, p in self.parallelism_changes:
            if hour >= start:
                value = p
        return value


@dataclass
class PodRun:
    namespace: str
    name: str
    uid: str
    node: str
    start_h: int
    end_h: int                     # exclusive
    created: datetime
    owner_kind: str                # direct owner: ReplicaSet, StatefulSet, DaemonSet, Job, ''
    owner_name: str
    workload: Workload
    containers: list[Container]
    phase: str = "Running"         # phase at its end: Running (alive), Succeeded, Failed
    job: JobRun | None = None
    revision: Revision | None = None
    pvcs: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.workload.cluster}/{self.namespace}/{self.name}"


def rs_name(w: Workload, rev: Revision) -> str:
    return f"{w.name}-{suffix(10, w.cluster, w.namespace, w.name, rev.number, rev.image_tag)}"


def revisions(w: Workload) -> list[Revision]:
    return w.revisions or [Revision(hour=w.start_h, number=1, image_tag="v1", created=w.created)]


def _pod_labels(w: Workload, extra: dict[str, str]) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": w.name}
    labels.update(w.labels)
    labels.update(extra)
    return labels


def iter_pods(world: World, w: Workload, hours: int) -> Iterator[PodRun]:
    """Every pod of `w` that runs in at least one hour of ``[0, hours)``."""
    spec = world.spec
    if w.kind == "Deployment":
        revs = revisions(w)
        for i, rev in enumerate(revs):
            begin = max(rev.hour, w.start_h)
            end = min(revs[i + 1].hour if i + 1 < len(revs) else w.end_h, w.end_h, hours)
            if end <= max(begin, 0):
                continue
            rs = rs_name(w, rev)
            for r in range(w.replicas):
                name = f"{rs}-{suffix(5, w.cluster, rs, r)}"
                yield PodRun(w.namespace, name, make_uid(w.cluster, w.namespace, name), w.nodes[r % len(w.nodes)],
                             begin, end, spec.at(begin) if begin >= 0 else rev.created, "ReplicaSet", rs, w,
                             w.containers, revision=rev,
                             labels=_pod_labels(w, {"pod-template-hash": rs.rsplit("-", 1)[1]}))
    elif w.kind == "StatefulSet":
        end = min(w.end_h, hours)
        for r in range(w.replicas):
            name = f"{w.name}-{r}"
            yield PodRun(w.namespace, name, make_uid(w.cluster, w.namespace, name), w.nodes[r % len(w.nodes)],
                         w.start_h, end, w.created, "StatefulSet", w.name, w, w.containers,
                         pvcs=[f"{c}-{w.name}-{r}" for c in w.volume_claims],
                         labels=_pod_labels(w, {"statefulset.kubernetes.io/pod-name": name}))
    elif w.kind == "DaemonSet":
        pools = w.pool if isinstance(w.pool, list) else [w.pool]
        for node in world.nodes:
            if node.cluster != w.cluster or ("*" not in pools and node.pool not in pools):
                continue
            begin, end = max(node.start_h, w.start_h), min(node.end_h, w.end_h, hours)
            if end <= max(begin, 0):
                continue
            name = f"{w.name}-{suffix(5, w.cluster, w.name, node.name)}"
            created = node.created if node.start_h >= w.start_h else w.created
            yield PodRun(w.namespace, name, make_uid(w.cluster, w.namespace, name), node.name, begin, end,
                         created, "DaemonSet", w.name, w, w.containers, labels=_pod_labels(w, {}))
    else:
        for job in iter_jobs(world, w, hours):
            yield from _job_pods(world, w, job, hours)


def iter_jobs(world: World, w: Workload, hours: int) -> Iterator[JobRun]:
    """Every Job of a CronJob or Job workload that runs in ``[0, hours)``, oldest first."""
    spec, plan = world.spec, w.job
    assert plan is not None
    if w.special == "every_minute":
        for h in range(max(0, w.start_h), min(hours, w.end_h)):
            scheduled = spec.at(h) + timedelta(minutes=30)
            name = f"{w.name}-{unix_minutes(scheduled)}"
            yield JobRun(w.namespace, name, w.name, h, h + 1, scheduled, scheduled,
                         scheduled + timedelta(seconds=plan.run_seconds), 1, 1, plan.backoff_limit, 1, 0, 0)
        return
    if w.kind == "Job":
        start = w.start_h
        end = min(w.end_h, hours)
        begin_at = spec.at(start)
        if w.special == "retry_loop":
            failed = end - max(start, 0)
            yield JobRun(w.namespace, w.name, None, start, end, begin_at, begin_at, None, 1, 1,
                         plan.backoff_limit, 0, -start + failed if start < 0 else failed, 1,
                         failed_before=max(0, -start))
            return
        changes = list(plan.parallelism_changes)
        succeeded = _shards_done(w, end)
        yield JobRun(w.namespace, w.name, None, start, end, begin_at, begin_at, None, plan.parallelism,
                     plan.completions, plan.backoff_limit, succeeded, 0,
                     _parallelism(plan.parallelism, changes, end - 1), parallelism_changes=changes)
        return
    period, first = plan.period_h, w.start_h
    s = first + ((plan.offset_h - first) % period)
    while s < min(hours, w.end_h):
        if s + plan.duration_h > 0:
            scheduled = spec.at(s)
            name = f"{w.name}-{unix_minutes(scheduled)}"
            done = s + plan.duration_h <= hours
            completion = scheduled + timedelta(seconds=plan.run_seconds) if done else None
            yield JobRun(w.namespace, name, w.name, s, s + plan.duration_h, scheduled, scheduled, completion,
                         plan.parallelism, plan.completions, plan.backoff_limit,
                         plan.parallelism if done else 0, 0, 0 if done else plan.parallelism)
        s += period


def _parallelism(base: int, changes: list[tuple[int, int]], hour: int) -> int:
    value = base
    for start, p in changes:
        if hour >= start:
            value = p
    return value


SHARD_HOURS = 12


def _shards_done(w: Workload, end: int) -> int:
    """Completed 12-hour shards of a long-running parallel Job up to `end` (slot-aligned)."""
    total = 0
    for slot in range(len(w.nodes)):
        begin = _slot_start(w, slot)
        if begin is None or begin >= end:
            continue
        total += max(0, (end - begin) // SHARD_HOURS)
    return total


def _slot_start(w: Workload, slot: int) -> int | None:
    plan = w.job
    base = plan.parallelism
    if slot < base:
        return w.start_h
    for start, p in plan.parallelism_changes:
        if slot < p:
            return start
    return None


def _job_pods(world: World, w: Workload, job: JobRun, hours: int) -> Iterator[PodRun]:
    spec, plan = world.spec, w.job
    labels = {"job-name": job.name, "batch.kubernetes.io/job-name": job.name}
    if job.cronjob:
        labels["cronjob"] = job.cronjob
    if w.special == "retry_loop":
        for h in range(max(job.start_h, 0), job.end_h):
            name = f"{job.name}-{suffix(5, w.cluster, job.name, h)}"
            phase = "Running" if h == job.end_h - 1 and job.end_h >= hours else "Failed"
            yield PodRun(w.namespace, name, make_uid(w.cluster, w.namespace, name), w.nodes[0], h, h + 1,
                         spec.at(h), "Job", job.name, w, w.containers, phase=phase, job=job,
                         labels=_pod_labels(w, labels))
        return
    if w.kind == "Job":   # long-running parallel Job: slot i runs back-to-back 12h shards on node i
        for slot in range(len(w.nodes)):
            begin = _slot_start(w, slot)
            if begin is None:
                continue
            shard_start = begin
            while shard_start < min(hours, job.end_h):
                shard_end = shard_start + SHARD_HOURS
                if shard_end > 0:
                    name = f"{job.name}-{suffix(5, w.cluster, job.name, slot, shard_start)}"
                    end = min(shard_end, hours)
                    yield PodRun(w.namespace, name, make_uid(w.cluster, w.namespace, name), w.nodes[slot],
                                 shard_start, end, spec.at(shard_start), "Job", job.name, w, w.containers,
                                 phase="Succeeded" if shard_end <= hours else "Running", job=job,
                                 labels=_pod_labels(w, labels))
                shard_start = shard_end
        return
    lane = (job.start_h // max(plan.period_h, 1)) % max(len(w.nodes), 1)
    for p in range(job.parallelism):
        name = f"{job.name}-{suffix(5, w.cluster, job.name, p)}"
        node = w.nodes[(lane + p) % len(w.nodes)]
        end = min(job.end_h, hours)
        yield PodRun(w.namespace, name, make_uid(w.cluster, w.namespace, name), node, job.start_h, end,
                     job.created, "Job", job.name, w, w.containers,
                     phase="Succeeded" if job.completion_time else "Running", job=job,
                     labels=_pod_labels(w, labels))
