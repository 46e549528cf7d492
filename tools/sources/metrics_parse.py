"""The parser path of ``allot ingest metrics``: prometheus_client, in parallel chunks.

Used for every file the DuckDB fast path (:mod:`tools.sources.metrics_columnar`) does not
accept, for ``fast=False``, and so for every parse error message: prometheus_client is the
parser of record. The OpenMetrics parser reads files ending with ``# EOF``, the classic
text-format parser the others. It is pure Python (about 60k samples per second per core), so a
large file is cut into chunks at family boundaries (a metadata line
``# HELP``/``# TYPE``/``# UNIT`` right after a sample line) and the chunks are parsed by
worker processes. Each worker streams its byte range line by line, feeds the parser segments of at most
about :data:`SEGMENT_SAMPLES` samples (a large gauge or counter family is cut between series,
see :func:`_segments`), keeps the samples of catalogue series and writes them as Parquet
batches of :data:`BATCH_SAMPLES` rows ``(metric, labels, value, ts)``; memory stays bounded by
one segment plus one batch per worker.
DuckDB then loads all batches with one ``read_parquet``.

A chunk of an OpenMetrics file gets its own ``# EOF`` so the parser accepts it; the parser's
checks that span families (a family name used twice) therefore apply within a chunk only.
"""

from __future__ import annotations

import functools
import gzip
import logging
import os
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator

import prometheus_client.openmetrics.parser as openmetrics_parser
import prometheus_client.parser as prometheus_parser
import pyarrow as pa
import pyarrow.parquet as pq

from tools.errors import InputError
from tools.sources.metric_catalogue import BY_NAME

log = logging.getLogger(__name__)

BATCH_SAMPLES = 250_000
PARALLEL_MIN_BYTES = 8 * 1024 * 1024   # smaller files parse in-process (no worker start-up cost)
RAW_SCHEMA = pa.schema([
    ("metric", pa.string()),
    ("labels", pa.map_(pa.string(), pa.string())),
    ("value", pa.float64()),
    ("ts", pa.float64()),      # seconds since the epoch, NaN when the sample had none
])


@dataclass
class ChunkResult:
    """What one chunk held: Parquet batch files, families seen, samples kept, families skipped."""

    files: list[str] = field(default_factory=list)
    families: int = 0
    kept: int = 0
    skipped: set[str] = field(default_factory=set)


@contextmanager
def memoised_label_parsing() -> Iterator[None]:
    """Memoise prometheus_client's own label parsing while a file is parsed.

    A history file repeats each series' label text once per sample (a sample per hour), and
    label parsing is most of the parser's time. Two caches, both around the parser's own
    functions: ``parse_labels`` (both formats), and, for OpenMetrics, the series part
    ``name{labels}`` of a sample line (:func:`_series_memo`), which also saves the parser's
    character-by-character scan for the end of the labels. Each call still gets its own dict
    (the parser may edit it). The originals are restored after.
    """
    patched = []
    for module in (openmetrics_parser, prometheus_parser):
        original = getattr(module, "parse_labels", None)
        if original is None:
            continue
        cached = functools.lru_cache(maxsize=1 << 16)(original)
        module.parse_labels = lambda text, openmetrics=False, _cached=cached: dict(_cached(text, openmetrics))
        patched.append((module, "parse_labels", original))
    sample_parser = getattr(openmetrics_parser, "_parse_sample", None)
    remaining = getattr(openmetrics_parser, "_parse_remaining_text", None)
    if sample_parser is not None and remaining is not None:
        openmetrics_parser._parse_sample = _series_memo(sample_parser, remaining)
        patched.append((openmetrics_parser, "_parse_sample", sample_parser))
    try:
        yield
    finally:
        for module, name, original in patched:
            setattr(module, name, original)


SERIES_MEMO_SIZE = 1 << 16


def _series_memo(parse_sample, parse_remaining):
    """Wrap the OpenMetrics parser's ``_parse_sample``: a line ``name{labels} value [ts]`` whose
    ``name{labels}`` was parsed before reuses that name and labels, and only its value and
    timestamp go through the parser's own ``_parse_remaining_text``. Lines without labels,
    with an exemplar (``#`` after the labels) or never seen go through ``_parse_sample`` whole,
    so every check and error message is the parser's.
    """
    seen: dict[str, tuple[str, dict]] = {}

    def parse(text: str):
        close = text.rfind("} ")
        if close <= 0 or "#" in text[close:]:
            return parse_sample(text)
        series = text[:close + 1]
        known = seen.get(series)
        if known is None:
            sample = parse_sample(text)
            if len(seen) >= SERIES_MEMO_SIZE:
                seen.clear()
            seen[series] = (sample.name, dict(sample.labels))
            return sample
        value, timestamp, exemplar = parse_remaining(text[close + 2:])
        return openmetrics_parser.Sample(known[0], dict(known[1]), value, timestamp, exemplar)

    return parse


