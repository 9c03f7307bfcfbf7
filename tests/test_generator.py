"""The demo generator: layout, contracts, business consistency, injected faults, determinism.

Datasets are generated once per module into tmp dirs and read back with DuckDB.
"""

from __future__ import annotations

import datetime as dt
import filecmp
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pytest

from datatrendz_pipelines.contracts import Contract, Rule, load_contracts, sql_literal
from datatrendz_pipelines.demo import (
    GeneratorConfig,
    Manifest,
    deliver_held_back,
    generate,
    load_manifest,
)

START = dt.date(2024, 1, 1)
CONTRACTS = load_contracts()
FACTS = [s for s, c in CONTRACTS.items() if c.kind == "fact"]
# Row faults -> the contract rule (or cast) that must catch exactly their rows.
CAUGHT_BY = {
    "null_key": ("order_lines", "product_id_not_null"),
    "negative_price": ("order_lines", "unit_price_min"),
    "negative_quantity_not_return": ("order_lines", "sale_quantity_positive"),
    "unknown_product": ("order_lines", "product_id_references_products"),
    "duplicated_line": ("order_lines", "order_id_line_number_unique"),
    "malformed_date": ("orders", "ordered_at_not_null"),  # the cast fails, leaving null
}


def _generate(root: Path, **kw) -> tuple[Path, Path, Manifest]:
    config = GeneratorConfig(
        **{"start": START, "days": 45, "scale": "tiny", "fault_rate": 0.004} | kw
    )
    manifest = generate(config, root / "landing", root / "demo")
    return root / "landing", root / "demo", manifest


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path, Manifest]:
    return _generate(tmp_path_factory.mktemp("tiny"))


def _load(conn: duckdb.DuckDBPyConnection, landing: Path, extra: Sequence[Path] = ()) -> None:
    """raw_<source> (text as written, with file) and <source> (typed with TRY_CAST) views."""
    for source, contract in CONTRACTS.items():
        files = sorted(str(p) for p in (landing / source).glob("date=*/*.csv")) + [
            str(p) for p in extra if source in p.name
        ]
        cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in contract.column_names) + "}"
        conn.execute(
            f"CREATE OR REPLACE TABLE raw_{source} AS SELECT * FROM read_csv({files}, header=true, "
            f"columns={cols}, auto_detect=false, filename=true)"
        )
        typed = ", ".join(
            f'TRY_CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in contract.columns
        )
        conn.execute(
            f"CREATE OR REPLACE VIEW {source} AS SELECT {typed}, filename FROM raw_{source}"
        )


def _bad_sql(rule: Rule) -> str:
    col = f'"{rule.columns[0]}"'
    if rule.kind == "not_null":
        return f"{col} IS NULL"
    if rule.kind in ("min", "max"):
        return f"{col} {'<' if rule.kind == 'min' else '>'} {rule.value}"
    if rule.kind == "accepted_values":
        return f"{col} NOT IN ({', '.join(sql_literal(v) for v in rule.value)})"
    if rule.kind == "pattern":
        return f"NOT regexp_matches({col}, {sql_literal(rule.value)})"
    source, column = rule.value  # references: to any row of the referenced source
    return f'{col} NOT IN (SELECT "{column}" FROM {source} WHERE "{column}" IS NOT NULL)'


def _violations(conn: duckdb.DuckDBPyConnection, contract: Contract) -> dict[str, int]:
    """Rows breaking each contract rule (duplicates: extra rows; dimensions: within a file)."""
    out = {}
    for rule in contract.rules:
        if rule.kind == "unique":
            keys = ", ".join(f'"{k}"' for k in rule.columns) + (
                ", filename" if contract.kind == "dimension" else ""
            )
            sql = f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM {contract.source} GROUP BY {keys})"
        else:
            where = rule.condition.sql() if rule.condition else "TRUE"
            sql = f"SELECT count(*) FROM {contract.source} WHERE ({where}) AND {_bad_sql(rule)}"
        out[rule.name] = conn.execute(sql).fetchone()[0]
    return out


