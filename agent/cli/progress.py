"""Progress display for long ingests: a rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
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
    ``--json``); otherwise every call becomes one INFO line on the ``allot.progress`` logger.
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

    def on_log(step: str, done: int, total: int) -> None:
        log.info("%s: %d/%d %s", title, done, total, step)

    yield on_log
