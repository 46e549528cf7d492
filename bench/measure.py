"""Run one benchmark stage in its own process and read what the kernel says it cost.

Each stage is a fresh ``python -m bench.stage ...`` child, so its peak RSS is its own, and
``os.wait4`` returns the child's wall-independent CPU time (user + system) and max RSS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    output: str


class StageFailed(RuntimeError):
    pass


def run_stage(stage: str, args: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``python -m bench.stage STAGE ARGS`` and measure it."""
    cmd = [sys.executable, "-m", "bench.stage", stage, *args]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise StageFailed(f"stage {stage} failed (exit {proc.returncode}):\n{out[-4000:]}")
    # ru_maxrss is KiB on Linux.
    return Measurement(stage, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out)