def is_gzip(path: Path) -> bool:
    """A gzip file (by its magic bytes, whatever its name): read as the text it holds."""
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_text_bytes(path: Path):
    """The file's bytes, decompressed when it is gzip."""
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


def ends_with_eof(tail: bytes) -> bool:
    """The last bytes of a file end its OpenMetrics text: ``# EOF``, then only blanks."""
    return tail.decode("utf-8", errors="replace").rstrip().endswith("# EOF")


def is_openmetrics(path: Path) -> bool:
    """OpenMetrics text ends with ``# EOF`` (:func:`ends_with_eof`); the classic format has no terminator.

    A gzip file has no seekable end: it is read through (level-1 history decompresses at
    gigabytes a second) keeping only the last bytes.
    """
    if is_gzip(path):
        tail = b""
        try:
            with gzip.open(path, "rb") as fh:
                while block := fh.read(1 << 22):
                    tail = (tail + block)[-64:]
        except (EOFError, OSError, zlib.error) as err:
            raise InputError(f"{path}: damaged gzip file ({err}); copy or export it again") from err
        return ends_with_eof(tail)
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64))
        return ends_with_eof(fh.read())


def chunk_bounds(path: Path, chunks: int) -> list[tuple[int, int]]:
    """Byte ranges covering the file, cut only where a family's metadata follows a sample."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as fh:
        for i in range(1, chunks):
            target = max(size * i // chunks, cuts[-1])
            fh.seek(target)
            if target:
                fh.readline()  # the rest of a partial line
            after_sample = False
            while True:
                pos = fh.tell()
                line = fh.readline()
                if not line:
                    break
                if line.startswith(b"#"):
                    if after_sample and not line.startswith(b"# EOF"):
                        cuts.append(pos)
                        break
                    after_sample = False
                elif line.strip():
                    after_sample = True
    cuts = sorted(set(cuts))
    return list(zip(cuts, cuts[1:] + [size]))


def _lines(path: Path, start: int, end: int, openmetrics: bool) -> Iterator[str]:
    with open_text_bytes(path) as fh:
        fh.seek(start)
        pos, ended = start, False
        for line in fh:
            if pos >= end:
                break
            pos += len(line)
            text = line.decode("utf-8")
            ended = text.rstrip("\n") == "# EOF"
            yield text
        if openmetrics and not ended:
            yield "# EOF\n"


SEGMENT_SAMPLES = 100_000
SPLITTABLE_TYPES = frozenset({"gauge", "counter", "unknown", "untyped"})


def _series_labels(line: str) -> str:
    """The label text of a sample line (``''`` without labels): what groups ``x_total`` and
    ``x_created`` of one series, and what changes from one series to the next."""
    brace = line.find("{")
    return "" if brace < 0 else line[brace:line.rfind("}")]


def _segments(lines: Iterator[str], openmetrics: bool, limit: int = SEGMENT_SAMPLES) -> Iterator[list[str]]:
    """Cut a chunk's lines into parser inputs of about ``limit`` samples each.

    prometheus_client yields a family only once it has read all of it, so a family of tens of
    millions of samples (one per series and hour) would be held whole in memory. A gauge or
    counter family is therefore cut between two series (never inside one) once a segment holds
    ``limit`` samples; the next segment starts with the family's metadata lines again, and an
    OpenMetrics segment gets its own ``# EOF``. Histograms, summaries and the rest stay whole.
    Lines after ``# EOF`` are passed on unchanged, so the parser still refuses them.
    """
    eof = ["# EOF\n"] if openmetrics else []
    header: list[str] = []
    kind: str | None = None
    buf: list[str] = []
    samples, in_metadata, ended, last_sample = 0, False, False, ""
    for line in lines:
        if ended or line.startswith("# EOF"):
            ended = True
            buf.append(line)
            continue
        if line.startswith(("# HELP ", "# TYPE ", "# UNIT ")):
            if not in_metadata:
                header, kind, in_metadata = [], None, True
            header.append(line)
            if line.startswith("# TYPE "):
                parts = line.split()
                kind = parts[3] if len(parts) > 3 else None
            buf.append(line)
            continue
        in_metadata = False
        if (samples >= limit and kind in SPLITTABLE_TYPES and line.strip() and not line.startswith("#")
                and _series_labels(line) != _series_labels(last_sample)):
            yield buf + eof
            buf, samples = list(header), 0
        buf.append(line)
        if line.strip() and not line.startswith("#"):
            samples += 1
            last_sample = line
    yield buf


class _BatchWriter:
    def __init__(self, out_prefix: str):
        self.out_prefix = out_prefix
        self.columns: dict[str, list] = {name: [] for name in RAW_SCHEMA.names}
        self.result = ChunkResult()

    def add(self, samples: list) -> None:
        kept = [s for s in samples if s.name in BY_NAME]
        self.columns["metric"].extend(s.name for s in kept)
        self.columns["labels"].extend(s.labels for s in kept)
        self.columns["value"].extend(s.value for s in kept)
        self.columns["ts"].extend(float("nan") if s.timestamp is None else float(s.timestamp) for s in kept)
        self.result.kept += len(kept)
        if len(self.columns["metric"]) >= BATCH_SAMPLES:
            self.flush()

    def flush(self) -> None:
        if not self.columns["metric"]:
            return
        path = f"{self.out_prefix}-{len(self.result.files):05d}.parquet"
        # statistics for `metric` only: Parquet's min/max leave NaN out, and DuckDB, trusting
        # them, can decide `isnan(value)` is false for a whole row group, so staleness markers
        # (NaN values) were kept as samples; `ts` holds NaN for untimed samples likewise
        pq.write_table(pa.Table.from_pydict(self.columns, schema=RAW_SCHEMA), path, compression="none",
                       write_statistics=["metric"])
        self.result.files.append(path)
        self.columns = {name: [] for name in RAW_SCHEMA.names}


def parse_chunk(path: str, start: int, end: int, openmetrics: bool, out_prefix: str) -> ChunkResult:
    """Parse bytes ``[start, end)`` of ``path``; runs in a worker process or in-process.

    Raises:
        ValueError: the parser's own message (naming the offending line).
    """
    module = openmetrics_parser if openmetrics else prometheus_parser
    writer = _BatchWriter(out_prefix)
    previous = None
    with memoised_label_parsing():
        for segment in _segments(_lines(Path(path), start, end, openmetrics), openmetrics, SEGMENT_SAMPLES):
            for family in module.text_fd_to_metric_families(segment):
                if family.name != previous:   # a family cut into segments counts once
                    writer.result.families += 1
                previous = family.name
                before = writer.result.kept
                writer.add(family.samples)
                if writer.result.kept == before:
                    writer.result.skipped.add(family.name)
    writer.flush()
    return writer.result


def idle_cores() -> int:
    """Cores not busy right now (CPU count minus the 1-minute load), at least 1, at most 4."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return max(1, min(4, (os.cpu_count() or 1) - int(load)))


