"""Allocation: every billed dollar of every hour in exactly one bucket (DESIGN.md rules 1-8).

``rebuild_allocation(ctx)`` recomputes the allocation tables; ``query.allocate_window`` and
``reconcile.reconcile`` read them; ``reference`` is the plain-Python oracle of the same rules.
"""

from tools.allocation.rebuild import AllocationSummary, rebuild_allocation

__all__ = ["AllocationSummary", "rebuild_allocation"]