def _clean_lines(conn: duckdb.DuckDBPyConnection, manifest: Manifest) -> None:
    """View clean_lines: order_lines without the injected rows (duplicates folded by DISTINCT)."""
    bad_keys = [
        [str(x) for x in k]
        for r in manifest.injected
        if r.source == "order_lines" and r.kind in CAUGHT_BY and r.kind != "duplicated_line"
        for k in r.keys
    ]
    conn.execute(
        "CREATE OR REPLACE TABLE bad AS SELECT k[1] AS order_id, k[2]::INTEGER AS line_number "
        "FROM (SELECT unnest(?::VARCHAR[][]) k)",
        [bad_keys],
    )
    conn.execute(
        "CREATE OR REPLACE VIEW clean_lines AS SELECT DISTINCT * EXCLUDE (filename) FROM order_lines "
        "ANTI JOIN bad USING (order_id, line_number)"
    )


def test_layout_headers_and_manifest_files(tiny):
    landing, demo, manifest = tiny
    on_disk = {p.relative_to(landing).as_posix() for p in landing.rglob("*.csv")}
    listed = {f.path for entries in manifest.files.values() for f in entries if not f.held_back}
    assert on_disk == listed
    for source, entries in manifest.files.items():
        for f in entries:
            day = f.date
            assert (
                f.path == f"{source}/date={day}/{source}_{day}{'_late' if f.held_back else ''}.csv"
            )
            file = (demo / "held_back" / f.path) if f.held_back else landing / f.path
            lines = file.read_text().splitlines()
            assert lines[0] == ",".join(CONTRACTS[source].column_names)
            assert len(lines) - 1 == f.rows
    for source in FACTS:
        assert len({f.date for f in manifest.files[source]}) == 45, source
    first_day = {
        s: min(f.date for f in manifest.files[s]) for s in ("stores", "products", "customers")
    }
    assert set(first_day.values()) == {START.isoformat()}
    assert (
        len(manifest.files["customers"]) > 20 and len(manifest.files["products"]) < 45
    )  # change files
    assert load_manifest(demo) == manifest


def test_every_rule_is_met_except_the_injected_faults_which_are_caught_exactly(tiny):
    landing, demo, manifest = tiny
    conn = duckdb.connect()
    _load(
        conn,
        landing,
        [demo / "held_back" / f.path for f in manifest.files["order_lines"] if f.held_back],
    )
    expected: dict[tuple[str, str], int] = {}
    for record in manifest.injected:
        if record.kind in CAUGHT_BY:
            expected[CAUGHT_BY[record.kind]] = (
                expected.get(CAUGHT_BY[record.kind], 0) + record.count
            )
    orphans = sum(
        len(r.detail["orphaned_web_sessions"])
        for r in manifest.faults("volume_drop")
        if r.source == "orders"
    )
    expected[("web_sessions", "order_id_references_orders")] = orphans
    assert all(expected[v] > 0 for v in CAUGHT_BY.values())
    for source, contract in CONTRACTS.items():
        found = {name: n for name, n in _violations(conn, contract).items() if n}
        wanted = {rule: n for (s, rule), n in expected.items() if s == source and n}
        assert found == wanted, source
        casts = " + ".join(
            f'count("{c}") - count(TRY_CAST("{c}" AS {c_type}))'
            for c, c_type in ((c.name, c.type) for c in contract.columns)
        )
        failed = conn.execute(f"SELECT {casts} FROM raw_{source}").fetchone()[0]
        assert failed == (
            expected.get(("orders", "ordered_at_not_null"), 0) if source == "orders" else 0
        )
    # As of each day: stores open, products launched, customers signed up.
    late = conn.execute("""
        SELECT count(*) FROM orders o JOIN stores s USING (store_id) WHERE o.ordered_at::DATE < s.opened_date
        UNION ALL SELECT count(*) FROM order_lines l JOIN orders o USING (order_id)
          JOIN products p USING (product_id) WHERE o.ordered_at::DATE < p.launched_date
        UNION ALL SELECT count(*) FROM orders o JOIN customers c USING (customer_id)
          WHERE o.ordered_at::DATE < c.signup_date""").fetchall()
    assert late == [(0,), (0,), (0,)]


