"""What one detector run judges: the warehouse, the window, the cluster filter, the thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from tools.context import Context
from tools.detectors.finding import Evidence, Finding, Skipped
from tools.detectors.thresholds import DetectorSettings
from tools.windows import HOUR, Window

EPOCH = datetime(1970, 1, 1)
BITMAP_HOURS = 24 * 366   # longer windows count distinct hours with a hash set (a bit per hour and group)


@dataclass
class Scope:
    """A detector's inputs. ``cluster`` None means every cluster."""

    ctx: Context
    window: Window
    cluster: str | None = None

    @property
    def settings(self) -> DetectorSettings:
        return self.ctx.settings.detectors

    @property
    def hours(self) -> float:
        return self.window.hours

    def params(self, *extra: Any) -> list[Any]:
        """``[start, end, cluster, cluster, *extra]`` for SQL using :meth:`where`."""
        return [self.window.start, self.window.end, self.cluster, self.cluster, *extra]

    @staticmethod
    def where(alias: str = "", time_col: str = "hour") -> str:
        """Window and cluster predicate; bind with :meth:`params`."""
        p = f"{alias}." if alias else ""
        return (f"{p}{time_col} >= ? AND {p}{time_col} < ? "
                f"AND (CAST(? AS VARCHAR) IS NULL OR {p}cluster = ?)")

    def distinct_hours(self, alias: str = "", time_col: str = "hour") -> str:
        """An aggregate counting a group's distinct hours inside the window (rows filtered by
        :meth:`where`): a bitmap of the window's hours, where ``count(DISTINCT hour)`` builds a
        hash set per group (tier M's 2.7M allocation rows per workload: 0.10 s against 0.39 s)."""
        p = f"{alias}." if alias else ""
        first = (self.window.start - EPOCH) // HOUR
        last = -((EPOCH - self.window.end) // HOUR) - 1     # the hour holding the window's last instant
        if last - first >= BITMAP_HOURS:
            return f"count(DISTINCT {p}{time_col})"
        return f"bit_count(bitstring_agg(epoch({p}{time_col})::BIGINT // 3600, {first}, {last}))"

    def cluster_only(self, alias: str = "") -> tuple[str, list[Any]]:
        """Cluster predicate alone (for snapshot tables without hours)."""
        p = f"{alias}." if alias else ""
        return f"(CAST(? AS VARCHAR) IS NULL OR {p}cluster = ?)", [self.cluster, self.cluster]

    def evidence(self, **figures: Any) -> Evidence:
        return Evidence(window_start=self.window.start, window_end=self.window.end, figures=figures)

    def rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Run a query and return dict rows."""
        cur = self.ctx.db.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


@dataclass
class Outcome:
    """What a detector returns: its findings and the objects it could not judge."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


Detector = Callable[[Scope], Outcome]
