"""Great Expectations validation of raw rows: suites follow the contracts, faults name their rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb
import pandas as pd
import pytest

from datatrendz_pipelines.contracts import Contract, Rule, load_contracts
from datatrendz_pipelines.ingestion.tables import ident, raw_columns
from datatrendz_pipelines.quality import gx_suites
from datatrendz_pipelines.quality.data_docs_builds import PendingDataDocs, wait_for_data_docs
from datatrendz_pipelines.quality.gx_suites import build_suite
from datatrendz_pipelines.quality.gx_validation import (
    ValidationSummary,
    frame_from_duckdb,
    validate_frame,
)

ORDER_LINES = [
    # order_id, line_number, product_id, line_type, quantity, unit_price, discount_amount
    ("o1", 1, "p1", "sale", 2, 9.99, 0.00),
    ("o1", 2, "p2", "sale", 1, 20.00, 2.50),
    ("o2", 1, "p1", "return", -2, 9.99, 0.00),  # a genuine return: not a fault
    ("o3", 1, "p3", "sale", 5, 1.25, 0.25),
]
CUSTOMERS = [
    (
        "c1",
        "Ada",
        "Lovelace",
        "ada@example.com",
        "+44 20 7946 0958",
        "1 Main St",
        "London",
        "south",
        dt.date(2024, 1, 1),
        "organic",
    ),
    ("c2", None, None, None, None, None, None, None, dt.date(2024, 1, 2), "store"),
]
CLEAN = {"order_lines": ORDER_LINES, "customers": CUSTOMERS}


def contract(source: str) -> Contract:
    return load_contracts()[source]


def raw_frame(
    source: str,
    rows: list[tuple],
    changes: dict[tuple[int, int], Any] | None = None,
    c: Contract | None = None,
) -> pd.DataFrame:
    """`rows` loaded into raw.<source> of a fresh in-memory DuckDB, typed by the contract, and
    read back with `frame_from_duckdb`, so the dtypes are the ones the asset check sees."""
    c = c or contract(source)
    rows = [list(r) for r in rows]
    for (i, j), value in (changes or {}).items():
        rows[i][j] = value
    conn = duckdb.connect()
    body = ", ".join(f"{ident(n)} {t}" for n, t in raw_columns(c).items())
    conn.execute(f"CREATE TABLE raw_rows ({body})")
    marks = ", ".join("?" * (len(c.columns) + 4))
    conn.executemany(
        f"INSERT INTO raw_rows VALUES ({marks})",
        [
            [*r, dt.date(2024, 1, 1), "f.csv", n + 1, dt.datetime(2024, 1, 2)]
            for n, r in enumerate(rows)
        ],
    )
    return frame_from_duckdb(
        conn, "SELECT * FROM raw_rows WHERE _partition_date = ?", [dt.date(2024, 1, 1)]
    )


def failures(summary: ValidationSummary) -> dict[str, tuple[int, list]]:
    return {
        o.rule: (o.unexpected_count, o.unexpected_sample) for o in summary.outcomes if not o.success
    }


def test_frame_from_duckdb_gives_stable_dtypes():
    conn = duckdb.connect()
    conn.execute(
        "CREATE TABLE t (i INTEGER, b BIGINT, p DECIMAL(12,2), d DATE, f BOOLEAN, s VARCHAR)"
    )
    conn.execute(
        "INSERT INTO t VALUES (1, 2, 9.99, '2024-01-01', true, 'a'), "
        "(NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    frame = frame_from_duckdb(conn, "SELECT * FROM t")
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "i": "Int64",
        "b": "Int64",
        "p": "float64",
        "d": "datetime64[us]",
        "f": "boolean",
        "s": "str",
    }
    assert frame["p"][0] == 9.99
    # Without NULLs integers are numpy int64, which GX compares vectorised.
    dense = frame_from_duckdb(conn, "SELECT i, b FROM t WHERE i IS NOT NULL")
    assert [str(t) for t in dense.dtypes] == ["int64", "int64"]
    assert dense["i"].tolist() == [1]


@pytest.mark.parametrize("source", ["order_lines", "customers"])
def test_clean_rows_pass_every_expectation(source: str):
    c = contract(source)
    summary = validate_frame(c, raw_frame(source, CLEAN[source]))
    applicable = [r for r in c.rules if r.kind != "references"]  # no reference_values given
    assert summary.evaluated == len(applicable) + 1 + len(c.columns)  # + presence + one type each
    assert summary.failed == 0, failures(summary)
    assert summary.rows == len(CLEAN[source])
    assert {o.rule for o in summary.outcomes} >= {r.name for r in applicable} | {"columns_present"}


@pytest.mark.parametrize(
    ("source", "changes", "rule", "count", "sample"),
    [
        ("order_lines", {(0, 2): None}, "product_id_not_null", 1, [None]),
        ("order_lines", {(1, 5): -1.5}, "unit_price_min", 1, [-1.5]),
        ("order_lines", {(3, 4): -3}, "sale_quantity_positive", 1, [-3]),
        (
            "order_lines",
            {(1, 1): 1},
            "order_id_line_number_unique",
            2,
            [{"order_id": "o1", "line_number": 1, "_partition_date": "2024-01-01 00:00:00"}] * 2,
        ),
        ("customers", {(0, 3): "ada.example.com"}, "email_pattern", 1, ["ada.example.com"]),
    ],
    ids=["null_product", "negative_price", "negative_sale_quantity", "duplicate_key", "bad_email"],
)
def test_a_fault_fails_exactly_its_rule(source, changes, rule, count, sample):
    summary = validate_frame(contract(source), raw_frame(source, CLEAN[source], changes))
    assert failures(summary) == {rule: (count, sample)}
    assert summary.failed == 1
    json.dumps(summary.as_metadata())  # plain JSON
    assert summary.as_metadata()["failed_rules"][rule]["unexpected_count"] == count


def test_a_return_line_with_negative_quantity_passes_but_a_positive_one_fails():
    returns = [("o9", 1, "p1", "return", -2, 5.00, 0.00)]
    assert validate_frame(contract("order_lines"), raw_frame("order_lines", returns)).failed == 0
    wrong = validate_frame(contract("order_lines"), raw_frame("order_lines", returns, {(0, 4): 2}))
    assert failures(wrong) == {"return_quantity_negative": (1, [2])}


def test_key_rules_and_structure_block_other_rules_do_not():
    blocking = {
        o.rule: o.blocking
        for source in CLEAN
        for o in validate_frame(contract(source), raw_frame(source, CLEAN[source])).outcomes
    }
    assert blocking["order_id_line_number_unique"] and blocking["order_id_not_null"]
    assert blocking["line_number_not_null"] and blocking["customer_id_not_null"]
    assert blocking["columns_present"] and blocking["unit_price_type"]
    assert not blocking["email_pattern"] and not blocking["product_id_not_null"]
    assert not blocking["sale_quantity_positive"] and not blocking["unit_price_min"]


def test_a_missing_column_or_a_drifted_type_is_a_blocking_failure():
    frame = raw_frame("order_lines", ORDER_LINES).drop(columns=["discount_amount"])
    summary = validate_frame(contract("order_lines"), frame)
    presence = next(o for o in summary.outcomes if o.rule == "columns_present")
    assert (presence.success, presence.unexpected_sample) == (False, ["discount_amount"])
    assert "columns_present" in {o.rule for o in summary.blocking_failures}
    assert all(o.error for o in summary.outcomes if o.column == "discount_amount")

    # unit_price as Python Decimals, as plain Arrow -> pandas gives it: a type failure
    drifted = raw_frame("order_lines", ORDER_LINES)
    drifted["unit_price"] = drifted["unit_price"].map(lambda v: Decimal(str(v))).astype(object)
    result = validate_frame(contract("order_lines"), drifted)
    assert [o.rule for o in result.blocking_failures] == ["unit_price_type"]


def test_references_are_checked_only_when_the_known_keys_are_given():
    c, frame = contract("order_lines"), raw_frame("order_lines", ORDER_LINES)
    known = {"orders.order_id": ["o1", "o2", "o3"], "products.product_id": ["p1", "p2"]}
    summary = validate_frame(c, frame, reference_values=known)
    assert failures(summary) == {"product_id_references_products": (1, ["p3"])}
    assert summary.evaluated == validate_frame(c, frame).evaluated + 2


def test_a_large_reference_set_is_checked_through_a_derived_column(monkeypatch):
    monkeypatch.setattr(gx_suites, "MAX_IN_SET_VALUES", 1)  # GX is slow on big value sets
    known = {"products.product_id": ["p1", "p2"]}
    summary = validate_frame(
        contract("order_lines"), raw_frame("order_lines", ORDER_LINES), reference_values=known
    )
    assert failures(summary) == {"product_id_references_products": (1, ["p3"])}
    (outcome,) = [o for o in summary.outcomes if not o.success]
    assert (outcome.column, outcome.expectation) == (
        "product_id",
        "expect_column_values_to_be_null",
    )


def test_the_suite_follows_the_contract_rules():
    c = contract("order_lines")
    rules = lambda suite: [e.meta["rule"] for e in suite.expectations]  # noqa: E731
    without = dataclasses.replace(c, rules=tuple(r for r in c.rules if r.name != "unit_price_min"))
    assert set(rules(build_suite(c))) - set(rules(build_suite(without))) == {"unit_price_min"}

    cap = Rule("unit_price_cap", "order_lines", "max", ("unit_price",), 15.0)
    capped = dataclasses.replace(c, rules=(*c.rules, cap))
    assert rules(build_suite(capped))[-1] == "unit_price_cap"
    summary = validate_frame(capped, raw_frame("order_lines", ORDER_LINES, c=capped))
    assert failures(summary) == {"unit_price_cap": (1, [20.0])}


def test_data_docs_are_built_for_this_run(tmp_path: Path):
    c = contract("order_lines")
    frame = raw_frame("order_lines", ORDER_LINES, {(1, 5): -1.5})
    first = validate_frame(c, frame, docs_dir=tmp_path / "gx_home", run_name="2024-01-01")
    second = validate_frame(c, frame, docs_dir=tmp_path / "gx_home", run_name="2024-01-01")
    for summary in (first, second):
        assert summary.data_docs_url.startswith("file://")
        page = Path(unquote(urlparse(summary.data_docs_url).path))
        assert page.is_file() and page.suffix == ".html" and page.name != "index.html"
        assert page.is_relative_to(tmp_path)
        assert "unit_price_min" in summary.as_metadata()["failed_rules"]
    assert first.data_docs_url != second.data_docs_url  # same partition, two runs, two pages
    assert validate_frame(c, frame).data_docs_url is None  # no docs_dir: nothing written


def test_pending_data_docs_are_written_in_the_background_with_one_index(tmp_path: Path):
    c = contract("order_lines")
    frame = raw_frame("order_lines", ORDER_LINES)
    docs = PendingDataDocs()
    summaries = [
        validate_frame(c, frame, docs_dir=tmp_path / "docs", run_name=f"run-{i}", docs=docs)
        for i in range(2)
    ]
    pages = [Path(unquote(urlparse(s.data_docs_url).path)) for s in summaries]
    index = pages[0].parents[4] / "index.html"
    assert pages[0].is_relative_to(tmp_path / "docs" / "gx" / "uncommitted" / "data_docs")
    assert not any(p.exists() for p in (*pages, index))  # addresses known, nothing built yet

    thread = docs.build_in_background()
    assert thread is not None and not thread.daemon  # the process waits for it at exit
    wait_for_data_docs()
    assert all(p.is_file() for p in pages)
    listed = index.read_text()
    assert all(p.name in listed for p in pages)  # one index build lists both runs
    assert docs.build_in_background() is None  # handed over once


def test_the_suite_and_checkpoint_are_saved_again_only_when_the_contract_changes(tmp_path: Path):
    c = contract("order_lines")
    frame = raw_frame("order_lines", ORDER_LINES, {(1, 5): -1.5})
    project = tmp_path / "docs" / "gx"
    saved = [
        f"{folder}/order_lines.json"
        for folder in ("expectations", "validation_definitions", "checkpoints")
    ]

    def stamps() -> list[tuple[int, int]]:
        return [((project / f).stat().st_ino, (project / f).stat().st_mtime_ns) for f in saved]

    validate_frame(c, frame, docs_dir=tmp_path / "docs", run_name="run-1")
    first = stamps()
    again = validate_frame(c, frame, docs_dir=tmp_path / "docs", run_name="run-2")
    assert stamps() == first  # the saved checkpoint was reused as it was
    assert "unit_price_min" in failures(again)

    without = dataclasses.replace(c, rules=tuple(r for r in c.rules if r.name != "unit_price_min"))
    changed = validate_frame(without, frame, docs_dir=tmp_path / "docs", run_name="run-3")
    assert stamps()[0] != first[0]  # the suite was saved again...
    assert "unit_price_min" not in failures(changed)  # ...and the checkpoint ran the new one
    assert "unit_price_min" not in (project / saved[0]).read_text()


def test_the_data_docs_index_lists_only_the_latest_validations(tmp_path: Path, monkeypatch):
    import datatrendz_pipelines.quality.gx_validation as gx_validation

    monkeypatch.setattr(gx_validation, "DATA_DOCS_INDEX_LIMIT", 2)
    c = contract("order_lines")
    frame = raw_frame("order_lines", ORDER_LINES)
    urls = [
        validate_frame(c, frame, docs_dir=tmp_path / "docs", run_name=f"run-{i}").data_docs_url
        for i in range(3)
    ]
    site = Path(unquote(urlparse(urls[-1]).path)).parents[3]  # validations/<suite>/<run>/<time>
    index = (site.parent / "index.html").read_text()
    pages = [Path(unquote(urlparse(u).path)).relative_to(site.parent).as_posix() for u in urls]
    listed = [u for u, page in zip(urls, pages, strict=True) if page in index]
    assert listed == urls[1:]  # the two latest; all three pages stay on disk
    assert all(Path(unquote(urlparse(u).path)).exists() for u in urls)


def test_data_docs_pages_are_rendered_from_cached_templates(tmp_path: Path, monkeypatch):
    from jinja2 import FileSystemBytecodeCache

    from datatrendz_pipelines.quality import data_docs_views

    cache_dir = tmp_path / "jinja"
    cache_dir.mkdir()
    monkeypatch.setattr(
        data_docs_views, "template_cache", lambda: FileSystemBytecodeCache(str(cache_dir))
    )
    c = contract("order_lines")
    frame = raw_frame("order_lines", ORDER_LINES, {(1, 5): -1.5})
    first = validate_frame(c, frame, docs_dir=tmp_path / "docs", run_name="run-1")

    def cached() -> dict[str, tuple[int, int]]:
        return {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in cache_dir.iterdir()}

    compiled = cached()
    assert compiled  # the page and index templates, compiled once
    second = validate_frame(c, frame, docs_dir=tmp_path / "docs", run_name="run-2")
    assert cached() == compiled  # the second build loaded them: none was written again
    for summary in (first, second):
        page = Path(unquote(urlparse(summary.data_docs_url).path)).read_text()
        assert "values must never be null." in page  # the expectations were rendered
    config = (tmp_path / "docs" / "gx" / "great_expectations.yml").read_text()
    assert "CachedPageView" in config and "CachedIndexPageView" in config


def test_the_data_docs_site_config_keeps_what_the_project_set():
    from datatrendz_pipelines.quality.gx_validation import DATA_DOCS_INDEX_LIMIT, data_docs_site

    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": "x/"},
        "site_section_builders": {"expectations": "None"},
    }
    wanted = data_docs_site(site)
    assert wanted["store_backend"] == site["store_backend"]
    assert wanted["site_section_builders"]["expectations"] == "None"  # switched off stays off
    assert wanted["site_section_builders"]["validations"]["view"]["class_name"] == "CachedPageView"
    assert wanted["site_index_builder"]["validation_results_limit"] == DATA_DOCS_INDEX_LIMIT
    assert data_docs_site(wanted) == wanted  # applied once: the config is saved only then
    assert site["site_section_builders"] == {"expectations": "None"}  # the input is untouched


def test_the_project_reads_no_config_variables_file(tmp_path: Path):
    # GX parses that file again for every setting it looks up; the project keeps no secrets there.
    c = contract("order_lines")
    validate_frame(c, raw_frame("order_lines", ORDER_LINES), docs_dir=tmp_path / "docs")
    config = (tmp_path / "docs" / "gx" / "great_expectations.yml").read_text()
    assert "config_variables.yml" not in config


def test_the_validated_frames_are_not_fingerprinted(tmp_path: Path):
    # GX hashes every row of a batch for a marker nothing reads: a fifth of a large validation.
    c = contract("order_lines")
    validate_frame(c, raw_frame("order_lines", ORDER_LINES), docs_dir=tmp_path / "docs")
    [stored] = (tmp_path / "docs" / "gx" / "uncommitted" / "validations").rglob("*.json")
    markers = json.loads(stored.read_text())["meta"]["batch_markers"]
    assert "ge_load_time" in markers
    assert "pandas_data_fingerprint" not in markers
