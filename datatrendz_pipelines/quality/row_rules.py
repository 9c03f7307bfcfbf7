"""Contract rules as DuckDB SQL: which typed rows break which error rule, and why.

`judge_sql` turns the rules of a contract into one query over the relation `_typed` (a table or
CTE of the rows of a load, typed, with `_partition_date`, `_source_file`, `_source_row`). It returns every row
with `_rules` (names of the broken error rules, comma-separated; '' when none) and `_reasons`
(what was wrong, in words). Rows with a non-empty `_rules` go to quarantine; the rest to raw.

Scope of the set rules: `unique` compares the rows of one day (a duplicated key keeps its first
row by file and row number; dimension change files may repeat a key on later days); `references` looks the key up in the referenced raw table
among rows delivered on or before the row's day, or among the load's own rows for a
self-reference. A reference to a source that was never delivered is not checked (a business
brings the sources it has); `skipped_references` lists those.
"""

from __future__ import annotations

from collections.abc import Collection

from datatrendz_pipelines.contracts import Contract, Rule, sql_literal
from datatrendz_pipelines.ingestion.tables import ident


def _violation(rule: Rule) -> str | None:
    """Predicate on alias t that is true when the row breaks a row-level rule."""
    col = f"t.{ident(rule.columns[0])}"
    if rule.kind == "not_null":
        test = f"{col} IS NULL"
    elif rule.kind == "min":
        test = f"{col} < {sql_literal(rule.value)}"
    elif rule.kind == "max":
        test = f"{col} > {sql_literal(rule.value)}"
    elif rule.kind == "accepted_values":
        values = ", ".join(sql_literal(v) for v in rule.value)
        test = f"{col} NOT IN ({values})"
    elif rule.kind == "pattern":
        test = f"NOT regexp_full_match({col}, {sql_literal(rule.value)})"
    else:
        return None
    if rule.condition is not None:
        test = f"({rule.condition.sql('t')}) AND ({test})"
    return f"coalesce({test}, FALSE)"


def _explain(rule: Rule) -> str:
    shown = " = " if rule.kind != "references" else " "
    column = rule.columns[0]
    if rule.kind == "not_null":
        what = "must not be empty"
    elif rule.kind == "min":
        what = f"is below the minimum {rule.value}"
    elif rule.kind == "max":
        what = f"is above the maximum {rule.value}"
    elif rule.kind == "accepted_values":
        what = f"is not one of {list(rule.value)}"
    elif rule.kind == "pattern":
        what = f"does not match {rule.value}"
    else:
        what = f"is not a known {rule.value[0]}.{rule.value[1]}"
    when = f" (when {rule.condition.sql()})" if rule.condition else ""
    value = f"coalesce(CAST(t.{ident(column)} AS VARCHAR), 'NULL')"
    return f"{sql_literal(f'{rule.name}: {column}{shown}')} || {value} || {sql_literal(f' {what}{when}')}"


def _reference_join(rule: Rule, index: int, own_source: str) -> tuple[str, str]:
    """LEFT JOIN of the referenced keys' first delivery day, and the violation predicate."""
    ref_source, ref_column = rule.value
    column = ident(rule.columns[0])
    alias = f"ref{index}"
    if ref_source == own_source:
        keys = f"SELECT {ident(ref_column)} AS k, DATE '0001-01-01' AS first_day FROM _typed"
        keys += (
            f" UNION ALL SELECT {ident(ref_column)}, _partition_date FROM raw.{ident(ref_source)}"
        )
    else:
        keys = f"SELECT {ident(ref_column)} AS k, _partition_date AS first_day FROM raw.{ident(ref_source)}"
    # Only the keys this load uses: a daily load does not scan the whole history's keys.
    keys = (
        f"SELECT k, min(first_day) AS first_day FROM ({keys}) "
        f"WHERE k IN (SELECT {column} FROM _typed) GROUP BY k"
    )
    join = f"LEFT JOIN ({keys}) {alias} ON {alias}.k = t.{column}"
    test = (
        f"(t.{column} IS NOT NULL AND ({alias}.k IS NULL OR {alias}.first_day > t._partition_date))"
    )
    if rule.condition is not None:
        test = f"({rule.condition.sql('t')}) AND {test}"
    return join, test


