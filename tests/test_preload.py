"""Importing what later steps need while a step waits: done by the end of the block, errors kept."""

import sys
from functools import partial

import dagster as dg

from datatrendz_pipelines.forecasting.assets import FORECASTING_IMPORTS, champions_may_exist
from datatrendz_pipelines.preload import Preload, import_all, importing_meanwhile


def _module_file(tmp_path, name: str, body: str) -> None:
    (tmp_path / f"{name}.py").write_text(body)


def test_the_block_ends_with_the_modules_imported_in_another_thread(tmp_path, monkeypatch):
    _module_file(
        tmp_path, "dt_preload_ok", "import threading\nTHREAD = threading.current_thread().name\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dt_preload_ok", raising=False)
    with importing_meanwhile(["dt_preload_ok"]) as thread:
        assert thread is not None
    assert not thread.is_alive()
    assert sys.modules["dt_preload_ok"].THREAD == "datatrendz-preload"


def test_a_failing_import_is_reported_and_left_to_the_step_that_needs_it(tmp_path, monkeypatch):
    _module_file(tmp_path, "dt_preload_broken", "raise RuntimeError('broken on purpose')\n")
    _module_file(tmp_path, "dt_preload_after", "VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("dt_preload_broken", "dt_preload_after"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert import_all(["dt_preload_broken", "dt_preload_after"]) == ["dt_preload_broken"]
    assert "dt_preload_broken" not in sys.modules
    assert sys.modules["dt_preload_after"].VALUE == 1


def test_then_runs_in_the_thread_once_the_modules_are_imported(tmp_path, monkeypatch):
    _module_file(tmp_path, "dt_preload_then", "VALUE = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dt_preload_then", raising=False)
    seen = []

    def then() -> None:
        import threading

        seen.append((sys.modules["dt_preload_then"].VALUE, threading.current_thread().name))

    with importing_meanwhile(["dt_preload_then"], then):
        pass
    assert seen == [(2, "datatrendz-preload")]


def test_a_failing_then_is_left_to_the_step_that_needs_it():
    def then() -> None:
        raise RuntimeError("no champion store")

    with importing_meanwhile(["os"], then) as thread:
        assert thread is not None  # nothing to import, something to prepare
    assert not thread.is_alive()


def test_nothing_runs_when_everything_is_imported_already():
    with importing_meanwhile(["os", "json"]) as thread:
        assert thread is None


def test_preload_is_wanted_only_by_runs_that_materialize_its_assets():
    forecasts = dg.AssetKey(["ml", "forecasts_revenue"])
    preload = Preload(FORECASTING_IMPORTS, frozenset({forecasts}))
    assert preload.wanted_by({dg.AssetKey(["core", "fct_orders"]), forecasts})
    assert not preload.wanted_by({dg.AssetKey(["core", "fct_orders"])})


def test_preload_is_not_wanted_before_the_first_training_creates_the_mlflow_store(tmp_path):
    # Without a store the forecasts find no champion and never import MLflow or load a model.
    forecasts = dg.AssetKey(["ml", "forecasts_revenue"])
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    preload = Preload(
        FORECASTING_IMPORTS,
        frozenset({forecasts}),
        needed=partial(champions_may_exist, uri),
    )
    assert not preload.wanted_by({forecasts})
    (tmp_path / "mlflow.db").touch()
    assert preload.wanted_by({forecasts})


def test_the_forecasting_imports_exist():
    # A renamed module would only make the preload useless, silently: check the names.
    import importlib.util

    assert all(importlib.util.find_spec(name) for name in FORECASTING_IMPORTS)
