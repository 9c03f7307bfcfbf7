"""Typed, validated configuration of the anomaly rules (defaults in `rules.yaml`)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")
RULES_PATH_VAR = "DATATRENDZ_ALERT_RULES"


class RulesConfigError(ValueError):
    """A rules file that cannot be used; the message names the file and the key."""


def _check(*, gt: float | None = None, ge: float | None = None, le: float | None = None) -> Any:
    return field(metadata={"gt": gt, "ge": ge, "le": le})


@dataclass(frozen=True)
class RevenueRule:
    enabled: bool
    forecast_table: str
    direction: Literal["below", "above", "both"]
    warning_distance: float = _check(ge=0)
    critical_distance: float = _check(ge=0)


@dataclass(frozen=True)
class SameWeekdayRule:
    """The robust z-score against the same weekday of previous weeks, shared by the rules below."""

    enabled: bool
    weeks: int = _check(ge=1)
    min_history: int = _check(ge=1)
    z_threshold: float = _check(gt=0)
    critical_z: float = _check(gt=0)
    min_relative_change: float = _check(ge=0)


@dataclass(frozen=True)
class WeekdayRule(SameWeekdayRule):
    """traffic_anomaly and conversion_anomaly."""

    min_sessions: int = _check(ge=0)
    per_traffic_source: bool


@dataclass(frozen=True)
class RevenueWeekdayRule(SameWeekdayRule):
    """revenue_anomaly."""

    min_revenue: float = _check(ge=0)
    per_store: bool


@dataclass(frozen=True)
class LowStockRule:
    enabled: bool
    min_average_daily_units: float = _check(ge=0)
    days_of_cover_below: float = _check(gt=0)
    warning_days_of_cover: float = _check(ge=0)


@dataclass(frozen=True)
class VolumeRule:
    enabled: bool
    ratio: float = _check(gt=0, le=1)
    window_days: int = _check(ge=1)
    min_history_days: int = _check(ge=1)
    critical_ratio: float = _check(ge=0, le=1)


@dataclass(frozen=True)
class RulesConfig:
    revenue_outside_forecast: RevenueRule
    revenue_anomaly: RevenueWeekdayRule
    traffic_anomaly: WeekdayRule
    conversion_anomaly: WeekdayRule
    low_stock: LowStockRule
    data_volume_drop: VolumeRule
    source: Path
    """The file the overrides came from (the default file when none)."""


RULE_TYPES: dict[str, type] = {
    name: hint for name, hint in get_type_hints(RulesConfig).items() if name != "source"
}
# (smaller, larger) pairs that must be ordered within one rule
ORDERED_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "revenue_outside_forecast": (("warning_distance", "critical_distance"),),
    "revenue_anomaly": (("z_threshold", "critical_z"), ("min_history", "weeks")),
    "traffic_anomaly": (("z_threshold", "critical_z"), ("min_history", "weeks")),
    "conversion_anomaly": (("z_threshold", "critical_z"), ("min_history", "weeks")),
    "low_stock": (("warning_days_of_cover", "days_of_cover_below"),),
    "data_volume_drop": (("critical_ratio", "ratio"), ("min_history_days", "window_days")),
}


def load_rules(path: str | Path | None = None) -> RulesConfig:
    """Rules from `rules.yaml`, overridden by `path` (or the file named by
    DATATRENDZ_ALERT_RULES). The override file may hold only the keys it changes. Raises
    RulesConfigError naming the file and the key for unknown keys and bad values."""
    defaults = _read(DEFAULT_RULES_PATH)
    chosen = path if path is not None else os.environ.get(RULES_PATH_VAR) or None
    override_path = Path(chosen).resolve() if chosen else None
    overrides = _read(override_path) if override_path else {}
    values: dict[str, Any] = {}
    for rule, rule_type in RULE_TYPES.items():
        merged = dict(defaults.get(rule) or {})
        merged.update(overrides.get(rule) or {})
        changed = overrides.get(rule) or {}
        origin = {k: override_path if k in changed else DEFAULT_RULES_PATH for k in merged}
        values[rule] = _build(rule_type, rule, merged, origin)
    return RulesConfig(**values, source=override_path or DEFAULT_RULES_PATH)


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise RulesConfigError(f"{path}: cannot read the rules file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise RulesConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or set(document) - {"rules"}:
        extra = sorted(set(document) - {"rules"}) if isinstance(document, dict) else []
        raise RulesConfigError(
            f"{path}: expected one top-level key `rules`"
            + (f", unknown key(s): {', '.join(map(str, extra))}" if extra else "")
        )
    rules = document.get("rules") or {}
    if not isinstance(rules, dict):
        raise RulesConfigError(f"{path}: `rules` must be a mapping of rule name to settings")
    for rule, settings in rules.items():
        if rule not in RULE_TYPES:
            raise RulesConfigError(
                f"{path}: unknown rule `rules.{rule}` (known: {', '.join(RULE_TYPES)})"
            )
        if settings is not None and not isinstance(settings, dict):
            raise RulesConfigError(f"{path}: `rules.{rule}` must be a mapping of settings")
        known = {f.name for f in dataclasses.fields(RULE_TYPES[rule])}
        for key in settings or {}:
            if key not in known:
                raise RulesConfigError(
                    f"{path}: unknown key `rules.{rule}.{key}` (known: {', '.join(sorted(known))})"
                )
    return rules


def _build(rule_type: type, rule: str, values: dict[str, Any], origin: dict[str, Path]) -> Any:
    kwargs = {}
    hints = get_type_hints(rule_type)
    for f in dataclasses.fields(rule_type):
        where = f"`rules.{rule}.{f.name}`"
        if f.name not in values:
            raise RulesConfigError(f"{DEFAULT_RULES_PATH}: missing key {where}")
        value, file = values[f.name], origin[f.name]
        kwargs[f.name] = _coerce(value, hints[f.name], f.metadata, f"{file}: {where}")
    for small, large in ORDERED_KEYS.get(rule, ()):
        if kwargs[small] > kwargs[large]:
            raise RulesConfigError(
                f"{origin[small]}: `rules.{rule}.{small}` ({kwargs[small]}) must not exceed "
                f"`rules.{rule}.{large}` ({kwargs[large]}, from {origin[large]})"
            )
    return rule_type(**kwargs)


def _coerce(value: Any, hint: Any, limits: Any, where: str) -> Any:
    if get_origin(hint) is Literal:
        if value not in get_args(hint):
            choices = " | ".join(map(str, get_args(hint)))
            raise RulesConfigError(f"{where} must be one of {choices}, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise RulesConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str) or not value:
            raise RulesConfigError(f"{where} must be a non-empty string, got {value!r}")
        return value
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int and not (numeric and float(value).is_integer()):
        raise RulesConfigError(f"{where} must be a whole number, got {value!r}")
    if hint is float and not numeric:
        raise RulesConfigError(f"{where} must be a number, got {value!r}")
    number = hint(value)
    gt, ge, le = limits.get("gt"), limits.get("ge"), limits.get("le")
    if (gt is not None and not number > gt) or (ge is not None and not number >= ge):
        bound = f"> {gt:g}" if gt is not None else f">= {ge:g}"
        raise RulesConfigError(f"{where} must be {bound}, got {value!r}")
    if le is not None and not number <= le:
        raise RulesConfigError(f"{where} must be <= {le:g}, got {value!r}")
    return number
