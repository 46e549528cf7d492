"""Typed errors. Messages name the file, row, column, window or field, and the fix.

Only the front ends (CLI, TUI, Slack) turn these into display.
"""

from __future__ import annotations


class AllotError(Exception):
    """Base of every error allot raises on purpose."""


class InputError(AllotError):
    """The user's input (a file, a flag, a window) is wrong; the message says how to fix it."""


class ConfigError(AllotError):
    """Settings or credentials are missing or wrong."""


class WarehouseError(AllotError):
    """The warehouse file cannot be opened: another process holds it, or it is not a warehouse."""


class ResourceError(AllotError):
    """The warehouse ran out of memory or disk; the message names the limit and the setting to change."""


class SourceError(AllotError):
    """A data source (a cluster, Prometheus, a cloud API) failed or refused."""


class ToolRetry(AllotError):
    """A tool call the model should retry with different arguments.

    ``valid`` carries the values that would have worked, for the model to pick from.
    """

    def __init__(self, message: str, valid: list[str] | None = None):
        super().__init__(message)
        self.valid = valid or []


class NoDataError(AllotError):
    """The warehouse holds nothing for what was asked; never rendered as zero."""


def first_line(err: BaseException) -> str:
    """A library error's first line without its closing stop, to quote inside our own message.

    DuckDB's messages run on with SQL hints and stack details after the first line.
    """
    lines = str(err).strip().splitlines()
    return lines[0].rstrip("!.") if lines else type(err).__name__
