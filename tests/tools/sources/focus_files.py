"""Test helpers: read the real FOCUS sample with the csv module, write variants of it, and
compute expected figures independently of the code under test (Decimal sums over csv rows)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

SAMPLE = Path("focus") / "focus_sample.csv"


@dataclass
class FocusTable:
    """A FOCUS file as header + rows of strings, exactly as the csv module reads it."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> "FocusTable":
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            return cls(header, [row for row in reader])

    def copy(self) -> "FocusTable":
        return FocusTable(list(self.header), [list(r) for r in self.rows])

    def col(self, name: str) -> int:
        return self.header.index(name)

    def values(self, name: str) -> list[str]:
        i = self.col(name)
        return [r[i] for r in self.rows]

    def rename(self, old: str, new: str) -> "FocusTable":
        self.header[self.col(old)] = new
        return self

    def drop(self, name: str) -> "FocusTable":
        i = self.col(name)
        self.header.pop(i)
        for r in self.rows:
            r.pop(i)
        return self

    def add(self, name: str, value_for_row) -> "FocusTable":
        self.header.append(name)
        for n, r in enumerate(self.rows):
            r.append(value_for_row(n, r))
        return self

    def where(self, predicate) -> "FocusTable":
        return FocusTable(list(self.header), [list(r) for r in self.rows if predicate(dict(zip(self.header, r)))])

    def write(self, path: Path) -> Path:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
            writer.writerow(self.header)
            writer.writerows(self.rows)
        return path

    def total(self, name: str) -> Decimal:
        return sum((Decimal(v) for v in self.values(name) if v != "NULL"), Decimal(0))


def sample(shared_data: Path) -> FocusTable:
    return FocusTable.read(shared_data / SAMPLE)


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def warehouse_state(con: duckdb.DuckDBPyConnection) -> dict:
    """Everything an ingest may change, for before/after comparisons."""
    return {
        "rows": con.execute(
            "SELECT count(*), sum(billed_cost), sum(effective_cost) FROM billing_rows"
        ).fetchall(),
        "content": con.execute(
            "SELECT delivery_id, source_file, source_row, billed_cost, effective_cost, "
            "billing_account_id, billing_period_start, tags::VARCHAR, extra::VARCHAR "
            "FROM billing_rows ORDER BY ALL"
        ).fetchall(),
        "deliveries": con.execute("SELECT * FROM billing_deliveries ORDER BY ALL").fetchall(),
        "files": con.execute("SELECT * FROM billing_files ORDER BY ALL").fetchall(),
        "runs": con.execute("SELECT run_id, source, status FROM ingest_runs ORDER BY ALL").fetchall(),
    }


def tags_of(text: str) -> dict | None:
    return None if text == "NULL" or text == "" else json.loads(text)
