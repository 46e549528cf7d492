"""The ``allot`` command-line program."""

from __future__ import annotations

import logging
import os
import sys

import typer

from tools.errors import AllotError

app = typer.Typer(
    name="allot",
    help="Kubernetes cost allocation reconciled to the bill, with an agent that explains it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Each command module adds its commands to `app`; --help lists them in this order.
    from agent.cli import demo  # noqa: F401
    from agent.cli import ingest  # noqa: F401
    from agent.cli import billing  # noqa: F401
    from agent.cli import allocate  # noqa: F401
    from agent.cli import explain  # noqa: F401
    from agent.cli import waste  # noqa: F401
    from agent.cli import plans  # noqa: F401
    from agent.cli import report  # noqa: F401


def main() -> None:
    """Entry point: runs the CLI and turns allot's typed errors into a message and exit code 2."""
    logging.basicConfig(
        level=os.environ.get("ALLOT_LOG_LEVEL", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    _register()
    try:
        app()
    except AllotError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
