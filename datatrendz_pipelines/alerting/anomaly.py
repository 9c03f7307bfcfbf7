"""The Anomaly record every rule returns, and the result of evaluating rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
"""Most severe first: the order messages list them in."""


@dataclass(frozen=True)
class Anomaly:
    """One finding of one rule: `entity` on `day` measured `measured_value`, outside
    [`expected_low`, `expected_high`] (either bound may be None: one-sided)."""

    rule: str
    entity: str
    day: dt.date
    measured_value: float | None
    expected_low: float | None
    expected_high: float | None
    severity: Severity
    message: str

    @property
    def key(self) -> tuple[str, str, dt.date]:
        """The identity of an alert: the same key is never notified twice."""
        return (self.rule, self.entity, self.day)


@dataclass(frozen=True)
class RuleResult:
    """Anomalies found, plus notes on what could not be checked (missing tables, short
    history) and errors of rules that failed. Iterating yields the anomalies."""

    anomalies: list[Anomaly] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Anomaly]:
        return iter(self.anomalies)

    def __len__(self) -> int:
        return len(self.anomalies)

    def extend(self, other: RuleResult) -> None:
        self.anomalies.extend(other.anomalies)
        self.notes.extend(other.notes)
        self.errors.extend(other.errors)
