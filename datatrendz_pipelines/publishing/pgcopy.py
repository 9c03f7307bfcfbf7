"""Arrow -> PostgreSQL: column types and a vectorised encoder of binary COPY data.

`copy_plan(table)` maps each Arrow column to a PostgreSQL type and decides how it is encoded;
`iter_copy_data(table, plan)` yields the bytes of one `COPY ... FROM STDIN (FORMAT BINARY)`
stream (signature, rows, trailer) built with numpy and pyarrow compute, never a Python loop per
row. Columns without nulls and of a fixed width (integers, floats, booleans, dates, timestamps,
decimals that fit in 64 bits) are packed into one numpy record per row; the others (text, bytea,
nullable columns) are joined onto it with `binary_join_element_wise`. The rows are sent in the
plan's column order, so `COPY` must name the columns in that order (`plan.copy_columns`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrendz_pipelines.publishing.pgnumeric import numeric_field, numeric_fields, numeric_groups

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01, in days
PG_EPOCH_US = PG_EPOCH_DAYS * 86_400 * 1_000_000
_NULL_FIELD = pa.scalar(b"\xff\xff\xff\xff", pa.binary())
_EMPTY = pa.scalar(b"", pa.binary())


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    pg_type: str
    fixed: bool  # packed in the per-row numpy record (no nulls, fixed width)
    numeric_groups: tuple[int, int] | None = None  # (fraction groups, total groups) of base 10000


@dataclass(frozen=True)
class CopyPlan:
    columns: tuple[ColumnPlan, ...]

    @property
    def copy_columns(self) -> list[str]:
        """Column names in the order the encoder writes them: fixed-width ones first."""
        return [c.name for c in self.columns if c.fixed] + [
            c.name for c in self.columns if not c.fixed
        ]


def normalise(table: pa.Table) -> pa.Table:
    """Cast Arrow types without a direct PostgreSQL twin to ones the encoder knows."""
    fields = []
    for field in table.schema:
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t):
            t = pa.string()
        elif pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
            t = pa.binary()
        elif pa.types.is_floating(t):
            t = pa.float64()
        elif t in (pa.int8(), pa.uint8()):
            t = pa.int16()
        elif t == pa.uint16():
            t = pa.int32()
        elif t in (pa.uint32(), pa.uint64()):
            t = pa.int64()
        elif pa.types.is_date64(t):
            t = pa.date32()
        elif pa.types.is_timestamp(t) and t.unit != "us":
            t = pa.timestamp("us", t.tz)
        elif pa.types.is_time(t):
            t = pa.time64("us")
        fields.append(field.with_type(t))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)


def pg_type(t: pa.DataType) -> str:
    """The PostgreSQL column type for a normalised Arrow type."""
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    simple = {
        pa.string(): "text",
        pa.binary(): "bytea",
        pa.bool_(): "boolean",
        pa.int16(): "smallint",
        pa.int32(): "integer",
        pa.int64(): "bigint",
        pa.float64(): "double precision",
        pa.date32(): "date",
        pa.time64("us"): "time",
    }
    if t not in simple:
        raise TypeError(f"no PostgreSQL type for Arrow type {t}")
    return simple[t]


def copy_plan(table: pa.Table) -> CopyPlan:
    """Decide each column's PostgreSQL type and encoding; `table` must be `normalise`d."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        try:
            sql_type = pg_type(field.type)
        except TypeError as error:
            raise TypeError(f"column {field.name!r}: {error}") from None
        groups = numeric_groups(column) if pa.types.is_decimal(field.type) else None
        fixed = column.null_count == 0 and sql_type not in ("text", "bytea")
        if pa.types.is_decimal(field.type) and groups is None:
            fixed = False
        columns.append(ColumnPlan(field.name, sql_type, fixed, groups))
    return CopyPlan(tuple(columns))


