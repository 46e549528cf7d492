"""Read one FOCUS file (CSV, CSV.gz or Parquet) into a text staging table with DuckDB.

Every column is staged as VARCHAR exactly as the file has it, so that one set of checks and
casts (tools.sources.focus_validate) serves every format and every bad value can be reported
with its data row. Rules:

* CSV: comma separated, double-quoted, with a header row; ``NULL`` and empty fields are null
  (quoted or not). Gzip is recognised by its magic bytes, not the file name.
* Parquet: recognised by its ``PAR1`` magic bytes; nested columns (a MAP or STRUCT ``Tags``,
  ``SkuPriceDetails``) are staged as JSON text, a list of ``{key, value}`` structs as a JSON
  object, timestamps as ISO text with their zone.
* ``source_row`` is the 1-based data row (the Nth record after the header; for Parquet the
  Nth row of the file), kept in the order DuckDB reads it (insertion order is preserved).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tools.errors import InputError, first_line
from tools.warehouse.room import is_out_of_room

_NESTED_PREFIXES = ("MAP(", "STRUCT(")
# Labels as a list of {key, value} structs (BigQuery's shape) become a JSON object.
_KEY_VALUE_LIST = re.compile(r'STRUCT\("?key"? VARCHAR, "?value"? VARCHAR\)\[\]', re.IGNORECASE)


@dataclass(frozen=True)
class StagedFile:
    """A file read into the temporary table ``table``."""

    path: Path
    sha256: str
    table: str
    columns: list[str]
    row_count: int
    file_format: str  # csv, csv.gz or parquet


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_format(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(b"\x1f\x8b"):
        return "csv.gz"
    if head == b"PAR1":
        return "parquet"
    return "csv"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_select(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    parts = []
    for name, dtype, *_ in described:
        column = quote_identifier(name)
        if _KEY_VALUE_LIST.fullmatch(dtype):
            parts.append(f"to_json(map_from_entries({column}))::VARCHAR AS {column}")
        elif dtype.upper().startswith(_NESTED_PREFIXES) or dtype.endswith("[]"):
            parts.append(f"to_json({column})::VARCHAR AS {column}")
        else:
            parts.append(f"{column}::VARCHAR AS {column}")
    return f"SELECT {', '.join(parts)} FROM read_parquet($path)"


_CSV_SELECT = (
    "SELECT * FROM read_csv($path, header = true, all_varchar = true, delim = ',', "
    "quote = '\"', escape = '\"', nullstr = ['NULL', ''], compression = $compression)"
)


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, sha256: str, table: str) -> StagedFile:
    """Read ``path`` into the temporary table ``table`` (all VARCHAR, file order kept).

    Raises:
        InputError: the file is empty, has no data rows, or cannot be read (truncated gzip,
            broken CSV quoting, not Parquet), naming the file and the fix.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file. Fix: pass the path of a FOCUS CSV, CSV.gz or Parquet export.")
    if path.stat().st_size == 0:
        raise InputError(
            f"{path}: the file is empty (0 bytes). Fix: export the FOCUS data again; a FOCUS file "
            "starts with a header row naming its columns (BilledCost, EffectiveCost, ...)."
        )
    file_format = _file_format(path)
    try:
        if file_format == "parquet":
            select = _parquet_select(con, path)
            params: dict[str, str] = {"path": str(path)}
        else:
            select = _CSV_SELECT
            params = {"path": str(path), "compression": "gzip" if file_format == "csv.gz" else "none"}
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}", params)
    except duckdb.Error as err:
        if is_out_of_room(err):
            raise                   # the warehouse's room, not the file: the front end names the setting
        raise InputError(_read_failure(path, file_format, err)) from None
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    row_count = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if row_count == 0:
        raise InputError(
            f"{path}: no data rows after the header (columns: {', '.join(columns)}). Fix: check the "
            "export finished; a billing period without charges needs no file."
        )
    return StagedFile(path, sha256, table, columns, row_count, file_format)


def _read_failure(path: Path, file_format: str, err: duckdb.Error) -> str:
    detail = first_line(err)
    if file_format == "csv.gz" and "gzip" in str(err).lower():
        return (
            f"{path}: cannot decompress the gzip file ({detail}); it is truncated or corrupt. "
            "Fix: download or copy the export again and check its size."
        )
    if file_format == "parquet":
        return f"{path}: cannot read the Parquet file ({detail}). Fix: re-export or re-download it."
    return (
        f"{path}: cannot read it as a FOCUS CSV ({detail}). Fix: the file must be comma-separated "
        "with double quotes and one header row; re-export it or repair the line named above."
    )
