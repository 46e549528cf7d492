"""Progress display for long ingests: a rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tools.sources.progress import ProgressCallback

log = logging.getLogger("allot.progress")


@contextmanager
def progress_reporter(title: str) -> Iterator[ProgressCallback]:
    """Yield a ``(step, done, total)`` callback for ``title``.

    On a terminal it drives a rich progress bar (on stderr, so stdout stays clean for
    ``--json``); otherwise INFO lines on the ``allot.progress`` logger, one per tenth of the work
    (or every 10 seconds).
    """
    if sys.stdout.isatty() and sys.stderr.isatty():
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[step]}"),
            transient=True,
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task(title, total=None, step="")

            def on_terminal(step: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, step=step)

            yield on_terminal
        return

    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)

    last = {"tenth": -1, "at": 0.0}

    def on_log(step: str, done: int, total: int) -> None:
        # one line per tenth of the work, or every 10 seconds: readable in CI logs
        tenth = done * 10 // total if total else 0
        now = time.monotonic()
        if tenth != last["tenth"] or now - last["at"] >= 10 or done == total:
            last["tenth"], last["at"] = tenth, now
            log.info("%s: %d/%d %s", title, done, total, step)

    yield on_log
