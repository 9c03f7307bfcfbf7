"""Parquet export: hive-style daily partitions, atomic per partition, readable by DuckDB/pandas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datatrendz_pipelines.publishing.parquet import export_parquet


def sales(days: list[int], rows_per_day: int, revenue: float = 1.0) -> pa.Table:
    dates = [dt.date(2024, 5, d) for d in days for _ in range(rows_per_day)]
    return pa.table(
        {
            "sales_date": pa.array(dates, pa.date32()),
            "store_id": pa.array(range(len(dates)), pa.int32()),
            "revenue": [revenue] * len(dates),
        }
    )


def test_partitions_layout_and_duckdb_reads_them(tmp_path: Path) -> None:
    result = export_parquet(
        sales([3, 1, 2], 4), str(tmp_path), name="kpi_sales", date_column="sales_date"
    )
    folder = tmp_path / "kpi_sales"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "date=2024-05-01",
        "date=2024-05-01/part-0.parquet",
        "date=2024-05-02",
        "date=2024-05-02/part-0.parquet",
        "date=2024-05-03",
        "date=2024-05-03/part-0.parquet",
    ]
    assert result.rows == 12 and len(result.files) == 3
    assert result.bytes == sum(Path(f).stat().st_size for f in result.files)
    rows = duckdb.sql(
        f"select date, count(*), min(sales_date = date) from read_parquet("
        f"'{folder}/*/*.parquet', hive_partitioning = true) group by all order by date"
    ).fetchall()
    assert rows == [(dt.date(2024, 5, d), 4, True) for d in (1, 2, 3)]
    frame = pd.read_parquet(folder / "date=2024-05-02" / "part-0.parquet")
    assert len(frame) == 4 and set(frame["sales_date"]) == {dt.date(2024, 5, 2)}


def test_re_export_replaces_only_the_days_present(tmp_path: Path) -> None:
    export_parquet(sales([1, 2, 3], 4), str(tmp_path), name="kpi", date_column="sales_date")
    untouched = (tmp_path / "kpi" / "date=2024-05-01" / "part-0.parquet").read_bytes()
    export_parquet(sales([2], 2, revenue=9.0), str(tmp_path), name="kpi", date_column="sales_date")
    totals = duckdb.sql(
        f"select date, count(*), sum(revenue) from read_parquet('{tmp_path}/kpi/*/*.parquet',"
        " hive_partitioning = true) group by all order by date"
    ).fetchall()
    assert totals == [
        (dt.date(2024, 5, 1), 4, 4.0),
        (dt.date(2024, 5, 2), 2, 18.0),
        (dt.date(2024, 5, 3), 4, 4.0),
    ]
    assert (tmp_path / "kpi" / "date=2024-05-01" / "part-0.parquet").read_bytes() == untouched
    assert not [p for p in (tmp_path / "kpi").rglob("*") if p.name.startswith(".")]


def codecs(files: list[str]) -> set[str]:
    return {pq.ParquetFile(f).metadata.row_group(0).column(0).compression for f in files}


def test_small_files_are_snappy_and_large_ones_zstd(tmp_path: Path) -> None:
    small = export_parquet(sales([1, 2], 999), str(tmp_path), name="s", date_column="sales_date")
    large = export_parquet(sales([1, 2], 1000), str(tmp_path), name="l", date_column="sales_date")
    one = export_parquet(sales([1], 3), str(tmp_path), name="one", date_column=None)
    assert (codecs(small.files), codecs(large.files), codecs(one.files)) == (
        {"SNAPPY"},
        {"ZSTD"},
        {"SNAPPY"},
    )


def test_table_without_date_is_one_file_pandas_reads(tmp_path: Path) -> None:
    table = sales([1], 3).drop_columns(["sales_date"])
    result = export_parquet(table, str(tmp_path / "lake"), name="dim_stores", date_column=None)
    assert result.files == [str(tmp_path / "lake" / "dim_stores" / "data.parquet")]
    export_parquet(table.slice(0, 1), str(tmp_path / "lake"), name="dim_stores", date_column=None)
    assert len(pd.read_parquet(result.files[0])) == 1


def test_column_named_date_comes_from_the_partition_key(tmp_path: Path) -> None:
    table = sales([1, 2], 2).rename_columns(["date", "store_id", "revenue"])
    export_parquet(table, str(tmp_path), name="t", date_column="date")
    assert pq.read_schema(tmp_path / "t" / "date=2024-05-01" / "part-0.parquet").names == [
        "store_id",
        "revenue",
    ]
    frame = pd.read_parquet(tmp_path / "t")  # pyarrow dataset, hive partitions
    assert len(frame) == 4 and "date" in frame.columns


def test_timestamps_partition_by_day_and_nulls_are_refused(tmp_path: Path) -> None:
    stamps = pa.array([dt.datetime(2024, 5, 1, 23, 59), dt.datetime(2024, 5, 2, 0, 1)])
    export_parquet(pa.table({"at": stamps}), str(tmp_path), name="events", date_column="at")
    assert sorted(p.name for p in (tmp_path / "events").iterdir()) == [
        "date=2024-05-01",
        "date=2024-05-02",
    ]
    with pytest.raises(ValueError, match="nulls"):
        export_parquet(
            pa.table({"at": pa.array([None], pa.timestamp("us"))}),
            str(tmp_path),
            name="e",
            date_column="at",
        )


def test_an_empty_dated_table_writes_nothing(tmp_path) -> None:
    empty = pa.table({"sales_date": pa.array([], pa.date32()), "n": pa.array([], pa.int64())})
    result = export_parquet(empty, str(tmp_path), name="t", date_column="sales_date")
    assert (result.files, result.rows) == ([], 0)
    assert not (tmp_path / "t").exists()