def iter_copy_data(
    table: pa.Table, plan: CopyPlan, rows_per_chunk: int | None = None
) -> Iterator[memoryview | bytes]:
    """Yield a complete binary COPY stream of `table` (normalised) in `plan.copy_columns` order.

    Chunks default to ~64 MB of Arrow data (at most 100,000 rows), well under the 2 GB a binary
    array can hold, so wide text columns do not overflow the join.
    """
    if rows_per_chunk is None:
        row_bytes = table.nbytes / max(table.num_rows, 1)
        rows_per_chunk = max(1_000, min(100_000, int(64_000_000 / max(row_bytes, 1))))
    yield SIGNATURE
    by_name = {c.name: c for c in plan.columns}
    order = [by_name[name] for name in plan.copy_columns]
    for batch in table.select(plan.copy_columns).to_batches(max_chunksize=rows_per_chunk):
        if batch.num_rows:
            yield _encode_batch(batch, order)
    yield TRAILER


def _encode_batch(batch: pa.RecordBatch, order: list[ColumnPlan]) -> memoryview:
    fixed = [(c, batch.column(i)) for i, c in enumerate(order) if c.fixed]
    dtype = [("n", ">i2")]
    values = []
    for i, (plan, array) in enumerate(fixed):
        vals, field_dtype = _fixed_values(array, plan)
        dtype += [(f"l{i}", ">i4"), (f"v{i}", field_dtype)]
        values.append(vals)
    record = np.empty(batch.num_rows, dtype=dtype)
    record["n"] = len(order)
    for i, vals in enumerate(values):
        record[f"l{i}"] = record.dtype[f"v{i}"].itemsize
        record[f"v{i}"] = vals
    rows = record.view(np.uint8)
    variable = [_variable_field(batch.column(i), c) for i, c in enumerate(order) if not c.fixed]
    if not variable:
        return memoryview(rows)
    head = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(record.dtype.itemsize), batch.num_rows, [None, pa.py_buffer(rows)]
    ).cast(pa.binary())
    joined = pc.binary_join_element_wise(head, *variable, _EMPTY)
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    start, end = offsets[joined.offset], offsets[joined.offset + len(joined)]
    return memoryview(joined.buffers()[2])[start:end]


def _fixed_values(array: pa.Array, plan: ColumnPlan) -> tuple[np.ndarray, str | tuple]:
    """Values of a fixed-width column as numpy in PostgreSQL's binary layout (nulls undefined)."""
    t = array.type
    if pa.types.is_decimal(t):
        assert plan.numeric_groups is not None
        return numeric_fields(array, *plan.numeric_groups), (">i2", (4 + plan.numeric_groups[1],))
    if pa.types.is_boolean(t):
        return array.fill_null(False).to_numpy(zero_copy_only=False).view(np.uint8), "u1"
    if pa.types.is_date32(t):
        return _ints(array, pa.int32()) - PG_EPOCH_DAYS, ">i4"
    if pa.types.is_timestamp(t):
        return _ints(array, pa.int64()) - PG_EPOCH_US, ">i8"
    if pa.types.is_time(t):
        return _ints(array, pa.int64()), ">i8"
    np_type = np.dtype(t.to_pandas_dtype())
    return _ints(array, t), np_type.newbyteorder(">").str


def _ints(array: pa.Array, as_type: pa.DataType) -> np.ndarray:
    ints = array.view(as_type) if array.type != as_type else array
    return (ints.fill_null(0) if ints.null_count else ints).to_numpy()


def _variable_field(array: pa.Array, plan: ColumnPlan) -> pa.Array:
    """Each value as `int32 length + bytes`, or `-1` for NULL, as a binary array."""
    valid = array.is_valid()
    if plan.pg_type in ("text", "bytea"):
        data = array.cast(pa.binary())
        lengths = pc.binary_length(data).fill_null(-1).to_numpy().astype(">i4")
        return pc.binary_join_element_wise(_fixed_binary(lengths), data.fill_null(b""), _EMPTY)
    if pa.types.is_decimal(array.type) and plan.numeric_groups is None:  # too wide to vectorise
        return pa.array([numeric_field(v) for v in array.to_pylist()], pa.binary())
    vals, field_dtype = _fixed_values(array, plan)
    record = np.empty(len(array), dtype=[("l", ">i4"), ("v", field_dtype)])
    record["l"], record["v"] = record.dtype["v"].itemsize, vals
    return pc.if_else(valid, _fixed_binary(record), _NULL_FIELD)


def _fixed_binary(values: np.ndarray) -> pa.Array:
    width = values.dtype.itemsize
    buffer = pa.py_buffer(np.ascontiguousarray(values).view(np.uint8))
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(values), [None, buffer])
    return array.cast(pa.binary())
