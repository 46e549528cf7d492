"""`allot demo --preset P` refuses a disk too small for the preset's files before it writes any."""

from __future__ import annotations

from collections import namedtuple

from typer.testing import CliRunner

from tools.errors import InputError
from tools.sources.demo.spec import FILES_GB, WorldSpec, world_room_shortfall

GB = 10**9


def test_a_preset_needs_its_measured_size():
    m = WorldSpec.preset("M")
    assert world_room_shortfall(m, 20 * GB) is None                        # 19.9 GB fit
    assert world_room_shortfall(m, 5 * GB) == ("the 'M' world's files take about 19.9 GB and that disk has "
                                                "5.0 GB free (the warehouse and DuckDB's spill need more "
                                                "beside them)")
    assert world_room_shortfall(WorldSpec(name="custom"), 0) is None       # no measured size: not judged
    assert set(FILES_GB) == {"demo", "S", "M", "L"}


def test_the_demo_stops_before_writing_when_the_disk_is_too_small(tmp_path, monkeypatch):
    from agent.cli import _register, app
    from tools.warehouse import room

    Usage = namedtuple("Usage", "total used free")      # a disk with 1 GB free
    monkeypatch.setattr(room.shutil, "disk_usage", lambda path: Usage(100 * GB, 99 * GB, 1 * GB))
    _register()
    out = tmp_path / "world-m"
    result = CliRunner().invoke(app, ["demo", "--preset", "M", "--out", str(out), "--db", str(tmp_path / "w.duckdb")])
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == (f"--out {out}: the 'M' world's files take about 19.9 GB and that disk has "
                                     "1.0 GB free (the warehouse and DuckDB's spill need more beside them); pass "
                                     "--out a folder on a disk with more room")
    assert not out.exists()
