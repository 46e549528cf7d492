"""Progress display for long ingests: a rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tools.progress import ProgressCallback

log = logging.getLogger("allot.progress")


QUIET_S = 2.0      # the least time between two log lines
HEARTBEAT_S = 10.0  # the most time without one while steps are reported


@contextmanager
def progress_reporter(title: str, clock: Callable[[], float] = time.monotonic) -> Iterator[ProgressCallback]:
    """Yield a ``(step, done, total)`` callback for ``title``.

    On a terminal it drives a rich progress bar (on stderr, so stdout stays clean for
    ``--json``); otherwise INFO lines on the ``allot.progress`` logger: the first step, then a
    step that starts a new tenth of its work (a new phase counts) at least :data:`QUIET_S` after
    the last line, or any step :data:`HEARTBEAT_S` after it. A command of a few seconds logs a
    few lines, a long one a line every 2 to 10 seconds.
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

    last: dict[str, float | None] = {"tenth": None, "at": None}

    def on_log(step: str, done: int, total: int) -> None:
        tenth = done * 10 // total if total else 0
        now = clock()
        since = None if last["at"] is None else now - last["at"]
        if since is None or since >= HEARTBEAT_S or (tenth != last["tenth"] and since >= QUIET_S):
            last["tenth"], last["at"] = tenth, now
            log.info("%s: %d/%d %s", title, done, total, step)

    yield on_log
