"""Deterministic hourly usage: CPU, memory, network, GPU activity, log and volume bytes.

Each series draws from its own ``random.Random`` seeded by the world seed and the series'
identity, so any writer (metrics file, ground truth) regenerates exactly the same values in
any order, without storing them.
"""

from __future__ import annotations

import math
import random
from typing import Iterator

from tools.sources.demo.model import GIB, Container, Namespace

HOURS_PER_WEEK = 168


def rng(seed: int, *key: object) -> random.Random:
    return random.Random(f"{seed}/" + "/".join(str(k) for k in key))


def _diurnal(hour: int) -> float:
    """+-10% daily wave peaking at 14:00 UTC."""
    return 1.0 + 0.1 * math.sin(2 * math.pi * ((hour % 24) - 8) / 24)


def cpu_cores(seed: int, pod_key: str, c: Container, first: int, last: int) -> Iterator[float]:
    """Average cores used in each hour of ``[first, last)``; at most 97% of the request when
    the container is meant to be right-sized (cpu_use <= 0.9)."""
    r = rng(seed, "cpu", pod_key, c.name)
    cap = c.cpu_request * 0.97 if c.cpu_use <= 0.9 else float("inf")
    for h in range(first, last):
        value = c.cpu_request * c.cpu_use * _diurnal(h) * (1 + c.noise * (2 * r.random() - 1))
        yield round(min(value, cap), 6)


def memory_bytes(seed: int, pod_key: str, c: Container, first: int, last: int) -> Iterator[float]:
    """Maximum working set in each hour; at most 97% of the request for right-sized containers."""
    r = rng(seed, "mem", pod_key, c.name)
    cap = c.memory_request * 0.97 if c.memory_use <= 0.9 else float("inf")
    for _ in range(first, last):
        value = c.memory_request * c.memory_use * (1 + c.noise / 2 * (2 * r.random() - 1))
        yield float(int(min(value, cap)))


def network_bytes(seed: int, pod_key: str, per_hour: float, first: int, last: int) -> Iterator[float]:
    r = rng(seed, "net", pod_key)
    for h in range(first, last):
        yield float(int(per_hour * _diurnal(h) * (0.7 + 0.6 * r.random())))


def log_bytes(seed: int, ns: Namespace, hour: int) -> float:
    """Bytes of logs a namespace ships in `hour`. The pattern repeats weekly (so a week's total
    only moves where a story says so), times the namespace's jump multiplier."""
    r = rng(seed, "log", ns.cluster, ns.name, hour % HOURS_PER_WEEK)
    value = ns.log_gib_per_day / 24 * GIB * (0.8 + 0.4 * r.random())
    if ns.log_jump and hour >= ns.log_jump[0]:
        value *= ns.log_jump[1]
    return float(int(value))


def weekly_unit(seed: int, *key: object) -> float:
    """A uniform draw that repeats every week for the same hour of the week (key holds it)."""
    return rng(seed, *key).random()
