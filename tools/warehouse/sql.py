"""SQL text for values DuckDB cannot take as parameters (views, macros, generated expressions)."""

from __future__ import annotations

from collections.abc import Iterable


def literal(value: str) -> str:
    """``value`` as a SQL string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def literal_list(values: Iterable[str]) -> str:
    """``values`` as a SQL list literal of strings."""
    return "[" + ", ".join(literal(v) for v in values) + "]"
