"""How long-running work reports progress without knowing how it is shown.

Fetches, history ingests and allocation rebuilds call ``progress(step, done, total)`` after each
unit of work (a page of objects, a batch of queries, a segment of a file, a build step). Front
ends decide the display: a rich progress bar on a terminal, plain log lines otherwise
(``agent/cli/progress.py``).
"""

from __future__ import annotations

from typing import Callable

ProgressCallback = Callable[[str, int, int], None]
"""``(step, done, total)``: ``step`` says what was just done, in words."""


def no_progress(step: str, done: int, total: int) -> None:
    """The default: report nothing."""
