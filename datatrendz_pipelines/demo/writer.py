"""Writing a day's table as one landing-zone file, byte-identical for identical input.

CSV and JSON lines go through DuckDB's COPY (header row, comma separator, empty field = null,
`YYYY-MM-DD` dates, `YYYY-MM-DD HH:MM:SS` timestamps, `true`/`false`, decimals with their
scale); Parquet through pyarrow with typed columns. Rows keep the table's order.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq


def landing_path(root: Path, source: str, day: dt.date, extension: str, suffix: str = "") -> Path:
    """`<root>/<source>/date=YYYY-MM-DD/<source>_YYYY-MM-DD<suffix>.<extension>`."""
    stamp = day.isoformat()
    return root / source / f"date={stamp}" / f"{source}_{stamp}{suffix}.{extension}"


class FileWriter:
    """Writes tables in one format on a background thread, so simulating the next day overlaps
    writing this one. One in-memory DuckDB connection does the COPYs (used by that thread only)."""

    def __init__(self, file_format: str, max_pending: int = 16) -> None:
        self.file_format = file_format
        self._conn = duckdb.connect(":memory:")
        self._conn.execute("SET preserve_insertion_order = true")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-writer")
        self._pending: deque[Future[None]] = deque()
        self._max_pending = max_pending

    def write(self, table: pa.Table, path: Path) -> int:
        """Queue the table (without its `_` helper columns) for path; return the rows it holds."""
        table = table.select([name for name in table.column_names if not name.startswith("_")])
        self._pending.append(self._pool.submit(self._write_now, table, path))
        while len(self._pending) > self._max_pending:  # bound the memory held by queued tables
            self._pending.popleft().result()
        return table.num_rows

    def _write_now(self, table: pa.Table, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        if self.file_format == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        else:
            options = (
                "FORMAT csv, HEADER true, DELIMITER ','"
                if self.file_format == "csv"
                else "FORMAT json"
            )
            self._conn.register("_day_table", table)
            try:
                target = tmp.as_posix().replace("'", "''")
                self._conn.execute(f"COPY _day_table TO '{target}' ({options})")
            finally:
                self._conn.unregister("_day_table")
        tmp.replace(path)  # a reader never sees a half-written file

    def close(self) -> None:
        """Wait for every queued file (re-raising the first failure) and release resources."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._conn.close()
