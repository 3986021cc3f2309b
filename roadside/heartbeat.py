"""The roadside node's heartbeat: registration data plus per-sensor activity, sent to the cloud.

Sensor health comes from what the node actually receives: a sensor whose frames arrived within the last
`offline_after_s` seconds is OK (with its observed frame rate), otherwise OFFLINE. The first heartbeat
registers the node with the cloud; later ones keep it live.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2, roadside_service_pb2

from roadlink import __version__
from roadlink.domain.clock import now_unix_ms

__all__ = ["SensorActivity", "build_status"]


@dataclass(slots=True)
class _Sensor:
    frames: int = 0
    last_frame_unix_ms: int = 0
    window_frames: int = 0


@dataclass(slots=True)
class SensorActivity:
    """Frames seen per sensor since the last heartbeat (for the rate) and ever (for the last time)."""

    sensors: dict[str, _Sensor] = field(default_factory=dict)
    window_start_s: float = field(default_factory=time.monotonic)

    def record(self, batch: roadside_service_pb2.PublishRequest) -> None:
        """Count the frames of an accepted batch per sensor."""
        now = now_unix_ms()
        for frame in batch.frames:
            for sensor_id in frame.provenance.sensor_ids:
                sensor = self.sensors.setdefault(sensor_id, _Sensor())
                sensor.frames += 1
                sensor.window_frames += 1
                sensor.last_frame_unix_ms = now

    def take_statuses(self, offline_after_s: float) -> list[info_pb2.SensorStatus]:
        """Per-sensor status over the window since the previous call, then start a new window."""
        now_s, now_ms = time.monotonic(), now_unix_ms()
        window_s = max(now_s - self.window_start_s, 1e-3)
        statuses = []
        for sensor_id, sensor in sorted(self.sensors.items()):
            silent_s = (now_ms - sensor.last_frame_unix_ms) / 1000
            healthy = silent_s <= offline_after_s
            statuses.append(
                info_pb2.SensorStatus(
                    sensor_id=sensor_id,
                    health=info_pb2.HEALTH_STATE_OK if healthy else info_pb2.HEALTH_STATE_OFFLINE,
                    rate_hz=sensor.window_frames / window_s,
                    last_frame_time_unix_ms=sensor.last_frame_unix_ms,
                )
            )
            sensor.window_frames = 0
        self.window_start_s = now_s
        return statuses


def build_status(
    rsu_id: str,
    sensors: Sequence[info_pb2.SensorStatus],
    *,
    started_s: float,
    interval_s: float,
    position: tuple[float, float] | None,
) -> info_pb2.RsuStatus:
    """The heartbeat message; overall health is DEGRADED when any known sensor is offline."""
    offline = any(s.health == info_pb2.HEALTH_STATE_OFFLINE for s in sensors)
    return info_pb2.RsuStatus(
        rsu_id=rsu_id,
        time_unix_ms=now_unix_ms(),
        position=common_pb2.Position(latitude_deg=position[0], longitude_deg=position[1]) if position else None,
        health=info_pb2.HEALTH_STATE_DEGRADED if offline else info_pb2.HEALTH_STATE_OK,
        sensors=sensors,
        software_version=__version__,
        uptime_s=time.monotonic() - started_s,
        heartbeat_interval_s=interval_s,
    )
