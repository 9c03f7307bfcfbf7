"""Validate the rows left in raw.<source> with Great Expectations and summarise the result.

The SQL quarantine step sets aside rows that break the contract's rules; this module checks what
remains with a GX suite built from the same rules (`gx_suites.build_suite`) and returns a plain
`ValidationSummary` for an asset check. Without `docs_dir` it runs in an ephemeral GX context
(nothing written); with it, in a file context rooted there, so that Data Docs are built and
`data_docs_url` points at this run's page.

GX is imported inside the functions (it costs seconds to import). GX Core 1.24 sends no usage
statistics (its analytics code is gone), but analytics are still switched off in the context and
through GX_ANALYTICS_ENABLED in case a later version brings them back, and progress bars are off.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.quality.data_docs_builds import GX_LOCK, PendingDataDocs, build_data_docs
from datatrendz_pipelines.quality.gx_suites import COLUMNS_PRESENT, build_suite, reference_columns

DATASOURCE = "datatrendz"
WHOLE_FRAME = "whole_frame"
SAMPLE_SIZE = 5
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}


@dataclass(frozen=True)
class ExpectationOutcome:
    rule: str  # contract rule name, or "columns_present" / "<column>_type"
    expectation: str  # GX expectation type
    column: str | None  # None for table-level checks; "a, b" for a compound key
    success: bool
    unexpected_count: int
    unexpected_sample: list  # up to 5 values, JSON-able; the observed dtype for a type check
    blocking: bool
    error: str | None = None  # message when GX could not evaluate it (e.g. a missing column)


@dataclass(frozen=True)
class ValidationSummary:
    source: str
    rows: int
    evaluated: int
    failed: int
    outcomes: list[ExpectationOutcome]
    seconds: float
    data_docs_url: str | None = None

    @property
    def success(self) -> bool:
        return self.failed == 0

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.blocking and not o.success]

    def as_metadata(self) -> dict[str, Any]:
        """A plain JSON-able dict for an AssetCheckResult: counts, failed rules, samples, docs."""
        failed = {
            o.rule: {
                "expectation": o.expectation,
                "column": o.column,
                "unexpected_count": o.unexpected_count,
                "unexpected_sample": o.unexpected_sample,
                "blocking": o.blocking,
            }
            | ({"error": o.error} if o.error else {})
            for o in self.outcomes
            if not o.success
        }
        return {
            "source": self.source,
            "rows": self.rows,
            "evaluated": self.evaluated,
            "failed": self.failed,
            "blocking_failures": [o.rule for o in self.blocking_failures],
            "failed_rules": failed,
            "seconds": round(self.seconds, 3),
            "data_docs_url": self.data_docs_url,
        }


def frame_from_duckdb(
    conn: Any, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Run `sql` in DuckDB and return the rows as a DataFrame with GX-friendly dtypes.

    Through Arrow, as-is, a DuckDB column's dtype depends on the data: INTEGER is int32 without
    NULLs and float64 with them, BOOLEAN bool or object, DATE object (datetime.date) and DECIMAL
    object (decimal.Decimal, compared value by value in Python). So this helper maps every
    integer to int64 (numpy int64 without NULLs, nullable Int64 with them: GX compares numpy
    int64 and float64 columns vectorised and every other dtype value by value in Python, 1 s per
    million values), booleans to nullable boolean whatever the NULLs, DATE to datetime64[us],
    and DECIMAL to float64 (exact to the cent for DECIMAL(12,2), whose at most 12 digits fit
    float64's 15; bounds checks become vectorised). VARCHAR stays pandas 3's "str". Either
    integer dtype meets the "int64" type expectation (`gx_suites.PANDAS_SCALAR_TYPES`).
    """
    import pyarrow as pa

    table = conn.sql(sql, params=params).to_arrow_table()
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type):
            column = column.cast(pa.int64())
            columns[name] = (
                column.to_numpy() if column.null_count == 0 else pd.array(column, dtype="Int64")
            )
            continue
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.float64())
        elif pa.types.is_date(column.type):
            column = column.cast(pa.timestamp("us"))
        columns[name] = column
    rest = pa.table({n: c for n, c in columns.items() if isinstance(c, pa.ChunkedArray)})
    frame = rest.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    for name, values in columns.items():
        if not isinstance(values, pa.ChunkedArray):
            frame[name] = values
    return frame[list(table.column_names)]


# The Data Docs index lists this many of the latest validations. GX reads every stored result
# it lists each time it rebuilds the index (after every validation), so an unlimited index grew
# with each day's eight results: a year of daily runs is ~2,900 results, seconds per rebuild.
DATA_DOCS_INDEX_LIMIT = 32
VIEWS_MODULE = "datatrendz_pipelines.quality.data_docs_views"


