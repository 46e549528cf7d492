"""The ordered pass of the metrics fast path: a file's lines into runs and samples, a segment at a time.

Each segment (:class:`~tools.sources.metrics_lines.Segment`) is split line by line by Polars
(:func:`_parse_lines`: kind, series text, value and timestamp as the parser reads them, and
whether the line is in the strict grammar), then numbered into runs of consecutive lines of one
series by comparing each line with the one before it (:func:`_number_runs`), starting from what
the previous segment ended with (:class:`_Carry`). Polars runs the string work and the
line-to-line comparisons as one multi-threaded plan over the segment's Arrow lines; DuckDB's
windows over the same lines stream on one thread, and the pass took 1.6 times as long.
What stays across segments, in DuckDB, is ``_mc_runs``, a row per run with its checks, and
the samples of catalogue series (``_mc_samples`` and ``_mc_shared``, see :func:`scan_runs`);
:mod:`tools.sources.metrics_columnar` checks and reduces them. A segment is written to DuckDB
on a thread of its own (:class:`_Writer`) while Polars parses the next: done one after the
other, Polars waited for every insert, and a tier-M file's scan took 1.1-1.35 times as long.

Numbers match what the parser's path computes in DuckDB: values and timestamps by the same
arithmetic (``seconds + fraction / 1e9``, milliseconds ``/ 1000``), and a timestamp's
microseconds rounded half to even, as DuckDB's ``to_timestamp`` rounds. A timestamp beyond the
warehouse's TIMESTAMP range makes the line malformed (the parser's path then names it).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from tools.progress import ProgressCallback, no_progress
from tools.sources.metric_catalogue import BY_NAME
from tools.sources.metrics_lines import LineReader, Segment

VALUE = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|\+Inf|-Inf"
TIMESTAMP = {True: r"[0-9]{1,15}(?:\.[0-9]{1,9})?", False: r"-?[0-9]{1,15}"}
MICROS_PER_HOUR = 3_600_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_MICROS = 9 * 10**18          # inside DuckDB's TIMESTAMP range (to year 294247)
MAX_RUNS = 2**31 - 1             # a run's number is an INTEGER: 4 bytes a sample, not 8
_SPECIAL = {"NaN": float("nan"), "+Inf": float("inf"), "-Inf": float("-inf"), "-0": 0.0}  # -0: the parser reads +0.0


class TooManyRuns(Exception):
    """The file has more runs of series lines than :data:`MAX_RUNS`: the parser reads it."""


def _parse_lines(lines: pl.Series, openmetrics: bool, now_micros: int) -> pl.LazyFrame:
    """Every line on its own: ``kind`` (S sample, M comment, B blank), series text ``s``, ``value``,
    ``ts`` (seconds), ``micros`` (the sample's time, the ingest time when untimed), ``ok``."""
    tail = f"^(?:{VALUE})(?: (?:{TIMESTAMP[openmetrics]}))?$"
    line = pl.col("line")
    kind = (pl.when(line == "").then(pl.lit("B")).when(line.str.starts_with("#")).then(pl.lit("M"))
            .otherwise(pl.lit("S")))
    # series text and the rest: split after the first '} ' (the labels' end) or, in a line
    # without one, at the first blank; a second '} ' or blank lands in the rest, which the tail
    # pattern then refuses. A line with a '{' but no '} ' is cut at its first blank too: its series
    # text then holds a '{' and ends neither in '"}' nor '{}', which the label checks refuse. The
    # blank is looked for only in lines without '} ' (string functions skip nulls). The cut is a
    # byte offset, so the line is sliced as bytes (at an ASCII character: still UTF-8)
    closed = line.str.find("} ", literal=True)
    braced = closed.is_not_null()
    cut = pl.coalesce(closed, pl.when(~braced).then(line).str.find(" ", literal=True))
    frame = pl.LazyFrame({"line": lines}).with_columns(kind=kind, braced=braced, cut=cut)
    raw, cut, closing = line.cast(pl.Binary), pl.col("cut"), pl.col("braced").cast(pl.UInt32)
    frame = frame.with_columns(
        s=pl.when(pl.col("kind") == "B").then(None).when(pl.col("kind") == "M").then(line)
            .otherwise(raw.bin.slice(0, cut + closing).cast(pl.String)),   # no cut: the whole line
        rest=raw.bin.slice(cut + 1 + closing).cast(pl.String),             # no cut: null
    ).with_columns(
        ok=(pl.col("kind") == "S") & pl.col("rest").str.contains(tail).fill_null(False),
        vt=pl.col("rest").str.splitn(" ", 2),
    ).with_columns(v=pl.col("vt").struct.field("field_0"), t=pl.col("vt").struct.field("field_1"))
    v, t = pl.col("v"), pl.col("t")
    special = pl.col("v").replace_strict(_SPECIAL, default=None, return_dtype=pl.Float64)
    if openmetrics:
        # whole seconds cast at once; only the others (a fraction, or malformed) are split, since
        # string functions skip nulls: a segment of whole seconds parses a quarter faster
        whole = t.cast(pl.Int64, strict=False)
        seconds = pl.when(whole.is_null()).then(t).str.split_exact(".", 1)
        fraction = seconds.struct.field("field_1").str.pad_end(9, "0").cast(pl.Int64, strict=False)
        split = seconds.struct.field("field_0").cast(pl.Int64, strict=False) + fraction.fill_null(0) / 1e9
        ts = pl.coalesce(whole, split)
    else:
        ts = t.cast(pl.Int64, strict=False) / 1000
    frame = frame.with_columns(
        value=pl.when(~pl.col("ok")).then(None).otherwise(pl.coalesce(special, v.cast(pl.Float64, strict=False))),
        ts=pl.when(pl.col("ok")).then(ts.cast(pl.Float64)),
        untimed=(pl.col("kind") == "S") & t.is_null(),
    ).with_columns(micros_f=(pl.col("ts") * 1e6).round(0, mode="half_to_even"))
    in_range = pl.col("micros_f").abs() <= MAX_MICROS
    return frame.with_columns(
        ok=pl.col("ok") & (pl.col("ts").is_null() | in_range),
        micros=pl.when(pl.col("ok") & pl.col("ts").is_null()).then(pl.lit(now_micros))
                 .when(pl.col("ok") & in_range).then(pl.col("micros_f").cast(pl.Int64, strict=False)),
    ).select("kind", "s", "ok", "value", "ts", "untimed", "micros")


def _number_runs(frame: pl.LazyFrame, segment: Segment, openmetrics: bool, carry: _Carry) -> pl.LazyFrame:
    """The lines against the line before each (the previous segment's last line for the first):
    where a run starts, the running run number and the order checks."""
    n = len(segment.lines)
    sample = pl.col("kind") == "S"
    hour = pl.col("micros") // MICROS_PER_HOUR
    frame = frame.with_columns(
        n=pl.int_range(segment.first, segment.first + n, dtype=pl.Int64),
        run_start=pl.col("s").ne_missing(pl.col("s").shift(1, fill_value=carry.s)),
        prev_ts=pl.col("ts").shift(1, fill_value=carry.ts),
        hour=hour,
        prev_hour=hour.shift(1, fill_value=carry.hour),
    )
    blank_ok = pl.lit(False) if openmetrics else pl.col("kind") == "B"
    return frame.with_columns(
        run=carry.runs + pl.col("run_start").cast(pl.Int64).cum_sum(),
        bad=(pl.col("kind") != "M") & ~blank_ok & ~(pl.col("ok") & pl.col("value").is_not_null()),
        bad_order=sample & ~pl.col("run_start") & ~(pl.col("ts") > pl.col("prev_ts")).fill_null(False),
        same_hour=(sample & ~pl.col("run_start") & (pl.col("hour") == pl.col("prev_hour"))).fill_null(False),
        negative_or_nan=(pl.col("value").is_nan() | (pl.col("value") < 0)),
        stale=pl.col("value").is_nan(),
    )


_COUNTED = ("bad", "bad_order", "untimed", "negative_or_nan", "stale")


def _runs_of(lines: pl.LazyFrame, carry: _Carry, continues: bool) -> pl.LazyFrame:
    """A row per run of the segment, with its checks and whether it is a catalogue series.

    Runs are consecutive lines, so no ``GROUP BY``: a run's text, kind and start come from its
    first line, its end and counts from its last (running sums, less the previous run's).
    """
    first = pl.col("run_start") | (pl.col("n") == pl.col("n").first())   # a continued run starts the segment
    starts = lines.filter(first).select("run", "s", "kind", first_n="n")
    total = [pl.col(c).cast(pl.Int64).fill_null(0).cum_sum() for c in _COUNTED]
    ends = (lines.with_columns(total).filter(pl.col("run").ne_missing(pl.col("run").shift(-1)))
            .select(last_n="n", **{c: pl.col(c) - pl.col(c).shift(1, fill_value=0) for c in _COUNTED}))
    runs = pl.concat([starts, ends], how="horizontal").select(
        "run", "s", "first_n", "last_n", lines=pl.col("last_n") - pl.col("first_n") + 1, bad_lines="bad",
        bad_order="bad_order", untimed="untimed", negative_or_nan=pl.col("negative_or_nan") > 0, stale="stale",
        kind="kind")   # a run's lines share their series text, so their kind
    metric = pl.col("s").str.splitn("{", 2).struct.field("field_0")
    named = metric.is_in(sorted(BY_NAME)).fill_null(False)
    catalogue = pl.when((pl.col("run") == carry.runs) & continues).then(carry.catalogue).otherwise(named)
    return runs.with_columns(catalogue=catalogue)


@dataclass
class _Carry:
    """What a segment needs of the lines before it."""

    runs: int = 0                      # runs numbered so far (the last line's run)
    s: str | None = None               # the last line's series text
    ts: float | None = None
    hour: int | None = None            # the last line's hour (microseconds // one hour)
    catalogue: bool = False            # the last run is a catalogue series
    bad: int = 0                       # malformed lines so far
    first_bad: tuple[int, str] | None = None   # the first malformed line: its number and text


_RUN_COLUMNS = ("run", "kind", "s", "first_n", "last_n", "lines", "bad_lines", "bad_order", "untimed",
                "negative_or_nan", "stale")
# one run seen in two segments: its first row's text and start, its last row's end, the sums
_MERGED = (pl.col("run", "kind", "s", "first_n").first(), pl.col("last_n").last(),
           pl.col("lines", "bad_lines", "bad_order", "untimed").sum(), pl.col("negative_or_nan").any(),
           pl.col("stale").sum())
FLUSH_ROWS = 250_000   # run rows held before one INSERT: DuckDB appends a few large batches much faster


class _Writer:
    """Writes a segment's runs and samples to DuckDB, in order, one segment after another.

    A segment's last run may go on in the next segment, so it is held back (``pending``) and
    merged with the next segment's first run when that has the same number; every other run is
    complete and waits in ``batch`` until :data:`FLUSH_ROWS` of them are written at once. The
    last line's sample is held back too (``held``): whether it shares its hour is known only
    from the next segment's first line.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.pending, self.batch, self.waiting = con, None, [], 0
        self.held: pl.DataFrame | None = None

    def write(self, runs: pl.DataFrame, samples: pl.DataFrame, joins_held: bool) -> None:
        """One segment's runs, and its samples of catalogue series (:func:`_append_samples`)."""
        # runs are numbered consecutively from the segment's first: a sample's run is a row index
        # (a hash semi-join of the samples to the catalogue runs took 1.9 s of a tier-M file's scan)
        samples = samples.filter(runs["catalogue"].gather(samples["run"] - runs["run"][0]))
        self._add_runs(runs)
        if self.held is not None:
            samples = pl.concat([self.held.with_columns(shared=pl.col("shared") | joins_held, last=False), samples])
        self.held = samples.tail(1) if samples.height and samples["last"][-1] else None
        _append_samples(self.con, samples.head(-1) if self.held is not None else samples)

    def _add_runs(self, runs: pl.DataFrame) -> None:
        runs = runs.select(_RUN_COLUMNS)
        if self.pending is not None:
            if runs["run"][0] == self.pending["run"][0]:
                runs = pl.concat([pl.concat([self.pending, runs.head(1)]).select(_MERGED), runs.slice(1)])
            else:
                runs = pl.concat([self.pending, runs])
        self.pending = pl.from_arrow(runs.tail(1).to_arrow())   # a copy: a slice would keep the segment's text
        self.batch.append(runs.head(-1).to_arrow())   # a compact copy, likewise
        self.waiting += runs.height - 1
        if self.waiting >= FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            _insert(self.con, "_mc_runs", pa.concat_tables(self.batch))
            self.batch, self.waiting = [], 0

    def close(self) -> None:
        """Write what is held back: the last run and the last sample."""
        if self.pending is not None:
            self.batch.append(self.pending.to_arrow())
            self.pending = None
        self._flush()
        if self.held is not None:
            _append_samples(self.con, self.held)
            self.held = None


def _parse_segment(segment: Segment, openmetrics: bool, now_micros: int,
                   carry: _Carry) -> tuple[pl.DataFrame, pl.DataFrame, bool]:
    """One segment's runs and samples (every timed, non-NaN sample, each with whether it shares
    its hour and whether it is the segment's last line) and whether its first line shares the
    hour of the line before; ``carry`` then ends where the segment does."""
    continues = segment.first > 1
    lines = _number_runs(_parse_lines(pl.Series("line", segment.lines), openmetrics, now_micros),
                         segment, openmetrics, carry)
    runs_plan = _runs_of(lines, carry, continues)
    # a sample that shares its hour with the line before or after it (in its run) is reduced by
    # a GROUP BY later; every other sample is its own hourly row
    shared = pl.col("same_hour") | pl.col("same_hour").shift(-1).fill_null(False)
    samples_plan = lines.filter(pl.col("micros").is_not_null() & ~pl.col("value").is_nan()).select(  # NaN: stale
        "run", "value", sampled_at=pl.col("micros").cast(pl.Datetime("us")), hour=pl.col("hour").cast(pl.Int32),
        shared=shared, last=pl.col("n") == segment.first + len(segment.lines) - 1)
    last_plan = lines.select(pl.col("s", "ts", "hour").last(), joins_held=pl.col("same_hour").first())
    runs, samples, ended = pl.collect_all([runs_plan, samples_plan, last_plan])
    carry.s, carry.ts, carry.hour, joins_held = ended.row(0)
    last = runs.row(-1, named=True)
    carry.runs, carry.catalogue = last["run"], last["catalogue"]
    bad = int(runs["bad_lines"].sum())
    if bad and carry.first_bad is None:   # the scan stops after this segment: look the line up once
        n = lines.filter("bad").select("n").head(1).collect().item()
        carry.first_bad = (n, segment.lines[n - segment.first].as_py())
    carry.bad += bad
    return runs, samples, joins_held


def _append_samples(con: duckdb.DuckDBPyConnection, samples: pl.DataFrame) -> None:
    """Single samples to ``_mc_samples`` (their hour is all their time the history needs),
    samples that share an hour to ``_mc_shared``."""
    for table, rows, at in (("_mc_samples", samples.filter(~pl.col("shared")), "hour"),
                            ("_mc_shared", samples.filter("shared"), "sampled_at")):
        if rows.height:
            _insert(con, table, rows.select("run", at, "value").to_arrow())


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Append ``rows`` (the table's columns, in its order) to ``table``."""
    con.register("_mc_seg_rows", rows)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _mc_seg_rows")
    finally:
        con.unregister("_mc_seg_rows")


def scan_runs(con: duckdb.DuckDBPyConnection, path: Path, openmetrics: bool, now: datetime,
              progress: ProgressCallback = no_progress) -> tuple[LineReader, tuple[int, str] | None]:
    """The one pass over the file, a segment at a time: ``_mc_runs``, a row per run of
    consecutive lines with the run's checks (the series text ``s`` of a sample run, the line
    of a comment), and the samples of catalogue series: ``_mc_samples(run, hour, value)``
    for those alone in their hour of their run (``hour`` counted from 1970), ``_mc_shared(run,
    sampled_at, value)`` for the others. A run's number is an INTEGER: a file with more runs
    raises :class:`TooManyRuns` before they are written.

    Stops at the first segment with a malformed line (the file goes to the parser anyway), and
    returns with the reader that line's number and text (else None). ``progress`` hears of every
    segment, in MB of the file as stored. DuckDB runs on half its threads meanwhile
    (:func:`_duckdb_threads_halved`).
    """
    con.execute("""CREATE OR REPLACE TEMP TABLE _mc_runs (run INTEGER, kind VARCHAR, s VARCHAR, first_n BIGINT,
                   last_n BIGINT, lines BIGINT, bad_lines BIGINT, bad_order BIGINT, untimed BIGINT,
                   negative_or_nan BOOLEAN, stale BIGINT)""")
    # a single sample's hour as hours since 1970 (4 bytes, not 8: a tier-L cluster has 388M samples)
    con.execute("CREATE OR REPLACE TEMP TABLE _mc_samples (run INTEGER, hour INTEGER, value DOUBLE)")
    con.execute("CREATE OR REPLACE TEMP TABLE _mc_shared (run INTEGER, sampled_at TIMESTAMP, value DOUBLE)")
    reader, carry, writer = LineReader(path), _Carry(), _Writer(con)
    total_mb = max(1, round(reader.size / 2**20))
    now_micros = ((now if now.tzinfo else now.replace(tzinfo=timezone.utc)) - EPOCH) // timedelta(microseconds=1)
    with _duckdb_threads_halved(con), ThreadPoolExecutor(max_workers=1, thread_name_prefix="allot-scan-write") as pool:
        writing: Future | None = None
        for segment in reader:
            parsed = _parse_segment(segment, openmetrics, now_micros, carry)
            if carry.runs > MAX_RUNS:
                raise TooManyRuns(f"more than {MAX_RUNS:,} runs of series lines")
            if writing is not None:
                writing.result()
            writing = pool.submit(writer.write, *parsed)
            progress(f"MB of {path.name} read", segment.through * total_mb // reader.size, total_mb)
            if carry.bad:
                break
        if writing is not None:
            writing.result()
        writer.close()   # the pool is idle: the last write has returned
    return reader, carry.first_bad


@contextmanager
def _duckdb_threads_halved(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on half its threads (at least one) while the scan runs, its setting restored after:
    the scan's appends run beside Polars' parse, which takes every core. On 2 cores, with DuckDB
    on one thread rather than two, a tier-M file's scan took 4-10 % less time (the tier's ingest
    peaked about 0.1 GiB lower) and a tier-L cluster's 7-10 % less (bench/results.md, note 39)."""
    before = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    con.execute(f"SET threads = {max(1, before // 2)}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {before}")
