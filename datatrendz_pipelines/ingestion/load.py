"""Loading a source's files for a set of days into raw.<source>, with DuckDB's own readers.

Contract for one call of `ingest_source`:
- every day in `days` is replaced as a whole (delete, then insert, in one transaction), so a
  re-run gives the same rows; a day with no file ends up empty;
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
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.ingestion.landing import LandingFile, LandingZone, read_header
from datatrendz_pipelines.ingestion.tables import ensure_tables, ident
from datatrendz_pipelines.quality.row_rules import judge_sql


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


def header_problem(contract: Contract, header: list[str]) -> str | None:
    """Why a file's columns do not meet the contract, or None. Nullable columns may be absent."""
    if not header:
        return "the file is empty: no header row"
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        return f"columns appear twice: {duplicated}"
    known = set(contract.column_names)
    unknown = [c for c in header if c not in known]
    missing = [c.name for c in contract.columns if not c.nullable and c.name not in header]
    problems = []
    if missing:
        problems.append(f"missing required columns {missing}")
    if unknown:
        problems.append(f"unknown columns {unknown}")
    if problems:
        return (
            "; ".join(problems)
            + f" (the {contract.source} contract expects {list(contract.column_names)})"
        )
    return None


def _reader_sql(contract: Contract, fmt: str, header: list[str]) -> str:
    """A SELECT of every contract column as text (NULL where the file lacks it) from $files."""
    if fmt == "csv":
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in header) + "}"
        source = (
            f"read_csv($files, header = true, auto_detect = false, columns = {columns}, "
            "delim = ',', quote = '\"', escape = '\"', strict_mode = true, filename = true)"
        )
    elif fmt == "jsonl":
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in contract.column_names) + "}"
        source = (
            f"read_json($files, format = 'newline_delimited', columns = {columns}, filename = true)"
        )
        header = list(contract.column_names)
    else:
        source = "read_parquet($files, union_by_name = true, filename = true)"
    present = set(header)
    select = ", ".join(
        f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}"
        if c in present
        else f"NULL::VARCHAR AS {ident(c)}"
        for c in contract.column_names
    )
    return f"SELECT {select}, filename AS _source_file FROM {source}"


def _short_error(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines[:3] if not line.startswith("Possible fixes")]
    return " / ".join(kept)


def _stage(
    conn: duckdb.DuckDBPyConnection, contract: Contract, files: list[LandingFile]
) -> list[RejectedFile | tuple[LandingFile, str]]:
    """Read the files into temp table _stage (text columns, file, row number in file).

    Files are read in groups of the same format and header (one reader call each); a group that
    fails is re-read file by file to find the unreadable ones, which are returned, not staged.
    """
    conn.execute("DROP TABLE IF EXISTS _stage")
    cols = ", ".join(f"{ident(c)} VARCHAR" for c in contract.column_names)
    conn.execute(f"CREATE TEMP TABLE _stage ({cols}, _source_file VARCHAR)")
    bad: list[tuple[LandingFile, str]] = []
    groups: dict[tuple[str, tuple[str, ...]], list[LandingFile]] = defaultdict(list)
    for file in files:
        try:
            header = read_header(file)
        except Exception as exc:
            bad.append((file, f"cannot read the {file.format} header: {_short_error(exc)}"))
            continue
        problem = header_problem(contract, header)
        if problem:
            bad.append((file, problem))
        else:
            groups[(file.format, tuple(header))].append(file)
    for (fmt, header), group in groups.items():
        sql = f"INSERT INTO _stage {_reader_sql(contract, fmt, list(header))}"
        try:
            conn.execute(sql, {"files": [str(f.path) for f in group]})
        except duckdb.Error:
            for file in group:
                try:
                    conn.execute(sql, {"files": [str(file.path)]})
                except duckdb.Error as exc:
                    bad.append((file, f"cannot be read as {fmt}: {_short_error(exc)}"))
    return bad


def _cast_error_sql(contract: Contract) -> str:
    parts = []
    for col in contract.columns:
        if col.type == "VARCHAR":
            continue
        name = ident(col.name)
        parts.append(
            f"CASE WHEN NULLIF(trim({name}), '') IS NOT NULL "
            f"AND TRY_CAST(trim({name}) AS {col.type}) IS NULL "
            f"THEN '{col.name}: ' || {name} || ' is not a valid {col.type}' END"
        )
    return f"concat_ws('; ', {', '.join(parts)})" if parts else "''"


