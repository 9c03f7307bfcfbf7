"""What a generation wrote and what it broke on purpose: `<demo_dir>/manifest.json`.

Paths in the manifest are relative to the landing dir (held-back files: where they land once
delivered; `detail.held_back_path` is relative to the demo dir). `injected` lists every fault
and anomaly with the primary keys of the rows it affects, so a checker can be held to the count.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datatrendz_pipelines.demo.config import GeneratorConfig

MANIFEST_NAME = "manifest.json"

# Row-level faults (rows quarantined by the gate) and day-level faults / KPI anomalies.
ROW_FAULTS = (
    "null_key",
    "negative_price",
    "negative_quantity_not_return",
    "unknown_product",
    "duplicated_line",
    "malformed_date",
)
DAY_FAULTS = ("late_file", "volume_drop")
ANOMALIES = ("traffic_spike", "revenue_drop")


@dataclass(frozen=True)
class FileEntry:
    """One file written: its day, landing-relative path and data rows (header excluded)."""

    date: str
    path: str  # relative to the landing dir
    rows: int
    held_back: bool = False  # written to the demo dir; delivered later by deliver_held_back


@dataclass(frozen=True)
class Injected:
    """One injected fault or anomaly in one file.

    `keys` holds the primary key of every affected row (a list per row for composite keys, in
    key order); `values` the raw value written in `column` for each of them (null = empty).
    `count` = number of affected rows: for `duplicated_line` the extra copies, for
    `volume_drop` the rows missing from the file, for `late_file` the rows held back.
    """

    kind: str
    source: str
    date: str
    file: str
    count: int
    keys: list[Any]
    column: str | None = None
    values: list[Any] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A genuine business event that moves the KPIs (not a fault): holiday, promotion, ..."""

    kind: str
    start: str
    end: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    """The record of one generation (see the module docstring for paths and counts)."""

    config: GeneratorConfig
    landing_dir: str
    files: dict[str, list[FileEntry]] = field(default_factory=dict)
    injected: list[Injected] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def total_rows(self, source: str) -> int:
        """Rows written for a source, held-back files included."""
        return sum(f.rows for f in self.files.get(source, []))

    def rows_by_day(self, source: str) -> dict[str, int]:
        """Rows written per day (ISO date) for a source, held-back files included."""
        out: dict[str, int] = {}
        for f in self.files.get(source, []):
            out[f.date] = out.get(f.date, 0) + f.rows
        return out

    def faults(self, kind: str | None = None) -> list[Injected]:
        """Injected records, all or of one kind."""
        return [i for i in self.injected if kind is None or i.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "landing_dir": self.landing_dir,
            "totals": {source: self.total_rows(source) for source in self.files},
            "files": {s: [dict(vars(f)) for f in entries] for s, entries in self.files.items()},
            "injected": [dict(vars(i)) for i in self.injected],  # asdict would deep-copy the keys
            "events": [asdict(e) for e in self.events],
        }

    def save(self, demo_dir: Path) -> Path:
        demo_dir.mkdir(parents=True, exist_ok=True)
        path = demo_dir / MANIFEST_NAME
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(_dumps(self.to_dict()))
        tmp.replace(path)
        return path


def _dumps(raw: dict[str, Any]) -> str:
    """JSON with one list element per line: readable, and fast (the C encoder, no indent)."""

    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    def block(value: Any, indent: str) -> str:
        if isinstance(value, list) and value:
            return (
                "[\n" + ",\n".join(indent + "  " + compact(v) for v in value) + "\n" + indent + "]"
            )
        if isinstance(value, dict) and value and any(isinstance(v, list) for v in value.values()):
            items = [
                f"{indent}  {json.dumps(k)}: {block(v, indent + '  ')}" for k, v in value.items()
            ]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        return compact(value)

    return block(raw, "") + "\n"


def load_manifest(demo_dir: Path) -> Manifest:
    """Read `<demo_dir>/manifest.json` back into a Manifest."""
    raw = json.loads((Path(demo_dir) / MANIFEST_NAME).read_text())
    return Manifest(
        config=GeneratorConfig.from_dict(raw["config"]),
        landing_dir=raw["landing_dir"],
        files={s: [FileEntry(**f) for f in entries] for s, entries in raw["files"].items()},
        injected=[Injected(**i) for i in raw["injected"]],
        events=[Event(**e) for e in raw["events"]],
    )
