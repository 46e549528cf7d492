"""Progress as log lines when the output is not a terminal: the first step, a new tenth of the
work at least 2 s after the last line, and a heartbeat every 10 s."""

from __future__ import annotations

import logging

from agent.cli.progress import progress_reporter


def test_log_lines_are_spaced_and_keep_a_heartbeat(caplog):
    now = [0.0]
    caplog.set_level(logging.INFO, logger="allot.progress")
    with progress_reporter("metrics", clock=lambda: now[0]) as progress:
        for at, step, done, total in [
            (0.0, "a", 1, 100),      # the first step: logged
            (0.5, "b", 20, 100),     # a new tenth, but 0.5 s after the last line: not logged
            (2.5, "c", 30, 100),     # a new tenth, 2.5 s after: logged
            (3.0, "d", 31, 100),     # the same tenth: not logged
            (12.4, "e", 32, 100),    # the same tenth, 9.9 s after the last line: not logged
            (12.5, "f", 33, 100),    # 10 s after the last line: logged
            (13.0, "g", 1, 4),       # a new phase (another tenth) 0.5 s after: not logged
            (15.0, "h", 4, 4),       # its last step, 2.5 s after: logged
        ]:
            now[0] = at
            progress(step, done, total)
    assert [r.getMessage() for r in caplog.records if r.name == "allot.progress"] == [
        "metrics: 1/100 a", "metrics: 30/100 c", "metrics: 33/100 f", "metrics: 4/4 h"]
