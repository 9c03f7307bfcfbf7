"""Arrow -> PostgreSQL type mapping and binary COPY encoding, without a server."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pyarrow as pa
import pytest

from datatrendz_pipelines.publishing.pgcopy import (
    SIGNATURE,
    TRAILER,
    copy_plan,
    iter_copy_data,
    normalise,
)


@pytest.mark.parametrize(
    ("arrow_type", "expected"),
    [
        (pa.string(), "text"),
        (pa.large_string(), "text"),
        (pa.dictionary(pa.int32(), pa.string()), "text"),
        (pa.int8(), "smallint"),
        (pa.int16(), "smallint"),
        (pa.int32(), "integer"),
        (pa.int64(), "bigint"),
        (pa.float32(), "double precision"),
        (pa.float64(), "double precision"),
        (pa.decimal128(12, 2), "numeric(12,2)"),
        (pa.decimal128(38, 0), "numeric(38,0)"),
        (pa.date32(), "date"),
        (pa.timestamp("us"), "timestamp"),
        (pa.timestamp("ns"), "timestamp"),
        (pa.timestamp("us", "UTC"), "timestamptz"),
        (pa.bool_(), "boolean"),
        (pa.binary(), "bytea"),
    ],
)
def test_arrow_types_map_to_postgres_types(arrow_type: pa.DataType, expected: str) -> None:
    table = normalise(pa.table({"c": pa.array([None], pa.null()).cast(arrow_type)}))
    assert copy_plan(table).columns[0].pg_type == expected


def test_unsupported_type_names_the_column() -> None:
    table = pa.table({"tags": pa.array([[1, 2]], pa.list_(pa.int64()))})
    with pytest.raises(TypeError, match="'tags'"):
        copy_plan(normalise(table))


def test_fixed_width_columns_without_nulls_are_written_first() -> None:
    table = pa.table(
        {
            "name": ["a"],
            "id": pa.array([7], pa.int64()),
            "maybe": pa.array([None], pa.int32()),
            "day": [dt.date(2000, 1, 2)],
        }
    )
    assert copy_plan(normalise(table)).copy_columns == ["id", "day", "name", "maybe"]


def test_binary_stream_follows_the_postgres_format() -> None:
    table = normalise(
        pa.table(
            {
                "id": pa.array([1], pa.int32()),
                "day": [dt.date(2000, 1, 2)],
                "price": pa.array([Decimal("-12.30")], pa.decimal128(6, 2)),
                "name": pa.array([None], pa.string()),
            }
        )
    )
    plan = copy_plan(table)
    data = b"".join(bytes(chunk) for chunk in iter_copy_data(table, plan))
    assert data.startswith(SIGNATURE) and data.endswith(TRAILER)
    row = data[len(SIGNATURE) : -len(TRAILER)]
    # fields: 4, then id (int4 1), day (1 day after 2000-01-01), price, name (NULL)
    assert row[:2] == struct.pack(">h", 4)
    assert row[2:10] == struct.pack(">ii", 4, 1)
    assert row[10:18] == struct.pack(">ii", 4, 1)
    # numeric: 2 groups ("0012", "3000"), weight 0, negative, dscale 2
    assert row[18:34] == struct.pack(">i6h", 12, 2, 0, 0x4000, 2, 12, 3000)
    assert row[34:] == struct.pack(">i", -1)