def test_faults_sit_in_their_files_with_the_recorded_values(tiny):
    landing, _, manifest = tiny
    kinds = {r.kind for r in manifest.injected}
    assert kinds == {*CAUGHT_BY, "late_file", "volume_drop", "traffic_spike", "revenue_drop"}
    conn = duckdb.connect()
    for r in manifest.injected:
        if r.kind not in CAUGHT_BY:
            continue
        assert r.count == len(r.keys) > 0
        rows = conn.execute(
            f"SELECT * FROM read_csv('{landing / r.file}', all_varchar=true)"
        ).fetchall()
        header = list(CONTRACTS[r.source].column_names)
        pk = [header.index(k) for k in CONTRACTS[r.source].primary_key]
        by_key: dict[tuple, list] = {}
        for row in rows:
            by_key.setdefault(tuple(row[i] for i in pk), []).append(row)
        for i, key in enumerate(r.keys):
            key = tuple(str(k) for k in (key if isinstance(key, list) else [key]))
            hits = by_key[key]
            if r.kind == "duplicated_line":
                assert len(hits) == 2 and hits[0] == hits[1]
            else:
                written = None if r.values[i] is None else str(r.values[i])
                assert len(hits) == 1 and hits[0][header.index(r.column)] == written
            if r.source == "order_lines":  # faults never touch returns
                assert hits[0][header.index("line_type")] == "sale"


