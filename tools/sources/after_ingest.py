"""What every ingest does after it commits: recompute the allocation from the warehouse.

Each ingest command calls :func:`refresh_allocation` at its end (the demo once, at the end of
its run), so that queries always read an allocation consistent with everything ingested.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from tools.context import Context
from tools.progress import ProgressCallback, no_progress
from tools.warehouse.room import room_errors

log = logging.getLogger(__name__)

ALLOCATION_MODULE = "tools.allocation"

STALE = ("The ingest itself was saved; the allocation, rebuilt in one transaction, still holds what it held "
         "before, so it does not count the new data until `allot allocate --rebuild` runs with more room.")

_DEFERRED: ContextVar[frozenset[int]] = ContextVar("allocation_deferred", default=frozenset())


@contextmanager
def allocation_deferred(ctx: Context) -> Iterator[None]:
    """Inside the block, :func:`refresh_allocation` on `ctx` does nothing.

    For a caller that ingests several sources in a row (``allot demo``) and rebuilds the
    allocation once at the end, instead of once per ingest.
    """
    token = _DEFERRED.set(_DEFERRED.get() | {id(ctx)})
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def refresh_allocation(ctx: Context, progress: ProgressCallback = no_progress) -> Any | None:
    """Run ``tools.allocation.rebuild_allocation(ctx, progress)`` and return its summary.

    Returns None, and does nothing, when the allocation engine is not installed in this
    build (no ``tools.allocation`` module or no ``rebuild_allocation`` in it). Errors raised
    by the rebuild itself propagate: a broken allocation must not look like a fresh one. When
    it runs out of memory or disk, the ResourceError says the ingest before it is kept and how
    to rebuild later. Also None inside :func:`allocation_deferred` for this context.
    """
    if id(ctx) in _DEFERRED.get():
        log.info("allocation rebuild deferred by the caller")
        return None
    if importlib.util.find_spec(ALLOCATION_MODULE) is None:
        log.info("allocation engine not present; skipped the allocation rebuild")
        return None
    module = importlib.import_module(ALLOCATION_MODULE)
    rebuild = getattr(module, "rebuild_allocation", None)
    if rebuild is None:
        log.info("%s has no rebuild_allocation; skipped the allocation rebuild", ALLOCATION_MODULE)
        return None
    with room_errors(ctx, "Recomputing the allocation after the ingest", after=STALE):
        return rebuild(ctx, progress)
