"""Importing the libraries a run's later steps need while an earlier step waits on dbt.

A run is one process (the in-process executor) and its steps run one after another. The
forecasting steps start by importing MLflow, scikit-learn and skops: 8 s of a daily run on
two cores, before a single forecast, and then load the champion models. The main dbt step
before them spends most of its time waiting for the dbt subprocess, which works on the other
core. So that step imports those libraries in a background thread meanwhile
(`importing_meanwhile`), and then does the step's own preparation (`then`: loading the
champions). Python's import lock makes a step that needs a module still being imported wait
for it, and a failed import or preparation is left for the step that needs it to raise and
report.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preload:
    """Modules to import while a step waits, and what to prepare with them (`then`), when the
    run materializes any of `for_assets` and `needed()` (if given) says those steps will use
    them."""

    modules: Sequence[str]
    for_assets: frozenset[dg.AssetKey]
    then: Callable[[], object] | None = None
    needed: Callable[[], bool] | None = None

    def wanted_by(self, selected: Iterable[dg.AssetKey]) -> bool:
        if self.for_assets.isdisjoint(selected):
            return False
        return self.needed is None or self.needed()


def import_all(modules: Sequence[str]) -> list[str]:
    """Import `modules` in order; the names that failed (each logged)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the step that needs the module imports it again and reports it
            logger.debug("preloading %s failed", name, exc_info=True)
            failed.append(name)
    return failed


def _import_then(modules: Sequence[str], then: Callable[[], object] | None) -> None:
    if import_all(modules) or then is None:
        return
    try:
        then()
    except Exception:  # the step that needs it does it again and reports it
        logger.debug("preparing after the preload failed", exc_info=True)


@contextmanager
def importing_meanwhile(
    modules: Sequence[str], then: Callable[[], object] | None = None
) -> Iterator[threading.Thread | None]:
    """Import `modules` in a background thread during the block, then call `then` there; waits
    for it on the way out, so nothing is left running once the step ends (no thread when the
    modules are imported already and there is nothing to call)."""
    missing = [m for m in modules if m not in sys.modules]
    if not missing and then is None:
        yield None
        return
    thread = threading.Thread(
        target=_import_then, args=(missing, then), name="datatrendz-preload", daemon=True
    )
    thread.start()
    try:
        yield thread
    finally:
        thread.join()
