"""The landing zone on disk: finding a day's files, archiving loaded ones, keeping rejected ones.

Layout: `<landing>/<source>/date=YYYY-MM-DD/<any name>.(csv|parquet|jsonl|json)`. The archive
and the rejected folder mirror it. A day's data is every file of that day in the landing zone and
in the archive (a file in the landing zone replaces an archived one of the same name), so that
re-loading an already archived day gives the same rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FileFormat = Literal["csv", "parquet", "jsonl"]

_FORMATS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
}
_DAY_FOLDER = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
# Files still being written by the sender: picked up on a later run.
_IN_PROGRESS = re.compile(r"(\.tmp$|\.part$|_COPYING_|^\.)")


@dataclass(frozen=True)
class LandingFile:
    source: str
    day: dt.date
    path: Path
    format: FileFormat

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def relative_name(self) -> str:
        """`<source>/date=YYYY-MM-DD/<name>`: the same in the landing zone and the archive."""
        return f"{self.source}/{day_folder(self.day)}/{self.path.name}"


def file_format(path: Path) -> FileFormat | None:
    return _FORMATS.get(path.suffix.lower())


def day_folder(day: dt.date) -> str:
    return f"date={day.isoformat()}"


def day_of_folder(name: str) -> dt.date | None:
    """The day a `date=YYYY-MM-DD` folder holds, or None for any other name."""
    match = _DAY_FOLDER.match(name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match[1])
    except ValueError:
        return None


def is_in_progress(path: Path) -> bool:
    return bool(_IN_PROGRESS.search(path.name))


@dataclass(frozen=True)
class LandingZone:
    landing_dir: Path
    archive_dir: Path
    rejected_dir: Path

    def files_for(self, source: str, days: Iterable[dt.date]) -> dict[dt.date, list[LandingFile]]:
        """The files holding each day's data, archive first then landing, sorted by name."""
        result: dict[dt.date, list[LandingFile]] = {}
        for day in days:
            by_name: dict[str, LandingFile] = {}
            for root in (self.archive_dir, self.landing_dir):
                folder = root / source / day_folder(day)
                if not folder.is_dir():
                    continue
                for path in sorted(folder.iterdir()):
                    fmt = file_format(path)
                    if path.is_file() and fmt and not is_in_progress(path):
                        by_name[path.name] = LandingFile(source, day, path, fmt)
            if by_name:
                result[day] = [by_name[name] for name in sorted(by_name)]
        return result

    def days_waiting(self, source: str | None = None) -> list[dt.date]:
        """Days with files in the landing zone (not yet archived), for one source or all."""
        days: set[dt.date] = set()
        sources = [self.landing_dir / source] if source else self._source_dirs()
        for source_dir in sources:
            if not source_dir.is_dir():
                continue
            for folder in source_dir.iterdir():
                day = day_of_folder(folder.name)
                if day and any(file_format(p) for p in folder.iterdir() if p.is_file()):
                    days.add(day)
        return sorted(days)

    def is_empty(self) -> bool:
        return not self.days_waiting()

    def _source_dirs(self) -> list[Path]:
        if not self.landing_dir.is_dir():
            return []
        return [p for p in sorted(self.landing_dir.iterdir()) if p.is_dir()]

    def archive(self, file: LandingFile) -> Path:
        """Move a loaded file to the archive (replacing an earlier delivery of the same name)."""
        target = self.archive_dir / file.source / day_folder(file.day) / file.name
        if file.path == target:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file.path, target)
        return target

    def reject(self, file: LandingFile, reason: str) -> Path:
        """Move an unreadable file aside, with the reason in `<name>.reason.txt` beside it."""
        target = self.rejected_dir / file.source / day_folder(file.day) / file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file.path, target)
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n")
        return target


def read_header(file: LandingFile) -> list[str]:
    """Column names of a file, read cheaply (first line, or the Parquet footer)."""
    if file.format == "csv":
        with file.path.open(newline="", encoding="utf-8-sig") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    if file.format == "jsonl":
        with file.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise ValueError("line 1 is not a JSON object")
                    return list(record)
        return []
    import pyarrow.parquet as pq

    return list(pq.read_schema(file.path).names)
