"""What an ingest reports back: counts, caveats (data it could not find) and warnings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IngestReport(BaseModel):
    """The outcome of one ingest call."""

    source: str = Field(description="focus, kubernetes, metrics, prometheus, demo, ...")
    cluster: str | None = None
    files: list[str] = Field(default_factory=list)
    rows: dict[str, int] = Field(default_factory=dict, description="rows written per table")
    caveats: list[str] = Field(default_factory=list, description="data that was missing, in words")
    warnings: list[str] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain lines for a terminal or a log."""
        where = f" ({self.cluster})" if self.cluster else ""
        written = ", ".join(f"{n} {t}" for t, n in self.rows.items()) or "no rows written"
        out = [f"{self.source}{where}: {written}"]
        out += [f"caveat: {c}" for c in self.caveats]
        out += [f"warning: {w}" for w in self.warnings]
        return out
