"""PostgreSQL binary `numeric` values from Arrow decimals, vectorised where they fit 64 bits.

A binary numeric is int16 ndigits, weight, sign (0x4000 = negative), dscale, then ndigits
base-10000 digits. The receiver normalises leading and trailing zero digits away, so every value
of a column can use the same number of digits and a fixed-width numpy layout.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa


def numeric_field(value: Decimal | None) -> bytes:
    from psycopg.types.numeric import dump_decimal_to_numeric_binary

    if value is None:
        return b"\xff\xff\xff\xff"
    data = bytes(dump_decimal_to_numeric_binary(value))
    return len(data).to_bytes(4, "big") + data


def numeric_groups(column: pa.ChunkedArray) -> tuple[int, int] | None:
    """(fraction, total) base-10000 digit groups if every value fits the vectorised encoder."""
    t = column.type
    if not pa.types.is_decimal128(t) or t.scale < 0:
        return None
    fraction = -(-t.scale // 4)
    scale_up = 10 ** (4 * fraction - t.scale)
    largest = 0
    for chunk in column.chunks:
        unscaled = unscaled_int64(chunk)
        if unscaled is None:
            return None
        if len(unscaled):
            largest = max(largest, int(np.abs(unscaled).max()))
    if largest * scale_up >= 2**63:
        return None
    integer_groups = max(1, -(-len(str(largest // 10**t.scale)) // 4))
    return fraction, integer_groups + fraction


def unscaled_int64(chunk: pa.Array) -> np.ndarray | None:
    """The unscaled int64 values of a decimal128 chunk (nulls as 0), or None if any overflows."""
    words = np.frombuffer(chunk.buffers()[1], dtype="<i8")[
        2 * chunk.offset : 2 * (chunk.offset + len(chunk))
    ]
    low, high = words[0::2], words[1::2]
    fits = (high == (low >> 63)) & (low != np.iinfo(np.int64).min)
    if chunk.null_count:
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        fits |= ~valid
        low = np.where(valid, low, 0)
    return low if fits.all() else None


def numeric_fields(array: pa.Array, fraction: int, total: int) -> np.ndarray:
    """PostgreSQL binary numerics (ndigits, weight, sign, dscale, digits...) as int16 rows."""
    scale = array.type.scale
    unscaled = unscaled_int64(array)
    assert unscaled is not None
    magnitude = np.abs(unscaled).astype(np.uint64) * np.uint64(10 ** (4 * fraction - scale))
    out = np.empty((len(array), 4 + total), dtype=np.int16)
    out[:, 0] = total
    out[:, 1] = total - fraction - 1
    out[:, 2] = np.where(unscaled < 0, 0x4000, 0)
    out[:, 3] = scale
    for k in range(total):
        out[:, 3 + total - k] = (magnitude // np.uint64(10_000**k)) % np.uint64(10_000)
    return out
