"""The Context every tool receives: its warehouse connection, its clock and its settings.

Nothing above ``tools/`` opens a file, socket or cluster connection itself; front ends build
a Context once and pass it down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from tools.settings import Settings, load_settings
from tools.warehouse import open_warehouse


def utc_now() -> datetime:
    """Naive UTC now: the warehouse stores every timestamp as naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class Context:
    """What a tool may use: ``db`` (DuckDB connection), ``settings`` and ``clock``."""

    db: duckdb.DuckDBPyConnection
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def open(cls, db_path: Path | str | None = None, settings: Settings | None = None) -> "Context":
        """Open (creating and migrating if needed) the warehouse named by ``db_path`` or settings."""
        settings = settings or load_settings()
        path = Path(db_path) if db_path is not None else settings.db
        room = settings.warehouse
        return cls(db=open_warehouse(path, room.memory_limit, room.temp_directory, room.max_temp_size),
                   settings=settings)

    def close(self) -> None:
        self.db.close()