def data_docs_site(site: Mapping[str, Any]) -> dict[str, Any]:
    """`site` (a data_docs_sites entry) with the index bounded and page views that cache their
    compiled templates (`data_docs_views`); the rest of the site as it was."""
    site = copy.deepcopy(dict(site))
    index = site.setdefault("site_index_builder", {"class_name": "DefaultSiteIndexBuilder"})
    index["validation_results_limit"] = DATA_DOCS_INDEX_LIMIT
    index["view"] = {"module_name": VIEWS_MODULE, "class_name": "CachedIndexPageView"}
    sections = site.setdefault("site_section_builders", {})
    for section in ("expectations", "validations"):
        if section in sections and not isinstance(sections[section], dict):
            continue  # switched off in the project's config ("None", False)
        sections.setdefault(section, {})["view"] = {
            "module_name": VIEWS_MODULE,
            "class_name": "CachedPageView",
        }
    return site


def _quiet_context(context: Any) -> Any:
    """Switch off analytics and progress bars and set up the Data Docs sites
    (`data_docs_site`); persist the config only if a setting changes."""
    changed = context.config.analytics_enabled is not False or context.progress_bars != {
        "globally": False
    }
    context.config.analytics_enabled = False
    context.variables.progress_bars = {"globally": False}
    sites = context.variables.data_docs_sites or {}
    wanted = {name: data_docs_site(site) for name, site in sites.items()}
    if wanted != sites:
        context.variables.data_docs_sites = wanted
        changed = True
    if changed:
        context.variables.save()  # a file context writes great_expectations.yml; ephemeral: no-op
    return context


@cache
def _context(root: str | None) -> Any:
    """One GX context per process: ephemeral, or a file context rooted in `root` (created once)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    _skip_frame_fingerprints()
    if root is None:
        return _quiet_context(gx.get_context(mode="ephemeral"))
    context = _quiet_context(gx.get_context(mode="file", project_root_dir=root))
    if _drop_config_variables_file(context):
        context = gx.get_context(mode="file", project_root_dir=root)  # read without it
    return context


def _skip_frame_fingerprints() -> None:
    """GX fingerprints every DataFrame batch under 1 GB with an md5 of pandas' hash of each row,
    kept only as a batch marker on the validation result: a fifth of the time of validating a
    500k-row frame. The frames are read from raw.<source> for a run whose days the result and
    its Data Docs page already name."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def _drop_config_variables_file(context: Any) -> bool:
    """Take the config variables file out of the project config; True if it was there.

    The project keeps no credentials in GX's config, and GX parses that YAML file again on
    every setting it looks up: 232 times for a day's eight validations, 0.15 s."""
    if not context.variables.config_variables_file_path:
        return False
    context.variables.config_variables_file_path = None
    context.variables.save()
    return True


def _batch_definition(context: Any, source: str) -> Any:
    """The whole-dataframe batch definition of `source`; get-or-add, so a saved one is reused.

    (`add_or_update_pandas` would replace a saved datasource and drop its assets.)
    """
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, LookupError):
        datasource = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = datasource.get_asset(source)
    except LookupError:
        asset = datasource.add_dataframe_asset(source)
    try:
        return asset.get_batch_definition(WHOLE_FRAME)
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe(WHOLE_FRAME)


def _expectation_configs(suite: Any) -> list[str]:
    """The suite's expectations as sorted canonical JSON without their ids (which GX assigns on
    save), so a suite built from the contract compares equal to the one saved from it."""
    configs = (e.configuration.to_json_dict() for e in suite.expectations)
    return sorted(
        json.dumps({k: v for k, v in c.items() if k != "id"}, sort_keys=True, default=str)
        for c in configs
    )


def _saved_checkpoint(context: Any, suite: Any, source: str) -> Any | None:
    """The checkpoint saved for `source` if it is the one `_saved_or_new_checkpoint` would save for
    `suite`, else None. Saving the suite, definition and checkpoint again costs ~0.1 s per
    validation, eight times a day, for objects that change only with the contract."""
    from great_expectations.exceptions import DataContextError

    try:
        checkpoint = context.checkpoints.get(source)
        (definition,) = checkpoint.validation_definitions
        batch = definition.data
        saved_suite = definition.suite
    except (DataContextError, LookupError, ValueError):
        return None  # none saved yet, or saved by another version: save afresh
    same = (
        checkpoint.result_format == RESULT_FORMAT
        and not checkpoint.actions  # the pages are built apart (data_docs_builds)
        and (batch.data_asset.datasource.name, batch.data_asset.name, batch.name)
        == (DATASOURCE, source, WHOLE_FRAME)
        and saved_suite.name == suite.name
        and saved_suite.meta == suite.meta
        and _expectation_configs(saved_suite) == _expectation_configs(suite)
    )
    return checkpoint if same else None


