"""Gateway settings: env ROADLINK_GATEWAY_*, or table [gateway] of the config file."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from roadlink.settings_base import TierSettings
from roadlink.wire.uplink import BATCH_FIELDS, SAFETY_FIELDS

__all__ = ["GatewaySettings", "Route"]


class Route(BaseModel):
    """Which adapter handles which MQTT topics, and where the source and sensor ids sit in the topic.

    Example: filter `rsu/+/radar/+` with source_level 1 and sensor_level 3 reads topic
    `rsu/N22W75HMBLD/radar/radar0` as source `N22W75HMBLD`, sensor `radar0`.
    """

    topic_filter: str = Field(description="MQTT topic filter (+ and # wildcards).")
    adapter: str = Field(description="Adapter name from gateway.adapters.registry.ADAPTERS.")
    source_level: int = Field(1, ge=0, description="Topic level (0-based) that holds the source id.")
    sensor_level: int = Field(3, ge=0, description="Topic level (0-based) that holds the sensor id.")
    options: dict[str, Any] = Field(default_factory=dict, description="Adapter options (e.g. a mounting pose).")


class GatewaySettings(TierSettings):
    """How to run one gateway."""

    model_config = SettingsConfigDict(env_prefix="ROADLINK_GATEWAY_", extra="forbid")
    config_table: ClassVar[str] = "gateway"

    gateway_id: str = Field("gateway-1", description="Gateway id: MQTT client id and uplink sender id.")
    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="Broker URL mqtt://host:port.")
    routes: list[Route] = Field(
        default_factory=lambda: [Route(topic_filter="rsu/+/radar/+", adapter="radar_wgs84")],
        description="Topic routes to adapters.",
    )
    dead_letter_prefix: str = Field("deadletter", description="Invalid messages go to <prefix>/<original topic>.")
    roadside_target: str = Field("127.0.0.1:50061", description="Roadside node gRPC address host:port.")
    roadside_access_token: str | None = Field(None, description="Bearer token presented to the roadside node.")
    uplink_batch_items: int = Field(256, gt=0, description="Most messages per batch to the roadside node.")
    uplink_linger_ms: float = Field(2.0, ge=0, description="Longest wait for a batch to fill, ms.")
    uplink_capacity_items: int = Field(50_000, gt=0, description="Messages held before backpressure.")
    metrics_listen: str | None = Field(
        None, description="Serve Prometheus /metrics on host:port (port 0 = any free one); None = off."
    )
    health_listen: str | None = Field(
        None, description="Serve the gRPC health service (and reflection) on host:port; None = off."
    )
    max_payload_bytes: int = Field(1 << 20, gt=0, description="Larger MQTT payloads are dead-lettered.")
    max_age_ms: int = Field(2_000, gt=0, description="Data older than this at receipt is dead-lettered (stale), ms.")
    max_future_ms: int = Field(500, ge=0, description="Data stamped further ahead is dead-lettered (future), ms.")
    reorder_window_ms: int = Field(
        100,
        ge=0,
        description="How long a numbered sensor stream's frames wait for a missing frame number before the gap "
        "is skipped, ms (gateway.reorder); 0 = never hold. Workers of a shared subscription never hold.",
    )
    reorder_max_frames: int = Field(8, gt=0, le=1024, description="Most frames held per sensor stream.")
    freeze_startup_heap: bool = Field(
        True,
        description="gc.freeze() the heap once the node has started, so full garbage collections scan only "
        "what the stream allocates (they paused the event loop for up to 120 ms otherwise).",
    )
    droppable_fields: list[str] = Field(
        default_factory=list,
        description="Uplink fields (e.g. frames) whose oldest queued message is dropped when the buffer is full; "
        "all others apply backpressure. Safety messages should never be listed.",
    )
    mqtt_version: Literal[5, 311] = Field(
        5,
        description="MQTT protocol: 5 (receive maximum bounds what is in flight to us) or 311 (3.1.1, for "
        "brokers without v5; the broker's max_inflight_messages bounds it instead).",
    )
    mqtt_receive_maximum: int = Field(
        2_000, gt=0, le=65_535, description="Unacknowledged QoS 1 messages the broker may have in flight to us."
    )
    shared_group: str | None = Field(
        None,
        description="Join this MQTT 5 shared-subscription group ($share/<group>/<filter>) so several gateway "
        "workers split the load; None subscribes plainly.",
    )

    @field_validator("droppable_fields")
    @classmethod
    def _only_bulk_fields_are_droppable(cls, fields: list[str]) -> list[str]:
        """Safety messages (vehicle states, signal timing) are never droppable; unknown names are typos."""
        unknown = sorted(set(fields) - BATCH_FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {unknown}; choose from {sorted(BATCH_FIELDS - SAFETY_FIELDS)}")
        safety = sorted(set(fields) & SAFETY_FIELDS)
        if safety:
            raise ValueError(f"safety messages are never droppable: {safety}")
        return fields

    mqtt_session_expiry_s: int = Field(3_600, ge=0, description="How long the broker keeps our session, s.")
    mqtt_reconnect_initial_s: float = Field(
        0.1, gt=0, description="Ceiling of the first MQTT reconnect wait, s (waits are drawn from [0, ceiling])."
    )
    mqtt_reconnect_max_s: float = Field(10.0, gt=0, description="Largest ceiling of an MQTT reconnect wait, s.")

    @model_validator(mode="after")
    def _reconnect_bounds_are_ordered(self) -> Self:
        if self.mqtt_reconnect_max_s < self.mqtt_reconnect_initial_s:
            raise ValueError("mqtt_reconnect_max_s must be >= mqtt_reconnect_initial_s")
        return self
