"""Personal data never reaches published tables in clear."""

from __future__ import annotations

import datetime as dt
import hashlib

import pyarrow as pa
import pytest

from datatrendz_pipelines.publishing.privacy import MissingSaltError, protect_personal_data

PII = ["email", "phone", "birth_date"]


@pytest.fixture
def customers() -> pa.Table:
    rows = 5_000
    return pa.table(
        {
            "customer_id": pa.array(range(rows), pa.int64()),
            "email": [f"person{i % 4_000}@example.com" for i in range(rows)],
            "phone": [None if i % 7 == 0 else f"+33 6 {i:08d}" for i in range(rows)],
            "birth_date": [dt.date(1950, 1, 1) + dt.timedelta(days=i) for i in range(rows)],
            "city": ["Lyon", "Lille"] * (rows // 2),
        }
    )


def test_hashed_columns_never_contain_the_clear_value(customers: pa.Table) -> None:
    out = protect_personal_data(customers, PII, "pepper-1", "hash")
    assert out.column_names == customers.column_names
    for name in PII:
        clear = {str(v) for v in customers.column(name).to_pylist() if v is not None}
        hashed = out.column(name).to_pylist()
        assert out.schema.field(name).type == pa.string()
        assert not clear & set(hashed)
        assert all(
            h is None or (len(h) == 64 and set(h) <= set("0123456789abcdef")) for h in hashed
        )
        assert not any(c in h for h in hashed if h for c in list(clear)[:50])
    # row order kept; the value is sha256(salt + text); nulls stay null; equal values join
    assert (
        out.column("email")[4_321].as_py()
        == hashlib.sha256(b"pepper-1person321@example.com").hexdigest()
    )
    assert out.column("email")[1].as_py() == out.column("email")[4_001].as_py()
    assert out.column("phone").null_count == customers.column("phone").null_count
    assert out.select(["customer_id", "city"]).equals(customers.select(["customer_id", "city"]))


def test_hash_depends_on_the_salt(customers: pa.Table) -> None:
    first = protect_personal_data(customers, ["email"], "salt-a", "hash").column("email")
    again = protect_personal_data(customers, ["email"], "salt-a", "hash").column("email")
    other = protect_personal_data(customers, ["email"], "salt-b", "hash").column("email")
    assert first.equals(again)
    assert not set(first.to_pylist()) & set(other.to_pylist())


def test_drop_mode_removes_the_columns(customers: pa.Table) -> None:
    out = protect_personal_data(customers, PII, None, "drop")
    assert out.column_names == ["customer_id", "city"]
    assert out.num_rows == customers.num_rows


@pytest.mark.parametrize("salt", [None, ""])
def test_hash_without_salt_names_the_variable(customers: pa.Table, salt: str | None) -> None:
    with pytest.raises(MissingSaltError, match="DATATRENDZ_PII_SALT"):
        protect_personal_data(customers, PII, salt, "hash")


def test_unknown_column_is_an_error_not_a_silent_leak(customers: pa.Table) -> None:
    with pytest.raises(ValueError, match="e_mail"):
        protect_personal_data(customers, ["e_mail"], "salt", "hash")


def test_empty_table_keeps_its_schema(customers: pa.Table) -> None:
    out = protect_personal_data(customers.slice(0, 0), PII, "salt", "hash")
    assert out.num_rows == 0 and out.schema.field("birth_date").type == pa.string()
