"""Export tables as Parquet for a data lake: hive-style daily partitions, replaced atomically."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PARTITION_KEY = "date"


@dataclass(frozen=True)
class ExportResult:
    files: list[str]  # paths written, in the filesystem's own notation
    rows: int
    bytes: int


def export_parquet(
    table: pa.Table, root: str, *, name: str, date_column: str | None
) -> ExportResult:
    """Write `table` under `<root>/<name>/` and return what was written.

    With `date_column` (a date or timestamp): one file per day present in `table`,
    `<root>/<name>/date=YYYY-MM-DD/part-0.parquet`, each replacing that day's previous file
    atomically (written aside, then renamed over it); days absent from `table` are left alone.
    The column stays in the files (so a single file is self-describing) unless it is itself named
    `date`, which the partition key then supplies. Without `date_column`: one
    `<root>/<name>/data.parquet`, replaced the same way. `root` is a local path or any URI that
    pyarrow.fs understands (s3://, gs://, hdfs://; others through fsspec when installed).
    Read back with DuckDB `read_parquet('<root>/<name>/*/*.parquet', hive_partitioning=true)`.
    """
    fs, base = _filesystem(root)
    folder = f"{base.rstrip('/')}/{name}"
    if date_column is None:
        return _result(fs, [_write(fs, table, f"{folder}/data.parquet")], table.num_rows)
    if date_column not in table.column_names:
        raise ValueError(f"{date_column!r} is not a column of {name!r}")
    days = table.column(date_column)
    if not (pa.types.is_date(days.type) or pa.types.is_timestamp(days.type)):
        raise ValueError(f"{date_column!r} must be a date or timestamp, not {days.type}")
    if days.null_count:
        raise ValueError(f"{date_column!r} has {days.null_count} nulls: they fit no partition")
    if table.num_rows == 0:
        return _result(fs, [], 0)  # no day to replace
    day_numbers = days.cast(pa.date32()).cast(pa.int32()).to_numpy()
    content = table.drop_columns([date_column]) if date_column == PARTITION_KEY else table
    # Each day is a zero-copy slice of the rows in day order: a `take` per day re-read the
    # whole table each time (730 days of 3.9M rows: 60 s instead of 2).
    if np.any(day_numbers[1:] < day_numbers[:-1]):
        order = np.argsort(day_numbers, kind="stable")
        day_numbers, content = day_numbers[order], content.take(pa.array(order))
    content = content.combine_chunks()
    starts = np.flatnonzero(np.r_[True, day_numbers[1:] != day_numbers[:-1]])
    ends = np.r_[starts[1:], len(day_numbers)]
    files = []
    for start, end in zip(starts, ends, strict=True):
        day = np.datetime64(int(day_numbers[start]), "D")
        part = content.slice(start, end - start)
        files.append(_write(fs, part, f"{folder}/{PARTITION_KEY}={day}/part-0.parquet"))
    return _result(fs, files, table.num_rows)


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" not in root:
        return pafs.LocalFileSystem(), os.path.abspath(root)
    try:
        return pafs.FileSystem.from_uri(root)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import fsspec  # only for schemes pyarrow.fs lacks

        fs, path = fsspec.core.url_to_fs(root)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def _write(fs: pafs.FileSystem, table: pa.Table, path: str) -> str:
    """Write `path` so readers see the old file or the new one, never a partial file."""
    folder = path.rsplit("/", 1)[0]
    fs.create_dir(folder, recursive=True)
    if isinstance(fs, pafs.LocalFileSystem):
        temporary = f"{folder}/.{uuid.uuid4().hex}.parquet.tmp"  # hidden from readers' globs
        try:
            pq.write_table(table, temporary, compression="zstd")
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    else:  # object stores publish an object only once its upload completes
        pq.write_table(table, path, filesystem=fs, compression="zstd")
    return path


def _result(fs: pafs.FileSystem, files: list[str], rows: int) -> ExportResult:
    size = sum(info.size or 0 for info in fs.get_file_info(files))
    return ExportResult(files=files, rows=rows, bytes=size)
