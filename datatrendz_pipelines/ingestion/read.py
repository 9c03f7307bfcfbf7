"""Reading a source's landing files into the temp table `_stage`, every column as text.

Files are checked against the contract's columns from their header first (cheap), then read
with DuckDB's own readers, one call per group of files of the same format and header. A file
that cannot be read, or whose columns break the contract, is reported with the reason, not
staged.
"""

from __future__ import annotations

from collections import defaultdict

import duckdb

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.ingestion.landing import LandingFile, read_header
from datatrendz_pipelines.ingestion.tables import ident


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


def reader_sql(contract: Contract, fmt: str, header: list[str]) -> str:
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


def short_error(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines[:3] if not line.startswith("Possible fixes")]
    return " / ".join(kept)


def stage_files(
    conn: duckdb.DuckDBPyConnection, contract: Contract, files: list[LandingFile]
) -> list[tuple[LandingFile, str]]:
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
            bad.append((file, f"cannot read the {file.format} header: {short_error(exc)}"))
            continue
        problem = header_problem(contract, header)
        if problem:
            bad.append((file, problem))
        else:
            groups[(file.format, tuple(header))].append(file)
    for (fmt, header), group in groups.items():
        sql = f"INSERT INTO _stage {reader_sql(contract, fmt, list(header))}"
        try:
            conn.execute(sql, {"files": [str(f.path) for f in group]})
        except duckdb.Error:
            for file in group:
                try:
                    conn.execute(sql, {"files": [str(file.path)]})
                except duckdb.Error as exc:
                    bad.append((file, f"cannot be read as {fmt}: {short_error(exc)}"))
    return bad
