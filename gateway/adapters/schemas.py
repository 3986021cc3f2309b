"""JSON Schemas of the vendor payload formats, generated from the adapters' pydantic models.

`format_schemas()` maps each adapter name (as registered in `gateway.adapters.registry.ADAPTERS`) to the JSON
Schema of its payload, with the JSON field names (aliases) and each field's unit and meaning. The schemas
are committed under docs/formats/ for firmware teams: `python scripts/gen_schemas.py` rewrites them and
`--check` fails when they are stale.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel

from gateway.adapters.bsm_json import BsmRelay
from gateway.adapters.camera_ground import CameraFrame
from gateway.adapters.lidar_sensor_frame import LidarFrame
from gateway.adapters.radar_wgs84 import RadarFrame
from gateway.adapters.signal_controller import SignalControllerMessage

__all__ = ["PAYLOAD_MODELS", "format_schemas", "render_schema"]

PAYLOAD_MODELS: Final[Mapping[str, type[BaseModel]]] = types.MappingProxyType(
    {
        "radar_wgs84": RadarFrame,
        "lidar_sensor_frame": LidarFrame,
        "camera_ground": CameraFrame,
        "signal_controller": SignalControllerMessage,
        "bsm_json": BsmRelay,
    }
)
"""Adapter name -> the pydantic model of one payload (one MQTT message)."""

_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def format_schemas() -> dict[str, dict[str, Any]]:
    """Adapter name -> JSON Schema (draft 2020-12) of its payload, by JSON field name."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, model in PAYLOAD_MODELS.items():
        schema = model.model_json_schema(by_alias=True)
        schemas[name] = {"$schema": _SCHEMA_DIALECT, "$id": f"{name}.schema.json", **schema}
    return schemas


def render_schema(schema: Mapping[str, Any]) -> str:
    """The committed text of a schema: sorted keys, 2-space indent, a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
