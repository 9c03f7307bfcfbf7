"""The global model beats seasonal naive on synthetic data, with calibrated 80% intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.backtest import BASELINE, OVERALL, backtest_cutoffs, plot_backtest, run_backtest
from ml.forecast import accuracy_report
from ml.models import GBMParams, GlobalGBMForecaster, SeasonalNaive
from ml.persist import load_forecaster, save_forecaster
from ml.synthetic import make_history

PARAMS = GBMParams(bucket_days=14)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return make_history(n_series=12, n_days=400, start="2023-06-01", seed=1)


@pytest.fixture(scope="module")
def backtest(history: pd.DataFrame):
    return run_backtest(history, lambda: GlobalGBMForecaster(PARAMS, n_threads=1), n_cutoffs=4)


def test_model_beats_seasonal_naive_with_calibrated_interval(backtest) -> None:
    model, base = backtest.overall("model"), backtest.overall(BASELINE)
    assert model["mase"] < 0.9
    assert model["mase"] < base["mase"]
    assert 0.70 <= model["coverage"] <= 0.90
    assert abs(model["bias"]) < 0.05


def test_backtest_shapes(backtest, history: pd.DataFrame, tmp_path: Path) -> None:
    assert backtest.cutoffs == backtest_cutoffs(history["date"].max(), 28, 4, 28)
    fc = backtest.forecasts
    assert set(fc["model"]) == {"model", BASELINE}
    assert fc.groupby(["model", "cutoff"]).size().max() <= 12 * 28
    assert (fc["date"] > fc["cutoff"]).all()
    m = backtest.metrics
    assert set(m.columns) == {"model", "series_id", "metric", "value"}
    assert (m["series_id"] == OVERALL).sum() == 2 * 5
    png = plot_backtest(backtest, tmp_path / "bt.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_forecast_contract_and_determinism(history: pd.DataFrame, tmp_path: Path) -> None:
    params = GBMParams(bucket_days=28, max_iter=30, quantile_max_iter=20)
    a = GlobalGBMForecaster(params, n_threads=1).fit(history).predict(history, 28)
    model = GlobalGBMForecaster(params, n_threads=2).fit(history)
    b = model.predict(history, 28)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["series_id", "date", "yhat", "yhat_lower", "yhat_upper"]
    assert len(a) == 12 * 28
    assert (a["yhat_lower"] <= a["yhat"]).all() and (a["yhat"] <= a["yhat_upper"]).all()
    loaded = load_forecaster(save_forecaster(model, tmp_path / "f"))
    pd.testing.assert_frame_equal(loaded.predict(history, 28), b)
    assert not list((tmp_path / "f").glob("*.pkl"))


def test_seasonal_naive_repeats_last_week(history: pd.DataFrame) -> None:
    fc = SeasonalNaive().predict(history, 14)
    one = history[history["series_id"] == "s00"].tail(7)["y"].to_numpy()
    got = fc[fc["series_id"] == "s00"]["yhat"].to_numpy()
    np.testing.assert_allclose(got, np.tile(one, 2))


def test_accuracy_report_per_day() -> None:
    dates = pd.date_range("2024-01-01", periods=2)
    fc = pd.DataFrame(
        {
            "series_id": ["a", "b", "a", "b"],
            "date": dates.repeat(2),
            "yhat": [10.0, 10.0, 10.0, 10.0],
            "yhat_lower": [8.0] * 4,
            "yhat_upper": [12.0] * 4,
            "model_version": "3",
        }
    )
    actuals = pd.DataFrame(
        {"series_id": ["a", "b", "a"], "date": dates.repeat(2)[:3], "y": [10.0, 20.0, 11.0]}
    )
    rep = accuracy_report(fc, actuals)
    assert rep["n_series"].tolist() == [2, 1]
    assert rep.loc[0, "wape"] == pytest.approx(10 / 30)
    assert rep.loc[0, "coverage"] == 0.5 and rep.loc[1, "bias"] == pytest.approx(-1 / 11)
