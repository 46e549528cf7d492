"""When the warehouse runs out of room: DuckDB's memory and disk errors as allot errors.

DuckDB's own messages suggest SQL (``SET threads``, ``PRAGMA max_temp_directory_size``) that
an allot user cannot type. :func:`room_errors` turns them into a :class:`ResourceError` that
says which limit was reached, what it is now, how much disk is free where it matters, and which
``ALLOT_WAREHOUSE__*`` setting or folder to change.

Three cases:

* the spill folder is full: past the memory limit DuckDB writes to ``temp_directory`` up to
  ``max_temp_directory_size`` (by default 90% of that disk's free space);
* memory alone: DuckDB could not spill (no spill folder, or memory it cannot spill) past the limit;
* a disk is full: writing the warehouse file or a spill file failed with "No space left on device".
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import duckdb

from tools.errors import ResourceError, first_line
from tools.settings import env_name

if TYPE_CHECKING:
    from tools.context import Context

MEMORY = env_name("warehouse", "memory_limit")
SPILL = env_name("warehouse", "temp_directory")
SPILL_CAP = env_name("warehouse", "max_temp_size")
NO_SPACE = "No space left on device"
KEPT = ("Nothing of the failed step was written: each ingest and each allocation rebuild writes in one "
        "transaction, so the warehouse holds what it held before it.")


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def free_bytes(folder: Path | str) -> int:
    """Free bytes on the disk of `folder` (or of its nearest existing parent: it may not exist yet)."""
    path = Path(folder).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def _free(folder: str) -> str:
    return _size(free_bytes(folder))


def _machine_memory() -> str:
    return _size(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def is_out_of_room(err: BaseException) -> bool:
    """True for DuckDB's out-of-memory errors and for a full disk."""
    return isinstance(err, duckdb.OutOfMemoryException) or (
        isinstance(err, duckdb.IOException) and NO_SPACE in str(err))


def out_of_room(ctx: Context, err: duckdb.Error, doing: str, after: str = KEPT) -> ResourceError:
    """The ResourceError for `err` (see :func:`is_out_of_room`): what `doing` ran out of and the fix.

    DuckDB's settings are read on a cursor of their own: ``ctx.db`` may hold a transaction the
    error aborted.
    """
    limit, spill, cap, warehouse = ctx.db.cursor().execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
        "current_setting('max_temp_directory_size'), "
        "(SELECT path FROM duckdb_databases() WHERE database_name = current_database())").fetchone()
    memory = f"{MEMORY} (now {limit}, of {_machine_memory()} on this machine)"
    if isinstance(err, duckdb.IOException):
        path = re.search(r'file \\?"([^"\\]+)', str(err))     # Could not write file "PATH" (quotes escaped in JSON)
        where = path.group(1) if path else warehouse or spill or "."
        return ResourceError(
            f"{doing} ran out of disk (DuckDB: \"{first_line(err)}\"); {where} has {_free(where)} free. {after} "
            f"To fix: free space on that disk, or move the warehouse (--db or ALLOT_DB) or its spill folder "
            f"({SPILL}) to a disk with more room.")
    if "max_temp_directory_size" in str(err) and spill:
        capped = ctx.settings.warehouse.max_temp_size is not None
        fix = (f"raise {SPILL_CAP} (now {cap}), point {SPILL} at a disk with more free space, or free space "
               f"on this one" if capped else f"point {SPILL} at a disk with more free space, or free space on this one")
        return ResourceError(
            f"{doing} ran out of room to spill. Past its memory limit DuckDB writes to the spill folder {spill}, "
            f"which reached its cap of {cap} ({'set by ' + SPILL_CAP if capped else 'by default 90% of the free disk'}"
            f"; {_free(spill)} free on that disk now; DuckDB: \"{first_line(err)}\"). {after} To fix: {fix}; "
            f"a larger {memory} spills less.")
    return ResourceError(
        f"{doing} ran out of memory{'' if spill else ' with no spill folder'} "
        f"(DuckDB: \"{first_line(err)}\"). {after} To fix: raise {memory}.")


@contextmanager
def room_errors(ctx: Context, doing: str, after: str = KEPT) -> Iterator[None]:
    """Inside the block, DuckDB running out of memory or disk on ``ctx.db`` raises :class:`ResourceError`."""
    try:
        yield
    except duckdb.Error as err:
        if not is_out_of_room(err):
            raise
        raise out_of_room(ctx, err, doing, after) from err
