"""Loading and validating the alert rules configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from datatrendz_pipelines.alerting.config import DEFAULT_RULES_PATH, RulesConfigError, load_rules


@pytest.fixture(autouse=True)
def no_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATATRENDZ_ALERT_RULES", raising=False)


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_defaults_come_from_the_packaged_file():
    config = load_rules()
    assert config.source == DEFAULT_RULES_PATH
    assert config.traffic_anomaly.weeks == 6
    assert config.traffic_anomaly.z_threshold == 3.5
    assert config.traffic_anomaly.min_history == 4
    assert config.low_stock.days_of_cover_below == 7
    assert config.low_stock.min_average_daily_units == 0.5
    assert config.data_volume_drop.ratio == 0.5
    assert config.data_volume_drop.window_days == 28
    assert config.revenue_outside_forecast.forecast_table == "ml.forecasts_revenue"


def test_an_override_file_changes_only_its_keys(tmp_path, monkeypatch):
    path = write(tmp_path, {"rules": {"low_stock": {"days_of_cover_below": 10}}})
    monkeypatch.setenv("DATATRENDZ_ALERT_RULES", str(path))
    config = load_rules()
    assert config.source == path.resolve()
    assert config.low_stock.days_of_cover_below == 10
    assert config.low_stock.min_average_daily_units == 0.5
    assert config.traffic_anomaly == load_rules(DEFAULT_RULES_PATH).traffic_anomaly


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"rules": {"low_stock": {"days_cover": 3}}}, "rules.low_stock.days_cover"),
        ({"rules": {"revenue_drop": {"enabled": False}}}, "rules.revenue_drop"),
        ({"alerts": {}}, "alerts"),
        (
            {"rules": {"traffic_anomaly": {"z_threshold": "high"}}},
            "rules.traffic_anomaly.z_threshold",
        ),
        ({"rules": {"traffic_anomaly": {"z_threshold": -1}}}, "rules.traffic_anomaly.z_threshold"),
        ({"rules": {"traffic_anomaly": {"weeks": 2.5}}}, "rules.traffic_anomaly.weeks"),
        ({"rules": {"traffic_anomaly": {"enabled": "yes"}}}, "rules.traffic_anomaly.enabled"),
        ({"rules": {"data_volume_drop": {"ratio": 1.5}}}, "rules.data_volume_drop.ratio"),
        (
            {"rules": {"revenue_outside_forecast": {"direction": "down"}}},
            "rules.revenue_outside_forecast.direction",
        ),
        (
            {"rules": {"conversion_anomaly": {"min_history": 9}}},
            "rules.conversion_anomaly.min_history",
        ),
    ],
)
def test_config_errors_name_the_file_and_the_key(tmp_path, document, named):
    path = write(tmp_path, document)
    with pytest.raises(RulesConfigError) as error:
        load_rules(path)
    assert str(path.resolve()) in str(error.value)
    assert named in str(error.value)


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(RulesConfigError, match=r"nope\.yaml"):
        load_rules(tmp_path / "nope.yaml")