def parse_file(path: Path, out_dir: Path, workers: int | None = None,
               openmetrics: bool | None = None) -> tuple[bool, ChunkResult]:
    """Parse ``path`` into Parquet batches under ``out_dir``; returns (is OpenMetrics, totals).

    ``workers`` defaults to the idle cores; files under :data:`PARALLEL_MIN_BYTES` and busy
    machines parse in-process. If worker processes cannot start (an interpreter without a
    main module file, for one), the file is parsed in-process instead. ``openmetrics`` is the
    format when the caller already knows it (else it is detected: see :func:`is_openmetrics`).
    """
    openmetrics = is_openmetrics(path) if openmetrics is None else openmetrics
    workers = workers or idle_cores()
    if path.stat().st_size < PARALLEL_MIN_BYTES:
        workers = 1
    # a gzip stream cannot be entered in the middle: one chunk, the whole decompressed text
    gz = is_gzip(path)
    whole = (0, sys.maxsize if gz else path.stat().st_size)
    bounds = [whole] if gz else chunk_bounds(path, workers)
    jobs = [(str(path), start, end, openmetrics, str(out_dir / f"chunk{i:03d}")) for i, (start, end) in
            enumerate(bounds)]
    results = None
    # spawned workers re-import __main__ from its file; one that names no real file (`python -`) cannot be
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if len(jobs) > 1 and (main_file is None or Path(main_file).is_file()):
        try:
            with ProcessPoolExecutor(max_workers=len(jobs), mp_context=get_context("spawn")) as pool:
                results = list(pool.map(parse_chunk, *zip(*jobs)))
        except (BrokenProcessPool, OSError) as err:
            log.warning("parsing %s in-process: worker processes failed (%s)", path, err)
            for leftover in out_dir.glob("chunk*.parquet"):
                leftover.unlink()
    if results is None:
        results = [parse_chunk(str(path), *whole, openmetrics, str(out_dir / "whole"))]
    total = ChunkResult()
    for result in results:
        total.files += result.files
        total.families += result.families
        total.kept += result.kept
        total.skipped |= result.skipped
    return openmetrics, total
