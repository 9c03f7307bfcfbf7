"""Which landing-zone files are ready to load, and which day runs they call for.

A file is ready when its name does not mark it as still being written (`.tmp`, `.part`,
`_COPYING_`), its size has not changed since the previous look, and it has not been modified
for `quiet_seconds`. Ready files are grouped by day; the run key names the day and the exact
files (path, size, modification time), so the same files never start two runs, while a late
or corrected file for a day that was already loaded starts that day again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from datatrendz_pipelines.ingestion.landing import day_of_folder, file_format, is_in_progress


@dataclass(frozen=True)
class SeenFile:
    path: str  # relative to the landing dir: <source>/date=YYYY-MM-DD/<name>
    day: dt.date
    size: int
    mtime: float


@dataclass(frozen=True)
class DayRun:
    day: dt.date
    files: tuple[SeenFile, ...]

    @property
    def run_key(self) -> str:
        listing = "\n".join(f"{f.path}|{f.size}|{f.mtime:.6f}" for f in self.files)
        digest = hashlib.sha256(listing.encode()).hexdigest()[:16]
        return f"landing:{self.day.isoformat()}:{digest}"


def scan(landing_dir: Path) -> list[SeenFile]:
    """Every data file in the landing zone, in-progress names excluded."""
    found: list[SeenFile] = []
    if not landing_dir.is_dir():
        return found
    for path in sorted(landing_dir.glob("*/date=*/*")):
        day = day_of_folder(path.parent.name)
        if day is None or not path.is_file() or not file_format(path) or is_in_progress(path):
            continue
        stat = path.stat()
        found.append(SeenFile(str(path.relative_to(landing_dir)), day, stat.st_size, stat.st_mtime))
    return found


def plan_day_runs(
    files: list[SeenFile], previous_sizes: dict[str, int], now: float, quiet_seconds: float
) -> tuple[list[DayRun], dict[str, int]]:
    """Day runs for the ready files, and the sizes to remember for the next look."""
    ready: dict[dt.date, list[SeenFile]] = {}
    for file in files:
        grew = previous_sizes.get(file.path, file.size) != file.size
        settled = now - file.mtime >= quiet_seconds
        if settled and not grew:
            ready.setdefault(file.day, []).append(file)
    runs = [DayRun(day, tuple(ready[day])) for day in sorted(ready)]
    return runs, {f.path: f.size for f in files}