def test_day_level_faults_and_anomalies(tiny, tmp_path):
    landing, demo, manifest = tiny
    rows = {s: manifest.rows_by_day(s) for s in ("orders", "web_sessions")}
    normal = sorted(rows["orders"].values())[len(rows["orders"]) // 2]
    conn = duckdb.connect()
    for cut in manifest.faults("volume_drop"):  # orders and order_lines
        pk = ", ".join(CONTRACTS[cut.source].primary_key)
        kept = conn.execute(
            f"SELECT [{pk}]::VARCHAR[] FROM read_csv('{landing / cut.file}', all_varchar=true)"
        ).fetchall()
        assert len(kept) == cut.detail["delivered_rows"] == cut.detail["expected_rows"] - cut.count
        missing = {tuple(k if isinstance(k, list) else [k]) for k in cut.keys}
        assert len(missing) == cut.count > 0 and not missing & {
            tuple(k if cut.source == "orders" else [k[0], int(k[1])]) for (k,) in kept
        }
    assert rows["orders"][cut.date] < 0.4 * normal
    (spike,) = manifest.faults("traffic_spike")
    median = sorted(rows["web_sessions"].values())[len(rows["web_sessions"]) // 2]
    assert rows["web_sessions"][spike.date] > 3 * median and spike.count > 2 * median
    (drop,) = manifest.faults("revenue_drop")
    per_day = dict(
        conn.execute(f"""SELECT ordered_at::DATE::VARCHAR, count(*) FROM read_csv('{landing}/orders/*/*.csv',
        all_varchar=true) WHERE store_id = '{drop.detail["store_id"]}' AND order_type = 'sale'
        AND TRY_CAST(ordered_at AS TIMESTAMP) IS NOT NULL GROUP BY 1""").fetchall()
    )
    assert per_day.get(drop.date, 0) == drop.count < 0.6 * sum(per_day.values()) / len(per_day)
    for r in manifest.injected:  # every fault after the trailing two weeks of history
        assert r.date >= (START + dt.timedelta(days=14)).isoformat()
    # The late file: held back, then delivered next to the day's file.
    (late,) = manifest.faults("late_file")
    held = demo / late.detail["held_back_path"]
    assert held.exists() and not (landing / late.file).exists()
    copy = tmp_path / "demo"
    (copy / held.relative_to(demo)).parent.mkdir(parents=True)
    (copy / held.relative_to(demo)).write_bytes(held.read_bytes())
    moved = deliver_held_back(copy, tmp_path / "landing")
    assert (
        moved == [tmp_path / "landing" / late.file]
        and deliver_held_back(copy, tmp_path / "landing") == []
    )
    late_keys = conn.execute(
        f"SELECT order_id, line_number FROM read_csv('{moved[0]}', all_varchar=true)"
    ).fetchall()
    assert [[o, int(n)] for o, n in late_keys] == late.keys and late.count > 0
    on_time = conn.execute(
        f"SELECT count(*), max(right(order_id, 6)) FROM read_csv('{landing / late.file.replace('_late', '')}', "
        "all_varchar=true)"
    ).fetchone()  # the evening's orders came late
    assert on_time[0] == late.detail["on_time_rows"] and on_time[1] < min(
        k[0][-6:] for k in late.keys
    )


def test_inventory_balances_and_runs_out(tiny):
    landing, demo, manifest = tiny
    conn = duckdb.connect()
    _load(
        conn,
        landing,
        [demo / "held_back" / f.path for f in manifest.files["order_lines"] if f.held_back],
    )
    _clean_lines(conn, manifest)
    drop_day = manifest.faults("volume_drop")[0].date
    rows = conn.execute(f"""
        WITH moves AS (
          SELECT o.ordered_at::DATE d, o.store_id, l.product_id,
                 sum(CASE WHEN l.line_type = 'sale' AND o.status = 'completed' THEN l.quantity ELSE 0 END) sold,
                 sum(CASE WHEN l.line_type = 'return' THEN -l.quantity ELSE 0 END) returned
          FROM clean_lines l JOIN orders o USING (order_id)
          GROUP BY ALL),
        s AS (SELECT *, lag(quantity_on_hand) OVER (PARTITION BY store_id, product_id ORDER BY snapshot_date) prev
              FROM inventory_snapshots)
        SELECT s.snapshot_date = DATE '{drop_day}' drop_day,
               count(*) FILTER (WHERE prev IS NOT NULL AND quantity_on_hand <> prev - coalesce(sold, 0)
                                + coalesce(returned, 0) + quantity_received) broken,
               count(*) FILTER (WHERE prev = 0 AND quantity_received = 0) empty_shelf,
               count(*) FILTER (WHERE prev = 0 AND quantity_received = 0 AND coalesce(sold, 0) > 0) sold_from_empty,
               min(quantity_on_hand) lowest
        FROM s LEFT JOIN moves m ON m.d = s.snapshot_date AND m.store_id = s.store_id AND m.product_id = s.product_id
        GROUP BY 1 ORDER BY 1""").fetchall()
    (_, broken, empty, sold_from_empty, lowest), (_, broken_on_drop_day, *_) = rows
    assert broken == 0 and sold_from_empty == 0 and lowest >= 0
    assert empty > 20  # real stock-outs
    assert broken_on_drop_day > 0  # the cut-short export really lost sales
    sold_lines = conn.execute(
        "SELECT count(*) FROM order_lines l JOIN orders o USING (order_id) "
        "JOIN inventory_snapshots i ON i.store_id = o.store_id AND i.product_id = l.product_id "
        "AND i.snapshot_date = o.ordered_at::DATE"
    ).fetchone()[0]
    assert sold_lines > 0.95 * manifest.total_rows("order_lines")  # sold where stocked
    (outage,) = [e for e in manifest.events if e.kind == "supply_disruption"]
    longest = conn.execute(f"""
        WITH brand AS (SELECT DISTINCT product_id FROM products WHERE brand = '{outage.detail["brand"]}'),
        empty AS (SELECT store_id, product_id, snapshot_date d FROM inventory_snapshots SEMI JOIN brand
                  USING (product_id) WHERE quantity_on_hand = 0
                  AND snapshot_date BETWEEN DATE '{outage.start}' AND DATE '{outage.end}' + 3)
        SELECT max(n) FROM (SELECT count(*) n FROM (SELECT *, d - row_number() OVER
            (PARTITION BY store_id, product_id ORDER BY d)::INT grp FROM empty) GROUP BY store_id, product_id, grp)
    """).fetchone()[0]
    assert longest >= 3  # the supplier outage empties shelves for days


def test_web_funnel_matches_the_orders(tiny):
    landing, _, manifest = tiny
    conn = duckdb.connect()
    _load(conn, landing)
    spike = manifest.faults("traffic_spike")[0].date
    drop = manifest.faults("volume_drop")[0].date
    (orders, one, checkout, same_customer, shortly_before, bad_sessions, conversion) = (
        conn.execute(f"""
        WITH web AS (SELECT * FROM orders WHERE channel = 'online' AND order_type = 'sale'),
        hits AS (SELECT w.order_id, count(s.session_id) n, bool_and(s.reached_checkout AND s.add_to_cart_events >= 1
                   AND s.product_views >= 1) ok, bool_and(s.customer_id IS NOT DISTINCT FROM w.customer_id) same,
                   bool_and(s.started_at <= w.ordered_at AND s.started_at > w.ordered_at - INTERVAL 3 HOUR) soon
                 FROM web w LEFT JOIN web_sessions s USING (order_id) GROUP BY 1)
        SELECT count(*), count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE ok), count(*) FILTER (WHERE same),
               count(*) FILTER (WHERE soon),
               (SELECT count(*) FROM web_sessions s WHERE order_id IS NOT NULL AND (NOT reached_checkout OR
                 order_id NOT IN (SELECT order_id FROM web)) AND started_at::DATE <> DATE '{drop}'),
               (SELECT count(order_id) / count(*) FROM web_sessions WHERE started_at::DATE <> DATE '{spike}')
        FROM hits""").fetchone()
    )
    assert orders > 500 and orders == one == checkout == same_customer == shortly_before
    assert bad_sessions == 0 and 0.04 < conversion < 0.09


def test_returns_cancellations_and_customers(tiny):
    landing, demo, manifest = tiny
    conn = duckdb.connect()
    _load(
        conn,
        landing,
        [demo / "held_back" / f.path for f in manifest.files["order_lines"] if f.held_back],
    )
    _clean_lines(conn, manifest)
    (returns, valid, over_returned, return_rate, cancelled, anonymous) = conn.execute("""
        WITH r AS (SELECT r.order_id, r.original_order_id, s.order_id IS NOT NULL AND s.order_type = 'sale'
                     AND s.status = 'completed' AND s.store_id = r.store_id AND s.ordered_at::DATE < r.ordered_at::DATE
                     AND s.customer_id IS NOT DISTINCT FROM r.customer_id ok
                   FROM orders r LEFT JOIN orders s ON s.order_id = r.original_order_id WHERE r.order_type = 'return'),
        rl AS (SELECT l.*, r.original_order_id FROM clean_lines l JOIN r USING (order_id))
        SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM r WHERE ok),
               (SELECT count(*) FROM rl LEFT JOIN clean_lines s ON s.order_id = rl.original_order_id
                  AND s.product_id = rl.product_id AND s.line_type = 'sale' WHERE s.quantity IS NULL OR -rl.quantity > s.quantity),
               (SELECT count(*) FROM rl) / (SELECT count(*) FROM order_lines WHERE line_type = 'sale'),
               (SELECT avg((status = 'cancelled')::INT) FROM orders WHERE channel = 'online' AND order_type = 'sale'),
               (SELECT avg((customer_id IS NULL)::INT) FROM orders WHERE channel = 'store' AND order_type = 'sale')
    """).fetchone()
    assert returns > 50 and valid == returns and over_returned == 0
    assert 0.03 < return_rate < 0.12 and 0.005 < cancelled < 0.08 and 0.2 < anonymous < 0.5
    mismatched = conn.execute("""
        WITH signups AS (SELECT signup_date d, acquisition_channel ch, count(DISTINCT customer_id) n FROM customers GROUP BY ALL)
        SELECT count(*), count(*) FILTER (WHERE m.new_customers <> coalesce(s.n, 0)), sum(m.new_customers)
        FROM marketing_spend m LEFT JOIN signups s ON s.d = m.spend_date AND s.ch = m.channel""").fetchone()
    assert mismatched[0] == 45 * 5 and mismatched[1] == 0 and mismatched[2] > 0


def test_calendar_shapes_demand(tmp_path):
    landing, _, _ = _generate(
        tmp_path, start=dt.date(2024, 11, 26), days=35, fault_rate=0.0, anomalies=False
    )
    conn = duckdb.connect()
    _load(conn, landing)
    by_day = dict(
        conn.execute(
            "SELECT ordered_at::DATE, count(*) FILTER (WHERE channel = 'store') FROM orders "
            "WHERE order_type = 'sale' GROUP BY 1"
        ).fetchall()
    )
    assert by_day[dt.date(2024, 12, 25)] == 0 and by_day[dt.date(2024, 12, 24)] > 0
    weekdays = [n for d, n in by_day.items() if d.weekday() == 1 and d.month == 12 and d.day < 24]
    saturdays = [n for d, n in by_day.items() if d.weekday() == 5 and d.month == 12 and d.day < 24]
    assert sum(saturdays) / len(saturdays) > 1.3 * sum(weekdays) / len(weekdays)
    promo = conn.execute(
        "SELECT count(DISTINCT promotion_code), bool_and(ordered_at::DATE BETWEEN DATE '2024-11-29' "
        "AND DATE '2024-12-02' OR ordered_at::DATE BETWEEN DATE '2024-12-10' AND DATE '2024-12-16') "
        "FROM orders WHERE promotion_code IS NOT NULL"
    ).fetchone()
    assert promo == (2, True)


def test_same_config_same_bytes_other_seed_other_data(tmp_path):
    a = _generate(tmp_path / "a", days=21)
    b = _generate(tmp_path / "b", days=21)
    c = _generate(tmp_path / "c", days=21, seed=8)
    files = sorted(p.relative_to(a[0]) for p in a[0].rglob("*.csv"))
    assert len(files) > 100
    _, mismatch, errors = filecmp.cmpfiles(a[0], b[0], [str(f) for f in files], shallow=False)
    assert mismatch == [] and errors == [] and a[2].injected == b[2].injected
    orders = [f for f in files if f.parts[0] == "orders"]
    assert all(not filecmp.cmp(a[0] / f, c[0] / f, shallow=False) for f in orders)


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_other_formats_hold_the_same_rows(tmp_path, file_format):
    csv = _generate(tmp_path / "csv", days=21)
    other = _generate(tmp_path / file_format, days=21, file_format=file_format)
    assert {s: csv[2].total_rows(s) for s in CONTRACTS} == {
        s: other[2].total_rows(s) for s in CONTRACTS
    }
    conn = duckdb.connect()
    reader = "read_parquet" if file_format == "parquet" else "read_json_auto"
    for source, contract in CONTRACTS.items():
        for f in other[2].files[source][:3]:
            rel = conn.execute(
                f"SELECT * FROM {reader}('{other[0] / f.path}', hive_partitioning=false)"
            )
            assert [d[0] for d in rel.description] == list(contract.column_names)
        # Materialise first: DuckDB 2.0 pushes TRY_CAST into read_csv, which then raises.
        text = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in contract.column_names) + "}"
        conn.execute(
            f"CREATE OR REPLACE TABLE a AS FROM read_csv('{csv[0]}/{source}/*/*.csv', "
            f"columns={text}, auto_detect=false, header=true)"
        )
        conn.execute(
            f"CREATE OR REPLACE TABLE b AS FROM {reader}('{other[0]}/{source}/*/*.{file_format}', "
            "union_by_name=true, hive_partitioning=false)"
        )
        cols = ", ".join(f'TRY_CAST("{c.name}"::VARCHAR AS {c.type})' for c in contract.columns)
        assert conn.execute(
            "SELECT (SELECT count(*) FROM a) - (SELECT count(*) FROM b)"
        ).fetchone() == (0,)
        assert (
            conn.execute(f"SELECT {cols} FROM a EXCEPT ALL SELECT {cols} FROM b").fetchall() == []
        ), source
    if file_format == "parquet":  # typed columns, except where a malformed value forces text
        malformed = other[2].faults("malformed_date")[0].file
        clean = next(f.path for f in other[2].files["orders"] if f.path != malformed)
        typeof = "SELECT typeof(ordered_at), typeof(unit_price) FROM read_parquet('{}') POSITIONAL JOIN read_parquet('{}') LIMIT 1"
        lines = malformed.replace("orders", "order_lines")
        assert conn.execute(typeof.format(other[0] / malformed, other[0] / lines)).fetchone() == (
            "VARCHAR",
            "DECIMAL(12,2)",
        )
        assert (
            conn.execute(typeof.format(other[0] / clean, other[0] / lines)).fetchone()[0]
            == "TIMESTAMP"
        )


@pytest.mark.parametrize("start", [START, dt.date(2024, 12, 20)])
def test_a_week_still_carries_every_fault_kind(tmp_path, start):
    _, _, manifest = _generate(tmp_path, start=start, days=7, fault_rate=0.001)
    assert {r.kind for r in manifest.injected} == {
        *CAUGHT_BY,
        "late_file",
        "volume_drop",
        "traffic_spike",
        "revenue_drop",
    }
    day_level = [
        r.date
        for r in manifest.injected
        if r.kind in ("late_file", "traffic_spike", "revenue_drop")
    ]
    assert len(set(day_level)) == 3  # each on its own day


def test_scale_and_order_line_target(tmp_path):
    _, _, manifest = _generate(
        tmp_path, days=30, order_lines=9_000, fault_rate=0.0, anomalies=False
    )
    assert 0.85 * 9_000 < manifest.total_rows("order_lines") < 1.15 * 9_000
    assert manifest.injected == []
    with pytest.raises(ValueError, match="scale"):
        GeneratorConfig(start=START, days=3, scale="huge")
