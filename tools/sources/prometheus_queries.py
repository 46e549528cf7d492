"""PromQL for the hourly history: selectors, the hourly reduction, and query batching.

Every catalogue series is read with five range queries per batch that return, for each
series and hour ``H``, the five hourly values of the staging contract, evaluated at
``H + 1h - 1ms`` with step 1h so each point covers ``[H, H+1h)``: ``avg_over_time(S[1h])``,
``max_over_time``, ``min_over_time``, ``last_over_time`` and ``count_over_time`` (the
``samples`` column).

Batching keeps a big cluster from producing one huge query: when a metric has more series
than the series budget, its series are split by label value (``namespace`` first, then the
metric's other identifying labels) into groups under the budget, each group selected with
``label=~"v1|v2|..."``; a batch's matcher text stays under ``max_matcher_chars`` so no
request grows past a few KB. Long windows are split into time chunks so that
series x hours stays under ``max_points``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tools.sources.metric_catalogue import Metric

REDUCTIONS: tuple[tuple[str, str], ...] = (
    ("avg", "avg_over_time"),
    ("max", "max_over_time"),
    ("min", "min_over_time"),
    ("last", "last_over_time"),
    ("samples", "count_over_time"),
)
HOUR = timedelta(hours=1)
_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal holding ``value``."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def regex_literal(value: str) -> str:
    """``value`` escaped for an RE2 regular expression (PromQL ``=~`` is fully anchored)."""
    return "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in value)


def matcher(label: str, values: list[str]) -> str:
    """``label="v"`` for one value, ``label=~"v1|v2"`` for several (``""`` matches absent)."""
    if len(values) == 1:
        return f"{label}={promql_string(values[0])}"
    return f"{label}=~" + promql_string("|".join(regex_literal(v) for v in sorted(values)))


def selector(metric: Metric, extra: tuple[str, ...] = ()) -> str:
    """``name{catalogue selector, extra matchers}``."""
    parts = [p for p in (metric.selector, *extra) if p]
    return f"{metric.name}{{{','.join(parts)}}}" if parts else metric.name


def hourly_queries(series_selector: str) -> list[tuple[str, str]]:
    """``(column, query)`` for the five hourly reductions of ``series_selector``.

    Five plain queries are cheaper for Prometheus than one ``or`` of five (the ``or`` matches
    label sets at every step).
    """
    return [(name, f"{fn}({series_selector}[1h])") for name, fn in REDUCTIONS]


def split_labels(metric: Metric) -> tuple[str, ...]:
    """The labels a metric's series are split by, coarsest first."""
    rest = tuple(label for label in metric.labels if label != "namespace")
    return ("namespace", *rest) if "namespace" in metric.labels else rest


@dataclass(frozen=True)
class Batch:
    matchers: tuple[str, ...]      # extra label matchers selecting this batch's series
    series: int                    # how many series they select (over the whole window)


def plan_batches(
    series: list[dict[str, str]],
    labels: tuple[str, ...],
    budget: int,
    max_matcher_chars: int = 4000,
) -> list[Batch]:
    """Split ``series`` (label sets) into batches of at most ``budget`` series.

    Groups series by the first label in ``labels`` and packs whole groups into batches; a
    group bigger than the budget is split again by the next label. A group that cannot be
    split further becomes one batch over the budget (the caller logs it).
    """
    if len(series) <= budget:
        return [Batch((), len(series))]
    return _split(series, labels, (), budget, max_matcher_chars)


def _split(series: list[dict[str, str]], labels: tuple[str, ...], fixed: tuple[str, ...], budget: int,
           max_chars: int) -> list[Batch]:
    if not labels:
        return [Batch(fixed, len(series))]
    label, rest = labels[0], labels[1:]
    groups: dict[str, list[dict[str, str]]] = {}
    for s in series:
        groups.setdefault(s.get(label, ""), []).append(s)
    batches: list[Batch] = []
    pending: list[str] = []
    pending_count = 0
    pending_chars = 0

    def flush() -> None:
        nonlocal pending, pending_count, pending_chars
        if pending:
            batches.append(Batch(fixed + (matcher(label, pending),), pending_count))
        pending, pending_count, pending_chars = [], 0, 0

    for value in sorted(groups):
        members = groups[value]
        if len(members) > budget:
            batches.extend(_split(members, rest, fixed + (matcher(label, [value]),), budget, max_chars))
            continue
        chars = len(regex_literal(value)) + 1
        if pending and (pending_count + len(members) > budget or pending_chars + chars > max_chars):
            flush()
        pending.append(value)
        pending_count += len(members)
        pending_chars += chars
    flush()
    return batches


def hour_chunks(start: datetime, end: datetime, series: int, max_points: int) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` (whole hours) cut into chunks of at most ``max_points // series`` hours."""
    hours_per_chunk = max(1, min(max_points // max(series, 1), 24 * 31))
    chunks = []
    cursor = start
    while cursor < end:
        stop = min(end, cursor + hours_per_chunk * HOUR)
        chunks.append((cursor, stop))
        cursor = stop
    return chunks
