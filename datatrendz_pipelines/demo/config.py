"""What the demo generator is asked to build: the config and the size of each scale."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

FILE_FORMATS = ("csv", "parquet", "jsonl")


@dataclass(frozen=True)
class Scale:
    """Size of the simulated business.

    `lines_per_day` is the target of order lines per day, so a period's target is
    `lines_per_day * days` (the scales are quoted as totals over 730 days).
    `assortment` is the share of the catalog a physical store stocks (the web shop's
    warehouse stocks everything).
    """

    physical_stores: int
    products: int
    customers: int
    lines_per_day: float
    assortment: float


SCALES: dict[str, Scale] = {
    "tiny": Scale(physical_stores=3, products=60, customers=800, lines_per_day=150, assortment=0.8),
    "small": Scale(
        physical_stores=6, products=300, customers=20_000, lines_per_day=600, assortment=0.6
    ),
    "medium": Scale(
        physical_stores=12,
        products=1_000,
        customers=50_000,
        lines_per_day=1_000_000 / 730,
        assortment=0.35,
    ),
    "large": Scale(
        physical_stores=24,
        products=2_500,
        customers=400_000,
        lines_per_day=10_000_000 / 730,
        assortment=0.25,
    ),
}


@dataclass(frozen=True)
class GeneratorConfig:
    """One demo dataset: the same config always gives byte-identical files.

    - `order_lines` overrides the scale's target of order lines (sales and returns) for the
      whole period; the customer base scales with it, shops and catalog do not.
    - `fault_rate` is the share of orders rows and of order_lines rows that are injected faults
      (the kinds of a source share it); with any rate > 0 every kind appears at least once
      when the period has 3 days or more. 0 injects none.
    - `anomalies` adds the KPI anomalies (a bot traffic spike, one shop's revenue drop).
    """

    start: dt.date
    days: int
    scale: str = "small"
    order_lines: int | None = None
    seed: int = 7
    file_format: str = "csv"
    fault_rate: float = 0.001
    anomalies: bool = True

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {sorted(SCALES)}, got {self.scale!r}")
        if self.file_format not in FILE_FORMATS:
            raise ValueError(f"file_format must be one of {FILE_FORMATS}, got {self.file_format!r}")
        if not 0 <= self.fault_rate < 0.2:
            raise ValueError(f"fault_rate must be in [0, 0.2), got {self.fault_rate}")
        if self.order_lines is not None and self.order_lines < 1:
            raise ValueError(f"order_lines must be positive, got {self.order_lines}")

    @property
    def size(self) -> Scale:
        return SCALES[self.scale]

    @property
    def target_lines(self) -> float:
        """Order lines (sales and returns) the whole period should hold, approximately."""
        if self.order_lines is not None:
            return float(self.order_lines)
        return self.size.lines_per_day * self.days

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["start"] = self.start.isoformat()
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GeneratorConfig:
        return cls(**{**raw, "start": dt.date.fromisoformat(raw["start"])})
