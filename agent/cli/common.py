"""What every command shares: the --db option, the Context, and JSON/table output."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Iterator, Sequence, TextIO

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tools.context import Context
from tools.errors import InputError
from tools.warehouse.room import room_errors

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Warehouse file (else $ALLOT_DB, else ~/.local/share/allot/allot.duckdb).",
                 envvar="ALLOT_DB", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print stable JSON instead of a table.")]

def _console() -> Console:
    """A console for the stdout of this moment; piped or captured output gets 160 columns
    rather than 80, so tables keep their full names."""
    piped = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return Console(width=160 if piped else None)


@contextmanager
def open_context(db: Path | None) -> Iterator[Context]:
    """Open the warehouse for one command and close it afterwards; running out of memory or
    disk becomes a ResourceError that names the setting to change."""
    ctx = Context.open(db)
    try:
        with room_errors(ctx, "The command"):
            yield ctx
    finally:
        ctx.close()


def open_out(out: Path, newline: str | None = None) -> TextIO:
    """``--out`` opened for writing (its folder created); an InputError that names it when it cannot be."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return out.open("w", newline=newline)
    except OSError as err:
        raise InputError(f"--out {out}: cannot write there ({err.strerror}); pick a file in a folder you "
                         "can write to") from None


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(value: Any) -> None:
    """Stable JSON on stdout (scripts and evals parse it)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    typer.echo(json.dumps(value, indent=2, default=_default))


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain rich table; numbers right-aligned."""
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        numeric = bool(rows) and isinstance(rows[0][i], (int, float))
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows:
        # Cells are data (names, labels, images such as env[app]): never rich markup.
        table.add_row(*[money(v) if isinstance(v, float) else escape(str(v)) for v in row])
    _console().print(table)
