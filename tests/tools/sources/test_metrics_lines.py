"""Reading a metrics file as segments of lines: the same lines as splitting the text whole."""

from __future__ import annotations

import gzip

import pytest

from tests.tools.sources import openmetrics_world
from tools.sources import metrics_lines
from tools.sources.metrics_lines import LineReader, NotLines

TEXT = ("# TYPE a gauge\n"
        'a{x="1"} 1 1714523400\n'
        "\n"
        'a{x="a much longer label value than one segment holds, and then some more"} 2 1714523400\n'
        "a 3\n"
        "# EOF")


def read(path, segment_bytes):
    reader = LineReader(path, segment_bytes)
    segments = list(reader)
    return reader, segments


@pytest.mark.parametrize("segment_bytes", [1, 7, 23, 64, 1 << 20])
@pytest.mark.parametrize("ending", ["", "\n", "\n\n"])
def test_segments_hold_the_lines_in_order_numbered(tmp_path, segment_bytes, ending):
    path = tmp_path / "a.om"
    path.write_bytes((TEXT + ending).encode())
    reader, segments = read(path, segment_bytes)
    lines = [line for s in segments for line in s.lines.to_pylist()]
    expected = (TEXT + ending).split("\n")
    if expected[-1] == "":          # a final newline ends the last line, it does not open one
        expected.pop()
    assert lines == expected
    firsts = [s.first for s in segments]
    assert firsts[0] == 1 and all(b == a + len(s.lines) for a, b, s in zip(firsts, firsts[1:], segments))
    assert reader.openmetrics


def test_gzip_gives_the_plain_lines(tmp_path):
    plain = openmetrics_world.write(tmp_path / "world.om")
    packed = tmp_path / "world.om.gz"
    # two members, as a writer appending level-1 blocks makes them
    data = plain.read_bytes()
    packed.write_bytes(gzip.compress(data[:1000], 1) + gzip.compress(data[1000:], 1))
    for segment_bytes in (4096, 1 << 20):
        lines = [line for s in LineReader(packed, segment_bytes) for line in s.lines.to_pylist()]
        assert lines == data.decode().rstrip("\n").split("\n")


def test_a_plain_file_is_mapped_a_block_at_a_time(tmp_path, monkeypatch):
    plain = openmetrics_world.write(tmp_path / "world.om")
    data = plain.read_bytes()
    assert len(data) > 3 * 4096
    mapped = []

    def mapping(*args, **kwargs):
        mapped.append(kwargs["offset"])
        return real(*args, **kwargs)

    real = metrics_lines.mmap.mmap
    monkeypatch.setattr(metrics_lines.mmap, "mmap", mapping)
    expected = data.decode().rstrip("\n").split("\n")
    for segment_bytes in (4096, 8192, 4095):   # whole pages are mapped; 4095 bytes are read
        mapped.clear()
        lines = [line for s in LineReader(plain, segment_bytes) for line in s.lines.to_pylist()]
        assert lines == expected
        blocks = -(-len(data) // segment_bytes)
        assert mapped == ([i * segment_bytes for i in range(blocks)] if segment_bytes % 4096 == 0 else [])


def test_classic_text_is_not_openmetrics(tmp_path):
    path = tmp_path / "a.prom"
    path.write_text("a 1 1714523400000\n")
    reader, _ = read(path, 1 << 20)
    assert not reader.openmetrics


@pytest.mark.parametrize("data, reason", [
    (b"a 1\r\nb 2\n", "carriage return"),
    (b"a 1\nb\xff 2\n", "not UTF-8"),
    (b"a 1\n" * 3000 + b"b 2\r\n", "carriage return"),   # in a later mapped block
    (b"a 1\n" * 3000 + b"b\xff 2\n", "not UTF-8"),
])
def test_not_plain_lines_are_refused(tmp_path, data, reason):
    path = tmp_path / "bad.om"
    path.write_bytes(data)
    for segment_bytes in (3, 4096, 1 << 20):
        with pytest.raises(NotLines, match=reason):
            read(path, segment_bytes)


def test_damaged_gzip_is_refused(tmp_path):
    path = tmp_path / "bad.om.gz"
    data = gzip.compress(TEXT.encode() * 1000)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotLines, match="cannot read the file"):
        read(path, 1 << 20)


@pytest.mark.parametrize("packed", [False, True])
def test_segments_say_how_far_into_the_stored_file_they_reach(tmp_path, packed):
    text = "".join(f'a{{x="{i}"}} {i} 1714523400\n' for i in range(20000)).encode()   # 577,780 bytes
    path = tmp_path / ("a.om.gz" if packed else "a.om")
    path.write_bytes(gzip.compress(text) if packed else text)
    reader, segments = read(path, 64 << 10)
    through = [s.through for s in segments]
    assert reader.size == path.stat().st_size
    assert through == sorted(through) and through[-1] == reader.size
    if not packed:   # 64 KiB blocks of the text itself: the k-th reaches k x 65,536 bytes
        assert through == [min(len(text), k * 65536) for k in range(1, len(through) + 1)]
        assert len(through) == -(-len(text) // 65536)