def _typed_select(contract: Contract) -> str:
    cols = []
    for col in contract.columns:
        name = ident(col.name)
        if col.type == "VARCHAR":
            cols.append(name)
        else:
            cols.append(f"TRY_CAST(NULLIF(trim({name}), '') AS {col.type}) AS {name}")
    return ", ".join(cols)


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
) -> list[str]:
    """Build temp tables _checked (text rows with cast errors) and _judged (typed rows with the
    error rules they break). Returns the reference rules that could not be checked."""
    conn.execute("DROP TABLE IF EXISTS _file_days")
    conn.execute(
        "CREATE TEMP TABLE _file_days (_path VARCHAR, _file VARCHAR, _partition_date DATE)"
    )
    if files:
        conn.executemany(
            "INSERT INTO _file_days VALUES (?, ?, ?)",
            [(str(f.path), f.relative_name, f.day) for f in files],
        )
    # Lineage names the file by its place in the landing layout, which archiving keeps.
    conn.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        SELECT s.* EXCLUDE (_source_file), d._file AS _source_file, d._partition_date,
               s.rowid - min(s.rowid) OVER (PARTITION BY s._source_file) + 1 AS _source_row,
               {_cast_error_sql(contract)} AS _cast_errors
        FROM _stage s JOIN _file_days d ON s._source_file = d._path
        """
    )
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _typed AS
        SELECT {_typed_select(contract)}, _partition_date, _source_file, _source_row
        FROM _checked WHERE _cast_errors = ''"""
    )
    sql, skipped = judge_sql(contract, _delivered_sources(conn, contract))
    conn.execute(f"CREATE OR REPLACE TEMP TABLE _judged AS {sql}")
    return [f"{r.name} ({r.value[0]} never delivered)" for r in skipped]


def _write_days(
    conn: duckdb.DuckDBPyConnection,
    contract: Contract,
    files: list[LandingFile],
    days: list[dt.date],
    run_id: str,
) -> list[FileLoad]:
    """Replace the given days in raw, quarantine and the load log from _checked and _judged,
    in one transaction."""
    table = ident(contract.source)
    cols = ", ".join(ident(c) for c in contract.column_names)
    as_text = ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in contract.column_names)
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
        conn.execute(
            f"""INSERT INTO raw.{table} ({cols}, {lineage}, _loaded_at)
            SELECT {cols}, {lineage}, now()::TIMESTAMP
            FROM _judged WHERE _rules = '' ORDER BY _source_file, _source_row"""
        )
        conn.execute(
            f"""INSERT INTO quarantine.{table} ({cols}, {lineage}, _rule, _reason, _quarantined_at, _run_id)
            SELECT {cols}, {lineage}, 'type_cast', _cast_errors, now()::TIMESTAMP, $run_id
            FROM _checked WHERE _cast_errors <> ''
            UNION ALL
            SELECT {as_text}, {lineage}, _rules, _reasons, now()::TIMESTAMP, $run_id
            FROM _judged WHERE _rules <> ''""",
            {"run_id": run_id},
        )
        counts = conn.execute(
            """SELECT c._source_file, c.read, coalesce(j.loaded, 0)
            FROM (SELECT _source_file, count(*) AS read FROM _checked GROUP BY ALL) c
            LEFT JOIN (SELECT _source_file, count(*) AS loaded FROM _judged WHERE _rules = ''
                       GROUP BY ALL) j USING (_source_file)"""
        ).fetchall()
        by_file = {name: (read, loaded) for name, read, loaded in counts}
        loads = []
        for f in files:
            read, loaded = by_file.get(f.relative_name, (0, 0))
            loads.append(FileLoad(f, read, loaded, read - loaded))
        if loads:
            conn.executemany(
                "INSERT INTO meta.raw_loads VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?)",
                [
                    (
                        contract.source,
                        ld.file.day,
                        ld.file.relative_name,
                        ld.file.format,
                        ld.rows_read,
                        ld.rows_loaded,
                        ld.rows_quarantined,
                        run_id,
                    )
                    for ld in loads
                ],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return loads


def ingest_source(
    conn: duckdb.DuckDBPyConnection,
    zone: LandingZone,
    contract: Contract,
    days: Iterable[dt.date],
    run_id: str = "",
    log: Callable[[str], None] = lambda _msg: None,
) -> LoadReport:
    """Load `days` of one source from the landing zone (and archive) into raw.<source>."""
    started = time.perf_counter()
    days = sorted(set(days))
    report = LoadReport(contract.source)
    ensure_tables(conn, contract)
    files_by_day = zone.files_for(contract.source, days)
    files = [f for day_files in files_by_day.values() for f in day_files]
    log(f"{contract.source}: {len(files)} file(s) for {len(days)} day(s)")
    bad = _stage(conn, contract, files)
    bad_days = {f.day for f, _ in bad}
    for file, reason in bad:
        message = f"{file.path}: {reason}"
        kept = zone.reject(file, message)
        report.rejected.append(RejectedFile(file, message, str(kept)))
        log(f"rejected {message}; kept at {kept}")
    good_files = [f for f in files if f.day not in bad_days]
    good_days = [d for d in days if d not in bad_days]
    if bad_days:
        # The rows of the rejected days' other files must not reach raw either.
        conn.execute(
            "DELETE FROM _stage WHERE _source_file NOT IN (SELECT unnest($files))",
            {"files": [str(f.path) for f in good_files]},
        )
    report.unchecked_references = _judge(conn, contract, good_files)
    report.files = _write_days(conn, contract, good_files, good_days, run_id)
    report.days_loaded = good_days
    for file in good_files:
        zone.archive(file)
    report.seconds = time.perf_counter() - started
    log(
        f"{contract.source}: {report.rows_loaded} rows loaded, {report.rows_quarantined} quarantined "
        f"in {report.seconds:.2f}s"
    )
    return report