def _unique_join(rule: Rule, index: int) -> tuple[str, str]:
    """LEFT JOIN of the keys that occur more than once a day, with their first row by file and
    row number, and the violation predicate (a later row of such a key).

    Per day, so that loading days one by one or as a backfill quarantines the same rows. An
    aggregate, not a window over every row: keys repeat rarely, and a window sorted all
    28 million rows of a two-year web_sessions load."""
    columns = [*rule.columns, "_partition_date"]
    keys = ", ".join(ident(c) for c in columns)
    present = " AND ".join(f"{ident(c)} IS NOT NULL" for c in rule.columns)
    alias = f"dup{index}"
    first = "{'file': _source_file, 'row': _source_row}"
    # Counting first, then the first row of only the repeated keys: an aggregate of a struct
    # over every row cost 4x the count.
    counted = f"SELECT {keys} FROM _typed WHERE {present} GROUP BY ALL HAVING count(*) > 1"
    repeated = (
        f"SELECT {keys}, min({first}) AS _first FROM _typed "
        f"SEMI JOIN ({counted}) _repeated USING ({keys}) GROUP BY ALL"
    )
    on = " AND ".join(f"{alias}.{ident(c)} = t.{ident(c)}" for c in columns)
    join = f"LEFT JOIN ({repeated}) {alias} ON {on}"
    test = (
        f"({alias}._first IS NOT NULL AND "
        f"{{'file': t._source_file, 'row': t._source_row}} <> {alias}._first)"
    )
    return join, test


def judge_sql(contract: Contract, delivered_sources: Collection[str]) -> tuple[str, list[Rule]]:
    """The query that labels each row of `_typed` with the error rules it breaks, and the
    reference rules left unchecked because their source was never delivered."""
    tests: list[tuple[Rule, str]] = []
    joins: list[str] = []
    skipped: list[Rule] = []
    for index, rule in enumerate(r for r in contract.rules if r.severity == "error"):
        if rule.kind == "references":
            if rule.value[0] != contract.source and rule.value[0] not in delivered_sources:
                skipped.append(rule)
                continue
            join, test = _reference_join(rule, index, contract.source)
            joins.append(join)
            tests.append((rule, test))
        elif rule.kind == "unique":
            join, test = _unique_join(rule, index)
            joins.append(join)
            tests.append((rule, test))
        else:
            test = _violation(rule)
            assert test is not None
            tests.append((rule, test))
    flags = ",\n  ".join(f"{test} AS _f{i}" for i, (_, test) in enumerate(tests)) or "FALSE AS _f0"
    names = ", ".join(
        f"CASE WHEN _f{i} THEN '{rule.name}' END" for i, (rule, _) in enumerate(tests)
    )
    reasons = ", ".join(
        f"CASE WHEN _f{i} THEN {_explain(rule) if rule.kind != 'unique' else sql_literal(_unique_reason(rule))} END"
        for i, (rule, _) in enumerate(tests)
    )
    flagged = f"SELECT t.*,\n  {flags}\nFROM _typed t\n" + "\n".join(joins)
    if not tests:
        return "SELECT *, '' AS _rules, '' AS _reasons FROM _typed", skipped
    # Reasons are built from the row's values, so they are computed over the flagged rows.
    sql = (
        f"SELECT t.* EXCLUDE ({', '.join(f'_f{i}' for i in range(len(tests)))}),\n"
        f"  concat_ws(',', {names}) AS _rules,\n"
        f"  concat_ws('; ', {reasons}) AS _reasons\n"
        f"FROM ({flagged}) t"
    )
    return sql, skipped


def _unique_reason(rule: Rule) -> str:
    return f"{rule.name}: a row with the same {', '.join(rule.columns)} came earlier that day"
