"""What every ingest does after it commits: recompute the allocation from the warehouse.

Each ingest command calls :func:`refresh_allocation` at its end (the demo once, at the end of
its run), so that queries always read an allocation consistent with everything ingested.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Any

from tools.context import Context

log = logging.getLogger(__name__)

ALLOCATION_MODULE = "tools.allocation"


def refresh_allocation(ctx: Context) -> Any | None:
    """Run ``tools.allocation.rebuild_allocation(ctx)`` and return its summary.

    Returns None, and does nothing, when the allocation engine is not installed in this
    build (no ``tools.allocation`` module or no ``rebuild_allocation`` in it). Errors raised
    by the rebuild itself propagate: a broken allocation must not look like a fresh one.
    """
    if importlib.util.find_spec(ALLOCATION_MODULE) is None:
        log.info("allocation engine not present; skipped the allocation rebuild")
        return None
    module = importlib.import_module(ALLOCATION_MODULE)
    rebuild = getattr(module, "rebuild_allocation", None)
    if rebuild is None:
        log.info("%s has no rebuild_allocation; skipped the allocation rebuild", ALLOCATION_MODULE)
        return None
    return rebuild(ctx)
