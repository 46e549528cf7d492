"""A metrics file as consecutive Arrow arrays of its lines, in bounded memory.

The fast path of ``allot ingest metrics`` reads a history file a segment at a time: a tier-L
file holds 67 GB of text, and one table of all its lines would spill tens of gigabytes. Each
segment is a block of about :data:`SEGMENT_BYTES` cut after its last newline (the rest opens the
next block), split at ``\\n`` by Arrow's ``split_pattern`` and checked as UTF-8 by the cast to
``string``. A gzip file (by its magic bytes) is decompressed as it is read; the next segment is
read on a helper thread while the caller works on the current one.

A carriage return, invalid UTF-8 or a damaged gzip stream raise :class:`NotLines`; the caller
then leaves the file to the parser, which decides (and words the error).
"""

from __future__ import annotations

import gzip
import mmap
import os
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tools.errors import first_line
from tools.sources.metrics_parse import ends_with_eof, is_gzip

SEGMENT_BYTES = 128 << 20


class NotLines(Exception):
    """The file cannot be read as plain ``\\n``-separated UTF-8 lines (the reason is the message)."""


@dataclass
class Segment:
    """Lines ``first`` .. ``first + len(lines) - 1`` of the file (numbered from 1); ``through``:
    the bytes of the file as stored (compressed, for gzip) read up to them."""

    first: int
    lines: pa.ChunkedArray
    through: int = 0


class LineReader:
    """Iterate over a file's segments; read to the end, ``tail`` holds its last bytes."""

    def __init__(self, path: Path, segment_bytes: int | None = None) -> None:
        self.path = path
        self.segment_bytes = segment_bytes or SEGMENT_BYTES
        self.tail = b""
        self.done = False           # read to the end (``tail`` is the file's)
        self.size = path.stat().st_size   # as stored, the unit of Segment.through
        self._through = 0

    def _blocks(self) -> Iterator[bytes | mmap.mmap]:
        """The file's text in blocks of ``segment_bytes``. A plain file's blocks are mapped, not
        read: splitting a mapped block reads the page cache in place instead of copying it first
        (a third of the reading thread's time), and each mapping is closed before the next (an
        empty file maps none)."""
        gzipped = is_gzip(self.path)
        if gzipped or self.segment_bytes % mmap.ALLOCATIONGRANULARITY:   # a mapping starts at a page
            with self.path.open("rb") as raw, (gzip.GzipFile(fileobj=raw) if gzipped else raw) as fh:
                while block := fh.read(self.segment_bytes):
                    self._through = raw.tell()
                    yield block
            return
        with self.path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            for offset in range(0, size, self.segment_bytes):
                block = mmap.mmap(fh.fileno(), min(self.segment_bytes, size - offset), offset=offset,
                                  access=mmap.ACCESS_READ)
                self._through = offset + len(block)
                try:
                    yield block
                finally:
                    try:
                        block.close()
                    except BufferError:   # an error being raised still holds the block: unmapped when freed
                        pass

    def _arrays(self) -> Iterator[tuple[pa.ChunkedArray, int]]:
        """Each block's lines, and how far into the stored file they reach. The line cut by the
        previous block's end is joined to its rest apart (a small copy), so the block itself is
        split in place."""
        rest = b""
        try:
            for block in self._blocks():
                first, cut = block.find(b"\n") + 1, block.rfind(b"\n") + 1
                if not cut:
                    rest += block[:]
                    continue
                lines = self._split(rest + block[:first], block, first, cut)
                rest = block[cut:]
                yield lines, self._through
        except (EOFError, OSError, zlib.error) as err:
            raise NotLines(f"cannot read the file ({err})") from err
        if rest:
            yield self._split(rest + b"\n", b"", 0, 0), self.size

    def _split(self, head: bytes, block: bytes, start: int, end: int) -> pa.ChunkedArray:
        """The lines of ``head`` (one whole line) and then of ``block[start:end]``."""
        if b"\r" in head or block.find(b"\r", start, end) >= 0:
            raise NotLines("a carriage return in the text")
        self.tail = (self.tail + head + block[max(start, end - 64):end])[-64:]
        chunks = [_lines(pa.py_buffer(head))]
        if end > start:
            chunks.append(_lines(pa.py_buffer(block).slice(start, end - start)))
        return pa.chunked_array(chunks)

    def __iter__(self) -> Iterator[Segment]:
        first = 1
        arrays = self._arrays()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="allot-lines") as pool:
            ahead = pool.submit(next, arrays, None)
            while (read := ahead.result()) is not None:
                ahead = pool.submit(next, arrays, None)
                lines, through = read
                yield Segment(first, lines, through)
                first += len(lines)
        self.done = True

    @property
    def openmetrics(self) -> bool:
        """The file's last line is ``# EOF`` (:func:`~tools.sources.metrics_parse.ends_with_eof`)."""
        return ends_with_eof(self.tail)


def _lines(text: pa.Buffer) -> pa.Array:
    """The lines of ``text``, which ends with a newline, as a ``string`` array (checked UTF-8)."""
    one = pa.BinaryArray.from_buffers(pa.binary(), 1, [None, pa.array([0, text.size], pa.int32()).buffers()[1], text])
    lines = pc.split_pattern(one, "\n").values
    try:
        return lines.slice(0, len(lines) - 1).cast(pa.string())
    except pa.ArrowInvalid as err:
        raise NotLines(f"not UTF-8 ({first_line(err)})") from err
