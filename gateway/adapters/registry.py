"""Adapter names -> adapter factories. Adding a vendor is one module plus one line here and one route."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.adapters.base import AdapterFactory, fixed
from gateway.adapters.bsm_json import normalize_bsm_json
from gateway.adapters.camera_ground import normalize_camera_ground
from gateway.adapters.lidar_sensor_frame import build as build_lidar_sensor_frame
from gateway.adapters.radar_wgs84 import normalize_radar_wgs84
from gateway.adapters.signal_controller import normalize_signal_controller
from gateway.adapters.uper_frames import build as build_uper_frames

__all__ = ["ADAPTERS"]

ADAPTERS: Mapping[str, AdapterFactory] = {
    "radar_wgs84": fixed(normalize_radar_wgs84),
    "lidar_sensor_frame": build_lidar_sensor_frame,
    "camera_ground": fixed(normalize_camera_ground),
    "signal_controller": fixed(normalize_signal_controller),
    "bsm_json": fixed(normalize_bsm_json),
    "uper_frames": build_uper_frames,
}
