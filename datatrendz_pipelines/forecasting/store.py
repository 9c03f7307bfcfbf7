"""The forecast tables in the warehouse: ml.forecasts_<task>, one set of rows per forecast origin."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

FORECAST_COLUMNS = {
    "series_id": "VARCHAR",
    "forecast_origin": "DATE",  # the last day of history the forecast was made from
    "date": "DATE",
    "yhat": "DOUBLE",
    "yhat_lower": "DOUBLE",
    "yhat_upper": "DOUBLE",
    "model_version": "VARCHAR",
    "created_at": "TIMESTAMP",
    "dagster_run_id": "VARCHAR",
}


def forecast_table(task: str) -> str:
    return f"ml.forecasts_{task}"


def ensure_forecast_table(conn: duckdb.DuckDBPyConnection, task: str) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS ml")
    body = ", ".join(f"{name} {type_}" for name, type_ in FORECAST_COLUMNS.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {forecast_table(task)} ({body})")


def write_forecasts(
    conn: duckdb.DuckDBPyConnection,
    task: str,
    origin: dt.date,
    forecasts: pd.DataFrame,
    run_id: str,
) -> int:
    """Replace the forecasts made from `origin` (idempotent for a re-run of that day).

    `forecasts`: [series_id, date, yhat, yhat_lower, yhat_upper, model_version].
    """
    ensure_forecast_table(conn, task)
    frame = forecasts.assign(
        forecast_origin=origin,
        created_at=pd.Timestamp.now(tz="UTC").tz_localize(None),
        dagster_run_id=run_id,
    )[list(FORECAST_COLUMNS)]
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"DELETE FROM {forecast_table(task)} WHERE forecast_origin = ?", [origin])
        conn.register("_forecasts", frame)
        conn.execute(f"INSERT INTO {forecast_table(task)} SELECT * FROM _forecasts")
        conn.unregister("_forecasts")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(frame)


def matured_forecasts(
    conn: duckdb.DuckDBPyConnection, task: str, since: dt.date, until: dt.date
) -> pd.DataFrame:
    """Forecasts for days in [since, until], each from the latest origin before that day."""
    ensure_forecast_table(conn, task)
    return conn.execute(
        f"""SELECT series_id, date, yhat, yhat_lower, yhat_upper, model_version
        FROM {forecast_table(task)}
        WHERE date BETWEEN ? AND ? AND forecast_origin < date
        QUALIFY row_number() OVER (PARTITION BY series_id, date ORDER BY forecast_origin DESC) = 1""",
        [since, until],
    ).df()
