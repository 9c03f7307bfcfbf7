"""Keep personal data out of published tables: drop the columns or pseudonymise them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import pyarrow as pa

SALT_VAR = "DATATRENDZ_PII_SALT"


class MissingSaltError(ValueError):
    """Hash mode without a salt: unsalted hashes of e-mails or phones are easy to reverse."""


def protect_personal_data(
    table: pa.Table,
    pii_columns: Collection[str],
    salt: str | None,
    mode: Literal["drop", "hash"],
) -> pa.Table:
    """`table` with each of `pii_columns` dropped, or replaced by a salted SHA-256.

    Hash mode: value -> lowercase hex of sha256(utf8(salt) + utf8(value as text)); nulls stay
    null; equal values hash equally, so the column still joins and counts distinct. The salt is
    a secret (env DATATRENDZ_PII_SALT): keep it stable, or hashes change between publishes.
    Raises ValueError for a column `table` lacks (a typo must not publish the clear column) and
    MissingSaltError when hashing without a salt. Hashing runs in DuckDB's vectorised sha256.
    """
    wanted = list(dict.fromkeys(pii_columns))
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise ValueError(f"personal-data columns {missing} are not in the table")
    if mode == "drop":
        return table.drop_columns(wanted)
    if mode != "hash":
        raise ValueError(f"mode must be 'drop' or 'hash', got {mode!r}")
    if not salt:
        raise MissingSaltError(
            f"hashing personal data needs a salt: set the environment variable {SALT_VAR} "
            "(a long random secret, kept stable) or publish with mode='drop'"
        )
    if not wanted or table.num_rows == 0:
        return table.cast(
            pa.schema(f.with_type(pa.string()) if f.name in wanted else f for f in table.schema)
        )
    hashed = _sha256_hex(table.select(wanted), salt)
    for name in wanted:
        index = table.column_names.index(name)
        table = table.set_column(index, name, hashed.column(name))
    return table


def _sha256_hex(columns: pa.Table, salt: str) -> pa.Table:
    import duckdb

    as_text = pa.table(
        [c.cast(pa.string()) for c in columns.columns],
        names=[f"c{i}" for i in range(columns.num_columns)],
    )
    select = ", ".join(f"sha256($salt || c{i}) as c{i}" for i in range(columns.num_columns))
    with duckdb.connect() as con:
        con.register("pii", as_text)
        result = con.sql(f"select {select} from pii", params={"salt": salt}).to_arrow_table()
    return pa.table([c.cast(pa.string()) for c in result.columns], names=columns.column_names)
