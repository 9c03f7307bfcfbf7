"""Rolling-origin backtest of a forecaster against the seasonal-naive baseline.

For each cut-off c (the last day the model may see), the model is fitted on history <= c
and forecasts c+1..c+horizon; the baseline does the same on the same cut-offs. Known-in-
advance exogenous values of the test window (holidays, planned promotions) are given to
the model as `future`; actual y never is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from ml.metrics import METRICS, add_errors, seasonal_naive_mae, summarise
from ml.models import SeasonalNaive
from ml.panel import EXOG_COLUMNS, build_panel

OVERALL = "__overall__"
BASELINE = "seasonal_naive"


class Forecaster(Protocol):
    def fit(self, history: pd.DataFrame) -> Forecaster: ...

    def predict(
        self, history: pd.DataFrame, horizon: int = 28, future: pd.DataFrame | None = None
    ) -> pd.DataFrame: ...


@dataclass(frozen=True)
class BacktestResult:
    """`forecasts`: [model, cutoff, series_id, date, y, yhat, yhat_lower, yhat_upper, ...].

    `metrics` is tidy: one row per (model, series_id, metric) with `value`; series_id
    `__overall__` holds the metrics over all series and cut-offs.
    """

    cutoffs: list[pd.Timestamp]
    forecasts: pd.DataFrame
    metrics: pd.DataFrame

    def overall(self, model: str = "model") -> dict[str, float]:
        rows = self.metrics[
            (self.metrics["model"] == model) & (self.metrics["series_id"] == OVERALL)
        ]
        return {r.metric: float(r.value) for r in rows.itertuples()}


def backtest_cutoffs(
    last_date: pd.Timestamp, horizon: int = 28, n_cutoffs: int = 4, step: int = 28
) -> list[pd.Timestamp]:
    """Cut-offs, oldest first; the newest leaves exactly `horizon` days of actuals after it."""
    newest = pd.Timestamp(last_date).normalize() - pd.Timedelta(days=horizon)
    return [newest - pd.Timedelta(days=step * k) for k in range(n_cutoffs - 1, -1, -1)]


def complete_days(history: pd.DataFrame) -> pd.DataFrame:
    """History with the y=0 days inside each series' span made explicit (as `build_panel` does)."""
    panel = build_panel(history)
    s, d = (panel.y == panel.y).nonzero()
    return pd.DataFrame(
        {"series_id": panel.series_ids[s], "date": panel.dates[d], "y": panel.y[s, d]}
    )


def run_backtest(
    history: pd.DataFrame,
    make_model: Callable[[], Forecaster],
    *,
    horizon: int = 28,
    cutoffs: list[pd.Timestamp] | None = None,
    n_cutoffs: int = 4,
    step: int = 28,
    model_name: str = "model",
    baseline: bool = True,
) -> BacktestResult:
    """Fit `make_model()` at every cut-off, forecast `horizon` days, score both models."""
    history = history.assign(date=pd.to_datetime(history["date"]).dt.normalize())
    actuals = complete_days(history)
    cutoffs = cutoffs or backtest_cutoffs(history["date"].max(), horizon, n_cutoffs, step)
    exog = ["series_id", "date", *[c for c in EXOG_COLUMNS if c in history.columns]]
    models: dict[str, Callable[[], Forecaster]] = {model_name: make_model}
    if baseline:
        models[BASELINE] = SeasonalNaive
    parts = []
    for cutoff in cutoffs:
        train = history[history["date"] <= cutoff]
        end = cutoff + pd.Timedelta(days=horizon)
        window = (actuals["date"] > cutoff) & (actuals["date"] <= end)
        test = actuals[window]
        future = history.loc[(history["date"] > cutoff) & (history["date"] <= end), exog]
        scale = seasonal_naive_mae(actuals[actuals["date"] <= cutoff]).rename("mase_scale")
        for name, factory in models.items():
            fc = factory().fit(train).predict(train, horizon, future=future)
            scored = fc.merge(test, on=["series_id", "date"], how="inner")
            scored = scored.join(scale, on="series_id").assign(model=name, cutoff=cutoff)
            parts.append(scored)
    forecasts = add_errors(pd.concat(parts, ignore_index=True))
    return BacktestResult(list(cutoffs), forecasts, _tidy_metrics(forecasts))


def _tidy_metrics(forecasts: pd.DataFrame) -> pd.DataFrame:
    per_series = summarise(forecasts, ["model", "series_id"])
    overall = summarise(forecasts, ["model"]).assign(series_id=OVERALL)
    wide = pd.concat([overall, per_series], ignore_index=True)
    long = wide.melt(id_vars=["model", "series_id"], value_vars=[*METRICS, "n"], var_name="metric")
    return long.sort_values(["model", "series_id", "metric"], ignore_index=True)


def plot_backtest(
    result: BacktestResult,
    path: str | Path,
    *,
    model: str = "model",
    series_id: str | None = None,
    title: str | None = None,
) -> Path:
    """Write a PNG of actual vs forecast (with the 80% band) for the largest series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fc = result.forecasts
    if series_id is None:
        series_id = str(fc.groupby("series_id")["y"].sum().idxmax())
    mine = fc[(fc["series_id"] == series_id) & (fc["model"] == model)].sort_values("date")
    base = fc[(fc["series_id"] == series_id) & (fc["model"] == BASELINE)].sort_values("date")
    fig, ax = plt.subplots(figsize=(11, 4), dpi=100)
    ax.plot(mine["date"], mine["y"], color="black", lw=1.2, label="actual")
    for i, (_, g) in enumerate(mine.groupby("cutoff")):
        ax.plot(
            g["date"], g["yhat"], color="tab:blue", lw=1.2, label="forecast" if i == 0 else None
        )
        ax.fill_between(
            g["date"],
            g["yhat_lower"],
            g["yhat_upper"],
            color="tab:blue",
            alpha=0.2,
            label="80% interval" if i == 0 else None,
        )
    if len(base):
        ax.plot(
            base["date"], base["yhat"], color="tab:orange", lw=0.8, ls="--", label="seasonal naive"
        )
    for cutoff in result.cutoffs:
        ax.axvline(cutoff, color="grey", lw=0.6, ls=":")
    ax.set_title(title or f"Backtest, series {series_id} (cut-offs dotted)")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
