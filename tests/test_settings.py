"""Tests for roadlink.settings_base with each tier's settings: defaults < TOML table < env < overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloud.settings import CloudSettings
from gateway.settings import GatewaySettings, Route
from roadlink.domain.errors import ConfigurationError
from roadlink.settings_base import TierSettings
from roadside.settings import RoadsideSettings

DEPLOYMENT_TOML = """
[cloud]
node_id = "cloud-from-file"
listen = "0.0.0.0:6000"

[roadside]
node_id = "rsu-from-file"
cloud_target = "cloud.example:6000"
uplink_linger_ms = 5.5

[gateway]
gateway_id = "gw-from-file"
mqtt_url = "mqtt://broker.example:1884"

[[gateway.routes]]
topic_filter = "rsu/+/radar/+"
adapter = "radar_wgs84"

[[gateway.routes]]
topic_filter = "site/+/+/lidar"
adapter = "lidar_x"
source_level = 2
sensor_level = 1
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ROADLINK_* variable of the developer's shell leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("ROADLINK_"):
            monkeypatch.delenv(name)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roadlink.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_env() -> None:
    cloud = CloudSettings.load()
    roadside = RoadsideSettings.load()
    gateway = GatewaySettings.load()

    assert (cloud.node_id, cloud.listen, cloud.max_age_ms) == ("cloud-1", "127.0.0.1:50071", 3_000)
    assert (roadside.node_id, roadside.cloud_target, roadside.uplink_batch_items) == (
        "rsu-node-1",
        "127.0.0.1:50071",
        256,
    )
    assert gateway.gateway_id == "gateway-1"
    assert gateway.routes == [
        Route(topic_filter="rsu/+/radar/+", adapter="radar_wgs84", source_level=1, sensor_level=3)
    ]
    assert gateway.max_payload_bytes == 1 << 20


def test_each_tier_reads_its_own_table(tmp_path: Path) -> None:
    path = _write(tmp_path, DEPLOYMENT_TOML)

    cloud = CloudSettings.load(path)
    roadside = RoadsideSettings.load(path)
    gateway = GatewaySettings.load(path)

    assert (cloud.node_id, cloud.listen, cloud.max_age_ms) == ("cloud-from-file", "0.0.0.0:6000", 3_000)
    assert (roadside.node_id, roadside.cloud_target, roadside.uplink_linger_ms) == (
        "rsu-from-file",
        "cloud.example:6000",
        5.5,
    )
    assert (gateway.gateway_id, gateway.mqtt_url) == ("gw-from-file", "mqtt://broker.example:1884")


def test_gateway_routes_parse_from_a_list_of_tables(tmp_path: Path) -> None:
    gateway = GatewaySettings.load(_write(tmp_path, DEPLOYMENT_TOML))

    assert gateway.routes == [
        Route(topic_filter="rsu/+/radar/+", adapter="radar_wgs84", source_level=1, sensor_level=3),
        Route(topic_filter="site/+/+/lidar", adapter="lidar_x", source_level=2, sensor_level=1),
    ]


def test_missing_table_gives_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, '[gateway]\ngateway_id = "gw"\n')

    assert CloudSettings.load(path) == CloudSettings.load()


def test_env_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADLINK_CLOUD_NODE_ID", "cloud-from-env")
    monkeypatch.setenv("ROADLINK_CLOUD_MAX_AGE_MS", "1500")

    cloud = CloudSettings.load(_write(tmp_path, DEPLOYMENT_TOML))

    assert cloud.node_id == "cloud-from-env"
    assert cloud.max_age_ms == 1_500
    assert cloud.listen == "0.0.0.0:6000"


def test_env_of_another_tier_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADLINK_ROADSIDE_NODE_ID", "rsu-from-env")

    assert CloudSettings.load().node_id == "cloud-1"
    assert RoadsideSettings.load().node_id == "rsu-from-env"


def test_explicit_overrides_beat_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADLINK_CLOUD_NODE_ID", "cloud-from-env")

    cloud = CloudSettings.load(_write(tmp_path, DEPLOYMENT_TOML), node_id="cloud-explicit")

    assert cloud.node_id == "cloud-explicit"
    assert cloud.listen == "0.0.0.0:6000"


def test_gateway_routes_from_env_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADLINK_GATEWAY_ROUTES", '[{"topic_filter": "a/#", "adapter": "radar_wgs84"}]')

    assert GatewaySettings.load().routes == [Route(topic_filter="a/#", adapter="radar_wgs84")]


def test_file_values_do_not_leak_into_a_later_load(tmp_path: Path) -> None:
    CloudSettings.load(_write(tmp_path, DEPLOYMENT_TOML))

    assert CloudSettings.load().node_id == "cloud-1"
    assert CloudSettings().node_id == "cloud-1"


def test_unknown_key_in_the_file_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, '[cloud]\nnode_id = "c"\nmax_age = 5\n')

    with pytest.raises(ConfigurationError, match="max_age"):
        CloudSettings.load(path)


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="no_such_setting"):
        RoadsideSettings.load(no_such_setting=1)


def test_out_of_range_value_in_the_file_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "[cloud]\nmax_age_ms = 0\n")

    with pytest.raises(ConfigurationError, match="max_age_ms"):
        CloudSettings.load(path)


def test_route_with_negative_level_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[gateway.routes]]\ntopic_filter = "a/+"\nadapter = "x"\nsource_level = -1\n')

    with pytest.raises(ConfigurationError, match="source_level"):
        GatewaySettings.load(path)


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read config file"):
        CloudSettings.load(tmp_path / "absent.toml")


def test_directory_instead_of_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        CloudSettings.load(tmp_path)


@pytest.mark.parametrize(
    "text", ["[cloud\nnode_id = 1\n", "[cloud]\nnode_id = \n", "[cloud]\nnode_id = 'a'\nnode_id = 'b'\n"]
)
def test_bad_toml_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot read config file"):
        CloudSettings.load(_write(tmp_path, text))


def test_tier_key_that_is_not_a_table_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"\[cloud\]"):
        CloudSettings.load(_write(tmp_path, 'cloud = "not a table"\n'))


def test_file_that_is_not_utf8_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[cloud]\nnode_id = "café"\n'.encode("latin-1"))

    with pytest.raises(ConfigurationError):
        CloudSettings.load(path)


def test_every_tier_is_a_tier_settings_with_its_own_table() -> None:
    tiers: list[type[TierSettings]] = [CloudSettings, RoadsideSettings, GatewaySettings]

    assert [tier.config_table for tier in tiers] == ["cloud", "roadside", "gateway"]


def test_droppable_fields_exclude_safety_messages() -> None:
    with pytest.raises(ConfigurationError, match="never droppable"):
        GatewaySettings.load(droppable_fields=["vehicle_states"])


def test_droppable_fields_must_be_batch_fields() -> None:
    with pytest.raises(ConfigurationError, match="unknown fields"):
        GatewaySettings.load(droppable_fields=["frame"])
    assert GatewaySettings.load(droppable_fields=["frames"]).droppable_fields == ["frames"]