def _saved_or_new_checkpoint(context: Any, suite: Any, source: str) -> Any:
    """The checkpoint that validates `source` against `suite`, saved once."""
    import great_expectations as gx

    if (checkpoint := _saved_checkpoint(context, suite, source)) is not None:
        return checkpoint
    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=source, data=_batch_definition(context, source), suite=suite)
    )
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=source,
            validation_definitions=[definition],
            result_format=RESULT_FORMAT,
        )
    )


def _run_checkpoint(
    context: Any,
    suite: Any,
    frame: pd.DataFrame,
    source: str,
    run_name: str,
    docs: PendingDataDocs | None,
) -> tuple[Any, str | None]:
    """Validate through the saved Checkpoint and store the result; its Data Docs page is built
    now, or added to `docs` to be built later. Returns the result and the page's address."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    checkpoint = _saved_or_new_checkpoint(context, suite, source)
    # An explicit run_time: without one GX parses a date-like run_name ("2024-01-01") as the run
    # time, and two runs of the same partition would overwrite each other's page.
    run_id = RunIdentifier(run_name=run_name or source, run_time=dt.datetime.now(dt.UTC))
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_id)
    ((identifier, validation),) = result.run_results.items()
    pages = [identifier, ExpectationSuiteIdentifier(name=suite.name)]
    if docs is None:
        build_data_docs(context, pages)
    else:
        docs.add(context, pages)
    urls = context.get_docs_sites_urls(resource_identifier=identifier, only_if_exists=False)
    return validation, (urls[0]["site_url"] if urls else None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
        value = value.item()  # numpy scalar -> Python
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)  # Timestamp, date, Decimal, ...


def _outcome(result: Any, contract: Contract, frame: pd.DataFrame) -> ExpectationOutcome:
    config = result.expectation_config
    meta, kwargs = config.meta or {}, config.kwargs
    column = meta.get("column") or kwargs.get("column")
    if "column_list" in kwargs:
        column = ", ".join(kwargs["column_list"])
    count = result.result.get("unexpected_count") or 0
    sample = [_jsonable(v) for v in result.result.get("partial_unexpected_list") or []]
    if meta.get("rule") == COLUMNS_PRESENT:
        sample = [c for c in contract.column_names if c not in frame.columns]
        count = len(sample)
    elif config.type == "expect_column_values_to_be_of_type" and column in frame.columns:
        sample = [str(frame[column].dtype)]
    errors = [
        info.get("exception_message")
        for info in (result.exception_info or {}).values()
        if isinstance(info, dict) and info.get("raised_exception")
    ]
    if (result.exception_info or {}).get("raised_exception"):
        errors.append(result.exception_info.get("exception_message"))
    return ExpectationOutcome(
        rule=meta.get("rule", config.type),
        expectation=config.type,
        column=column,
        success=bool(result.success),
        unexpected_count=int(count),
        unexpected_sample=sample[:SAMPLE_SIZE],
        blocking=bool(meta.get("blocking", False)),
        error=errors[0] if errors else None,
    )


def validate_frame(
    contract: Contract,
    frame: pd.DataFrame,
    *,
    docs_dir: Path | None = None,
    run_name: str = "",
    reference_values: Mapping[str, Collection] | None = None,
    docs: PendingDataDocs | None = None,
) -> ValidationSummary:
    """Validate `frame` (rows of raw.<source>, ideally from `frame_from_duckdb`) against the suite
    built from `contract`; return one outcome per expectation, in suite order.

    docs_dir None: ephemeral context, nothing written. Otherwise a file context in
    `docs_dir/gx/` (created on first use, reused by later calls and processes); the run's result
    is stored there and Data Docs are updated; `data_docs_url` is this run's validation page,
    built before this returns, or, when `docs` is given, added to it to be built later.
    """
    started = time.perf_counter()
    suite = build_suite(contract, reference_values=reference_values)
    order = {e.meta["rule"]: i for i, e in enumerate(suite.expectations)}
    derived = reference_columns(contract, frame, reference_values)
    if derived:
        frame = frame.assign(**derived)
    url = None
    with GX_LOCK:
        if docs_dir is None:
            context = _context(None)
            batch = _batch_definition(context, contract.source).get_batch(
                batch_parameters={"dataframe": frame}
            )
            validation = batch.validate(suite, result_format=RESULT_FORMAT)
        else:
            context = _context(str(Path(docs_dir).resolve()))
            validation, url = _run_checkpoint(
                context, suite, frame, contract.source, run_name, docs
            )
    outcomes = sorted(
        (_outcome(r, contract, frame) for r in validation.results),
        key=lambda o: order.get(o.rule, len(order)),
    )
    return ValidationSummary(
        source=contract.source,
        rows=len(frame),
        evaluated=len(outcomes),
        failed=sum(not o.success for o in outcomes),
        outcomes=outcomes,
        seconds=time.perf_counter() - started,
        data_docs_url=url,
    )
