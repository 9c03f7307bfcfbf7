"""Timing of backtest + final fit on synthetic data: `python -m ml.bench SERIES DAYS [THREADS]`.

Prints one JSON line: seconds for the backtest (4 cut-offs, model + seasonal naive) and the
final fit, and the backtest's overall MASE / coverage of model and baseline.
"""

from __future__ import annotations

import json
import sys
import time

from ml.backtest import BASELINE, run_backtest
from ml.models import GBMParams, GlobalGBMForecaster
from ml.synthetic import make_history


def bench(n_series: int, n_days: int, n_threads: int | None = 2, bucket_days: int = 7) -> dict:
    """Run the timing and return the figures as a dict."""
    history = make_history(n_series, n_days, start="2023-01-01", seed=0)
    params = GBMParams(bucket_days=bucket_days)
    t0 = time.perf_counter()
    result = run_backtest(history, lambda: GlobalGBMForecaster(params, n_threads=n_threads))
    t1 = time.perf_counter()
    GlobalGBMForecaster(params, n_threads=n_threads).fit(history)
    t2 = time.perf_counter()
    model, base = result.overall("model"), result.overall(BASELINE)
    return {
        "series": n_series,
        "days": n_days,
        "rows": len(history),
        "bucket_days": bucket_days,
        "backtest_s": round(t1 - t0, 1),
        "fit_s": round(t2 - t1, 1),
        **{f"model_{k}": round(v, 3) for k, v in model.items() if k != "n"},
        **{f"baseline_{k}": round(v, 3) for k, v in base.items() if k != "n"},
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    print(json.dumps(bench(*args)))
