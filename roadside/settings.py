"""Roadside node settings: env ROADLINK_ROADSIDE_*, or table [roadside] of the config file."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from roadlink.settings_base import TierSettings

__all__ = ["RoadsideSettings"]


class RoadsideSettings(TierSettings):
    """How to run one roadside node."""

    model_config = SettingsConfigDict(env_prefix="ROADLINK_ROADSIDE_", extra="forbid")
    config_table: ClassVar[str] = "roadside"

    node_id: str = Field("rsu-node-1", description="Node id; the sender id towards the cloud.")
    listen: str = Field("127.0.0.1:50061", description="gRPC listen address host:port (port 0 = any free port).")
    cloud_target: str = Field("127.0.0.1:50071", description="Cloud node gRPC address host:port.")
    uplink_batch_items: int = Field(256, gt=0, description="Most messages per batch to the cloud.")
    uplink_linger_ms: float = Field(2.0, ge=0, description="Longest wait for a batch to fill, ms.")
    uplink_capacity_items: int = Field(
        50_000,
        gt=0,
        description="Messages held for the cloud: in memory before backpressure, or on disk (with state_dir) "
        "before the oldest bulk messages are dropped.",
    )
    access_tokens: list[str] = Field(
        default_factory=list, description="Bearer tokens the node accepts from gateways; empty = none required."
    )
    cloud_access_token: str | None = Field(None, description="Bearer token the node presents to the cloud.")
    heartbeat_s: float = Field(5.0, gt=0, description="How often the node sends its RsuStatus heartbeat, s.")
    latitude_deg: float | None = Field(
        None, ge=-90, le=90, description="Installed position, registered with the cloud."
    )
    longitude_deg: float | None = Field(None, ge=-180, le=180, description="Installed position (longitude).")
    state_dir: Path | None = Field(
        None,
        description="Directory for the durable outbox (store and forward to the cloud) and the ledger of "
        "accepted gateway batches; None keeps everything in memory (lost on restart).",
    )
    durable_sync: bool = Field(False, description="fsync every commit (survives power loss, slower).")
    metrics_listen: str | None = Field(
        None, description="Serve Prometheus /metrics on host:port (port 0 = any free one); None = off."
    )
    tls_cert_file: Path | None = Field(
        None, description="PEM certificate chain of the node's gRPC server; with tls_key_file the port is TLS only."
    )
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file.")
    tls_client_ca_file: Path | None = Field(
        None, description="PEM CA that signs gateway client certificates; set = every client needs one (mTLS)."
    )
    cloud_ca_file: Path | None = Field(
        None, description="PEM CA to verify the cloud node's certificate; set = the uplink and downlink use TLS."
    )
    cloud_client_cert_file: Path | None = Field(
        None, description="PEM client certificate the node presents to the cloud (mTLS); needs cloud_ca_file."
    )
    cloud_client_key_file: Path | None = Field(None, description="PEM private key of cloud_client_cert_file.")
    local_fusion: bool = Field(
        False,
        description="Fuse the node's own sensor frames into one object list per cycle (sent to the cloud and to "
        "vehicles) instead of forwarding each sensor's frames to the cloud.",
    )
    local_fusion_period_ms: int = Field(100, gt=0, le=1_000, description="Local fusion cycle, ms.")
    service_range_m: float = Field(
        300.0, gt=0, description="Vehicles within this distance of the node's position are served, metres."
    )
    vehicle_queue_items: int = Field(
        256, gt=0, description="Responses queued per watching vehicle; the oldest is dropped when full."
    )
    vehicle_keepalive_s: float = Field(
        1.0,
        gt=0,
        description="A watching vehicle's stream gets an empty response after this long without one, s "
        "(lets the vehicle tell a quiet node from a dead link).",
    )
    map_files: list[Path] = Field(
        default_factory=list,
        description="MapData files (protobuf JSON of v2x.roadside.v1.MapData) served to vehicles and sent to the "
        "cloud; a file that fails validation stops the node with the reason.",
    )
    cloud_downlink: bool = Field(
        False,
        description="Watch the cloud's DownlinkService for the advisories and road-side information of the node's "
        "zone (a circle of service_range_m around latitude_deg/longitude_deg, which must be set) and deliver "
        "them to vehicles in each item's zone until its validity ends.",
    )
    downlink_default_validity_s: float = Field(
        60.0, gt=0, description="Lifetime of a downlink item that carries no end of validity, s."
    )
    broadcast_standard: Literal["off", "j2735", "csae"] = Field(
        "off",
        description="Air-side standard of the node's radio: the SPaT, MAP, road-side information (CSAE RSI) and "
        "fused perception (CSAE RSM / J2735 SDSM) served to vehicles are also encoded as UPER frames for it; "
        "off = no radio output.",
    )
    broadcast_mqtt_url: str | None = Field(
        None,
        description="The radio's MQTT broker (mqtt://host:port) that broadcast frames are published to (QoS 0); "
        "None = frames are kept in memory for an in-process radio driver (RoadsideNode.radio_sink).",
    )
    broadcast_topic: str = Field(
        "rsu/{node_id}/v2x/tx/{message}",
        description='Topic of each broadcast frame: "{node_id}" is the node id, "{message}" the kind (spat, map, '
        "rsi, rsm).",
    )
    broadcast_queue_items: int = Field(
        256, gt=0, description="Frames waiting for the radio broker; the oldest is dropped when full."
    )
    broadcast_wrap_1609_2: bool = Field(
        False, description="Put every broadcast frame in an unsecured IEEE 1609.2 Data (radios that sign themselves)."
    )
    broadcast_rsu_id_hex: str | None = Field(
        None,
        pattern="^[0-9A-Fa-f]{16}$",
        description="The 8-octet RSU id sent in CSAE RSM (the last 4 octets as J2735 SDSM sourceID), 16 hex "
        "digits; None = the node id's UTF-8, cut or zero-padded to 8 octets.",
    )
