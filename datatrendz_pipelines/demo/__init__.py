"""The built-in demo data generator: a believable retail + e-commerce business in files.

`generate(config, landing_dir, demo_dir)` writes every source's daily files into the landing
zone (`<landing>/<source>/date=YYYY-MM-DD/<source>_YYYY-MM-DD.<ext>`), meeting the contracts
except for the faults it injects on purpose, which `<demo_dir>/manifest.json` lists row by row.
`deliver_held_back` later drops the late file into the landing zone. No Dagster in here.
"""

from datatrendz_pipelines.demo.config import SCALES, GeneratorConfig
from datatrendz_pipelines.demo.generator import deliver_held_back, generate
from datatrendz_pipelines.demo.manifest import Event, FileEntry, Injected, Manifest, load_manifest

__all__ = [
    "SCALES",
    "Event",
    "FileEntry",
    "GeneratorConfig",
    "Injected",
    "Manifest",
    "deliver_held_back",
    "generate",
    "load_manifest",
]
