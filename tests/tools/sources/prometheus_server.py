"""A real Prometheus for tests: history loaded with promtool, served on a free loopback port.

Needs the Debian ``prometheus`` package (``prometheus`` and ``promtool`` on PATH), which
``./setup.sh --test`` installs.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusServer:
    """``promtool tsdb create-blocks-from openmetrics FILE DATA`` then ``prometheus`` on DATA."""

    def __init__(self, openmetrics: Path, workdir: Path, extra_args: tuple[str, ...] = ()):
        for tool in ("prometheus", "promtool"):
            if shutil.which(tool) is None:
                pytest.fail(f"{tool} not found: install the Debian package `prometheus` (./setup.sh --test)")
        self.openmetrics = openmetrics
        self.workdir = workdir
        self.data = workdir / "tsdb"
        self.extra_args = extra_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "PrometheusServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(self.openmetrics), str(self.data)],
            check=True, capture_output=True, text=True,
        )
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        self.log = (self.workdir / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=100y",
             *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: "
                                   f"{(self.workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("prometheus did not become ready within 60s")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
