"""Save and load a fitted GlobalGBMForecaster without pickle.

Layout of the directory: `forecaster.json` (format version, hyperparameters, training end,
per-bucket bookkeeping) and one skops file per booster (`b<offset>_<kind>.skops`). skops
stores sklearn objects as a schema of known types; loading only accepts types whose module
is in ALLOWED_MODULES (scikit-learn and numpy internals), so a tampered file cannot make
the loader run arbitrary code the way a pickle could.
"""

from __future__ import annotations

import json
from pathlib import Path

from ml.models import GBMParams, GlobalGBMForecaster

FORMAT_VERSION = 1
CONFIG_FILE = "forecaster.json"
ALLOWED_MODULES = ("sklearn.", "numpy.")


def save_forecaster(model: GlobalGBMForecaster, directory: str | Path) -> Path:
    """Write `model` (fitted) into `directory` (created); returns the directory."""
    import skops.io

    if not model.models_:
        raise ValueError("cannot save an unfitted forecaster")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buckets = {}
    for offset, parts in model.models_.items():
        files = {}
        for kind in ("point", "lower", "upper"):
            files[kind] = f"b{offset}_{kind}.skops"
            skops.io.dump(parts[kind], directory / files[kind])
        buckets[str(offset)] = {"blank": parts["blank"], "files": files}
    config = {
        "format": FORMAT_VERSION,
        "class": "GlobalGBMForecaster",
        "params": model.get_config(),
        "train_end": model.train_end_,
        "buckets": buckets,
    }
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return directory


def _load_estimator(path: Path):
    import skops.io

    types = skops.io.get_untrusted_types(file=path)
    refused = [t for t in types if not t.startswith(ALLOWED_MODULES)]
    if refused:
        raise ValueError(f"{path.name} holds types outside {ALLOWED_MODULES}: {refused}")
    return skops.io.load(path, trusted=types)


def load_forecaster(directory: str | Path, n_threads: int | None = None) -> GlobalGBMForecaster:
    """Read a forecaster written by `save_forecaster`."""
    directory = Path(directory)
    config = json.loads((directory / CONFIG_FILE).read_text())
    if config.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported forecaster format {config.get('format')}")
    model = GlobalGBMForecaster(GBMParams(**config["params"]), n_threads=n_threads)
    model.train_end_ = config["train_end"]
    model.models_ = {
        int(offset): {
            "blank": bucket["blank"],
            **{k: _load_estimator(directory / f) for k, f in bucket["files"].items()},
        }
        for offset, bucket in config["buckets"].items()
    }
    return model
