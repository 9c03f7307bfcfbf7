"""Loading a source's files for a set of days into raw.<source>, with DuckDB's own readers.

Contract for one call of `ingest_source`:
- every day in `days` is replaced as a whole (delete, then insert, in one transaction; a long
  backfill is loaded in chunks of days, a transaction each), so a re-run gives the same rows;
  a day with no file ends up empty;
- a file that cannot be read in its format, or whose columns do not match the contract, is moved
  to the rejected folder with the reason beside it, and its day is left exactly as it was;
- a row whose value cannot be cast to the contract type, or that breaks an error rule of the
  contract (see quality.row_rules), goes to quarantine.<source> with its values, file, row,
  rule and reason; for every file, rows read = rows loaded + rows quarantined;
- loaded files move to the archive after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.ingestion.landing import LandingFile, LandingZone
from datatrendz_pipelines.ingestion.read import stage_files
from datatrendz_pipelines.ingestion.tables import ensure_tables, ident
from datatrendz_pipelines.quality.row_rules import judge_sql

# Files loaded per transaction: a long backfill holds one chunk in memory at a time.
CHUNK_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class FileLoad:
    file: LandingFile
    rows_read: int
    rows_loaded: int
    rows_quarantined: int


@dataclass(frozen=True)
class RejectedFile:
    file: LandingFile
    reason: str
    kept_at: str


@dataclass
class LoadReport:
    source: str
    days_loaded: list[dt.date] = field(default_factory=list)
    files: list[FileLoad] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)
    unchecked_references: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


def _text_select(contract: Contract) -> str:
    """Every contract column as read, typed columns trimmed and blank as NULL."""
    return ", ".join(
        ident(col.name)
        if col.type == "VARCHAR"
        else f"NULLIF(trim({ident(col.name)}), '') AS {ident(col.name)}"
        for col in contract.columns
    )


def _cast_select(contract: Contract) -> str:
    """Over `_text_select`: each typed column cast once, beside its text as `<name>__text`."""
    cols = []
    for col in contract.columns:
        name = ident(col.name)
        if col.type == "VARCHAR":
            cols.append(name)
        else:
            cols.append(f"TRY_CAST({name} AS {col.type}) AS {name}, {name} AS {_text(col.name)}")
    return ", ".join(cols)


def _cast_error_sql(contract: Contract) -> str:
    """Over `_cast_select`: the values given that did not cast, '' when none."""
    parts = []
    for col in contract.columns:
        if col.type == "VARCHAR":
            continue
        name, text = ident(col.name), _text(col.name)
        parts.append(
            f"CASE WHEN {text} IS NOT NULL AND {name} IS NULL "
            f"THEN '{col.name}: ' || {text} || ' is not a valid {col.type}' END"
        )
    return f"concat_ws('; ', {', '.join(parts)})" if parts else "''"


def _text(column: str) -> str:
    return ident(f"{column}__text")


def _delivered_sources(conn: duckdb.DuckDBPyConnection, contract: Contract) -> set[str]:
    """Referenced sources that have ever delivered a row (their raw table is not empty)."""
    referenced = {r.value[0] for r in contract.rules if r.kind == "references"}
    existing = {
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'"
        ).fetchall()
    }
    return {
        source
        for source in referenced & existing
        if conn.execute(f"SELECT EXISTS (SELECT 1 FROM raw.{ident(source)})").fetchone()[0]
    }


def _judge(
    conn: duckdb.DuckDBPyConnection, contract: Contract, files: list[LandingFile]
) -> tuple[str, list[str]]:
    """The query judging _stage: every staged row once, typed, with its lineage, `_stage_row`
    (its row in _stage), and `_rules` / `_reasons` ('' when it is good; 'type_cast' with the
    cast errors when a value cannot be typed; else the error rules it breaks). Builds temp table
    _files: per staged file its day, name in the layout, first row and row count.
    Also returns the reference rules that could not be checked."""
    # Lineage names the file by its place in the landing layout, which archiving keeps. A
    # file's rows are numbered from its first row in _stage (files are staged whole, in order).
    conn.execute(
        """
        CREATE OR REPLACE TEMP TABLE _files AS
        WITH listed AS (
            SELECT unnest($paths) AS _path, unnest($names) AS _file,
                   unnest($days)::DATE AS _partition_date
        ),
        staged AS (
            SELECT _source_file AS _path, min(rowid) AS _first_row, count(*) AS _rows_read
            FROM _stage GROUP BY ALL
        )
        SELECT l.*, coalesce(s._first_row, 0) AS _first_row, coalesce(s._rows_read, 0) AS _rows_read
        FROM listed l LEFT JOIN staged s USING (_path)
        """,
        {
            "paths": [str(f.path) for f in files],
            "names": [f.relative_name for f in files],
            "days": [f.day for f in files],
        },
    )
    rules_sql, skipped = judge_sql(contract, _delivered_sources(conn, contract))
    texts = [_text(c.name) for c in contract.columns if c.type != "VARCHAR"]
    exclude = f"EXCLUDE ({', '.join(texts)})" if texts else ""
    judged = f"""
        WITH _checked AS (
            -- Each value trimmed once and cast once: typing is most of the judging's work.
            SELECT * {exclude}, {_cast_error_sql(contract)} AS _cast_errors
            FROM (
                SELECT {_cast_select(contract)}, _partition_date, _source_file, _source_row,
                       _stage_row
                FROM (
                    SELECT {_text_select(contract)}, f._partition_date, f._file AS _source_file,
                           s.rowid - f._first_row + 1 AS _source_row, s.rowid AS _stage_row
                    FROM _stage s JOIN _files f ON s._source_file = f._path
                )
            )
        ),
        _typed AS (SELECT * EXCLUDE (_cast_errors) FROM _checked WHERE _cast_errors = '')
        {rules_sql}
        UNION ALL BY NAME
        SELECT * EXCLUDE (_cast_errors), 'type_cast' AS _rules, _cast_errors AS _reasons
        FROM _checked WHERE _cast_errors <> ''
        """
    return judged, [f"{r.name} ({r.value[0]} never delivered)" for r in skipped]


def _write_days(
    conn: duckdb.DuckDBPyConnection,
    contract: Contract,
    judged: str,
    files: list[LandingFile],
    days: list[dt.date],
    run_id: str,
) -> list[FileLoad]:
    """Replace the given days in raw, quarantine and the load log with the rows of the `judged`
    query (and, for the quarantined rows, their text as read from _stage), in one transaction.

    The good rows go straight from the query into raw: keeping every judged row in a table
    first cost more than judging a second time in the rare load that has bad rows."""
    table = ident(contract.source)
    cols = ", ".join(ident(c) for c in contract.column_names)
    as_read = ", ".join(f"s.{ident(c)}" for c in contract.column_names)
    lineage = "_partition_date, _source_file, _source_row"
    conn.execute("BEGIN TRANSACTION")
    try:
        for schema in ("raw", "quarantine"):
            conn.execute(
                f"DELETE FROM {schema}.{table} WHERE _partition_date IN (SELECT unnest($days))",
                {"days": days},
            )
        conn.execute(
            "DELETE FROM meta.raw_loads WHERE source = $source AND partition_date IN (SELECT unnest($days))",
            {"source": contract.source, "days": days},
        )
        # No ORDER BY: the judged rows keep _stage's order, the files' (and so the days') order.
        (loaded,) = conn.execute(
            f"""INSERT INTO raw.{table} ({cols}, {lineage}, _loaded_at)
            SELECT {cols}, {lineage}, now()::TIMESTAMP FROM ({judged}) WHERE _rules = ''"""
        ).fetchone()
        read_by_file = dict(conn.execute("SELECT _file, _rows_read FROM _files").fetchall())
        loaded_by_file = read_by_file
        if loaded < sum(read_by_file.values()):
            conn.execute(
                f"""INSERT INTO quarantine.{table} ({cols}, {lineage}, _rule, _reason, _quarantined_at, _run_id)
                SELECT {as_read}, j._partition_date, j._source_file, j._source_row, j._rules,
                       j._reasons, now()::TIMESTAMP, $run_id
                FROM ({judged}) j JOIN _stage s ON s.rowid = j._stage_row
                WHERE j._rules <> ''""",
                {"run_id": run_id},
            )
            loaded_by_file = dict(
                conn.execute(
                    f"""SELECT _source_file, count(*) FROM raw.{table}
                    WHERE _partition_date IN (SELECT unnest($days)) GROUP BY ALL""",
                    {"days": days},
                ).fetchall()
            )
        loads = []
        for f in files:
            read = read_by_file.get(f.relative_name, 0)
            loaded_rows = loaded_by_file.get(f.relative_name, 0)
            loads.append(FileLoad(f, read, loaded_rows, read - loaded_rows))
        if loads:
            conn.execute(
                """INSERT INTO meta.raw_loads
                SELECT $source, unnest($days)::DATE, unnest($files), unnest($formats),
                       unnest($read), unnest($loaded), unnest($quarantined), now()::TIMESTAMP,
                       $run_id""",
                {
                    "source": contract.source,
                    "days": [ld.file.day for ld in loads],
                    "files": [ld.file.relative_name for ld in loads],
                    "formats": [ld.file.format for ld in loads],
                    "read": [ld.rows_read for ld in loads],
                    "loaded": [ld.rows_loaded for ld in loads],
                    "quarantined": [ld.rows_quarantined for ld in loads],
                    "run_id": run_id,
                },
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return loads


def day_chunks(
    days: list[dt.date],
    files_by_day: dict[dt.date, list[LandingFile]],
    max_bytes: int,
) -> list[list[dt.date]]:
    """`days` in order, cut into runs whose files add up to about `max_bytes` at most (a day
    is never split; a day larger than `max_bytes` is a chunk of its own)."""
    chunks: list[list[dt.date]] = [[]]
    size = 0
    for day in days:
        day_bytes = sum(f.path.stat().st_size for f in files_by_day.get(day, []))
        if chunks[-1] and size + day_bytes > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(day)
        size += day_bytes
    return chunks


def ingest_source(
    conn: duckdb.DuckDBPyConnection,
    zone: LandingZone,
    contract: Contract,
    days: Iterable[dt.date],
    run_id: str = "",
    log: Callable[[str], None] = lambda _msg: None,
    chunk_bytes: int = CHUNK_BYTES,
) -> LoadReport:
    """Load `days` of one source from the landing zone (and archive) into raw.<source>.

    The days are loaded in chunks of about `chunk_bytes` of files, each in a transaction of its
    own, so a long backfill needs the memory of one chunk and reports its progress."""
    started = time.perf_counter()
    days = sorted(set(days))
    report = LoadReport(contract.source)
    ensure_tables(conn, contract)
    files_by_day = zone.files_for(contract.source, days)
    chunks = day_chunks(days, files_by_day, chunk_bytes)
    log(
        f"{contract.source}: {sum(map(len, files_by_day.values()))} file(s) for {len(days)} "
        f"day(s), in {len(chunks)} chunk(s)"
    )
    unchecked: set[str] = set()
    for number, chunk in enumerate(chunks, start=1):
        files = [f for day in chunk for f in files_by_day.get(day, [])]
        bad = stage_files(conn, contract, files)
        bad_days = {f.day for f, _ in bad}
        for file, reason in bad:
            message = f"{file.path}: {reason}"
            kept = zone.reject(file, message)
            report.rejected.append(RejectedFile(file, message, str(kept)))
            log(f"rejected {message}; kept at {kept}")
        good_files = [f for f in files if f.day not in bad_days]
        good_days = [d for d in chunk if d not in bad_days]
        if bad_days:
            # The rows of the rejected days' other files must not reach raw either.
            conn.execute(
                "DELETE FROM _stage WHERE _source_file NOT IN (SELECT unnest($files))",
                {"files": [str(f.path) for f in good_files]},
            )
        judged, skipped = _judge(conn, contract, good_files)
        unchecked.update(skipped)
        loads = _write_days(conn, contract, judged, good_files, good_days, run_id)
        report.files.extend(loads)
        report.days_loaded.extend(good_days)
        for file in good_files:
            zone.archive(file)
        if len(chunks) > 1:
            log(
                f"{contract.source}: chunk {number}/{len(chunks)} ({chunk[0]}..{chunk[-1]}): "
                f"{sum(ld.rows_loaded for ld in loads):,} rows loaded, "
                f"{sum(ld.rows_quarantined for ld in loads):,} quarantined"
            )
    for table in ("_stage", "_files"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    report.unchecked_references = sorted(unchecked)
    report.seconds = time.perf_counter() - started
    log(
        f"{contract.source}: {report.rows_loaded} rows loaded, {report.rows_quarantined} quarantined "
        f"in {report.seconds:.2f}s"
    )
    return report
